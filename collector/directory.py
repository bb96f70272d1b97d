"""Which project an ingest key belongs to, answered from memory so auth costs no query per event."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from collector.pipeline import ProjectInfo
from collector.scrub import ScrubRules
from db.enums import KeyKind
from db.keys import hash_secret
from db.models import Project, ProjectKey
from db.models.projects import GROUPING_TRANSITION
from db.types import utcnow

log = logging.getLogger(__name__)

# How often a collector reads every project's keys and settings again: what an admin changes (e-mail and IP
# scrubbing, the grouping version) applies to every collector within this many seconds, without a restart.
RELOAD_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class KeyInfo:
    project: ProjectInfo
    key_id: int
    rate_limit_per_minute: int | None


class ProjectDirectory:
    """Maps DSN public keys and webhook-token hashes to projects, all held in memory and reloaded periodically.

    A key not in memory (a project created a moment ago) is looked up once in the database; misses are
    remembered briefly and their lookups budgeted, so a flood of bad keys cannot hammer the database."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        base_rules: ScrubRules,
        *,
        negative_ttl: float = 2.0,
        miss_lookups_per_second: int = 50,
    ) -> None:
        self._sessions = session_factory
        self._base_rules = base_rules
        self._negative_ttl = negative_ttl
        self._miss_budget = miss_lookups_per_second
        self._keys: dict[tuple[KeyKind, str], KeyInfo] = {}
        self._misses: dict[tuple[KeyKind, str], float] = {}
        self._budget_window = (0.0, 0)

    def _query(self, *conditions: Any) -> dict[tuple[KeyKind, str], KeyInfo]:
        with self._sessions() as session:
            rows = session.execute(
                select(ProjectKey, Project).join(Project).where(ProjectKey.is_active.is_(True), *conditions)
            ).all()
        held = {info.project.id: info.project for info in self._keys.values()}
        keys: dict[tuple[KeyKind, str], KeyInfo] = {}
        for key, project in rows:
            info = self._project_info(project, held)
            keys[(KeyKind(key.kind), key.key_lookup)] = KeyInfo(info, key.id, key.rate_limit_per_minute)
        return keys

    def _project_info(self, project: Project, held: dict[int, ProjectInfo]) -> ProjectInfo:
        """The project as ingest sees it: the one already held while its settings are the same, so that its scrub
        rules keep what they remember (new rules start with an empty memory), shared by all the project's keys."""
        info = held.get(project.id)
        moved = project.grouping_moved_at
        previous = project.previous_grouping_version if moved and utcnow() < moved + GROUPING_TRANSITION else None
        settings = (project.name, project.scrub_ip_addresses, project.scrub_emails, project.grouping_version, previous)
        if info is None or settings != (
            info.name, info.scrub_rules.scrub_ip_addresses, info.scrub_rules.scrub_emails, info.grouping_version,
            info.previous_grouping_version,
        ):  # fmt: skip
            rules = replace(
                self._base_rules, scrub_ip_addresses=project.scrub_ip_addresses, scrub_emails=project.scrub_emails
            )
            info = ProjectInfo(project.id, project.name, rules, project.grouping_version, previous)
            held[project.id] = info
        return info

    def load(self) -> None:
        """Blocking: read every active key (call from a thread)."""
        self._keys = self._query()
        self._misses.clear()

    async def reload(self) -> None:
        await run_in_threadpool(self.load)

    async def keep_current(self, every: float = RELOAD_SECONDS) -> None:
        """Reload every `every` seconds until cancelled. While the database is down the last known keys serve
        (ingest answers 503 then anyway) and the reload is tried again at each turn; the first failure and the
        recovery are logged, not every turn of an outage."""
        failing = False
        while True:
            await asyncio.sleep(every)
            try:
                await self.reload()
            except SQLAlchemyError as exc:
                if not failing:
                    log.warning("could not reload the projects' keys and settings (trying every %gs): %s", every, exc)
                failing = True
            except Exception:  # the loop must outlive any one failure, or settings would freeze again
                log.exception("reloading the projects' keys and settings failed")
            else:
                if failing:
                    log.warning("the projects' keys and settings are reloaded again")
                failing = False

    def _may_look_up(self, wanted: tuple[KeyKind, str]) -> bool:
        now = time.monotonic()
        missed_at = self._misses.get(wanted)
        if missed_at is not None and now - missed_at < self._negative_ttl:
            return False
        second, used = self._budget_window
        if now - second >= 1.0:
            second, used = now, 0
        if used >= self._miss_budget:
            return False
        self._budget_window = (second, used + 1)
        return True

    async def lookup(self, kind: KeyKind, presented: str) -> KeyInfo | None:
        wanted = (kind, presented if kind is KeyKind.DSN else hash_secret(presented))
        found = self._keys.get(wanted)
        if found is not None or not self._may_look_up(wanted):
            return found
        fresh = await run_in_threadpool(self._query, ProjectKey.kind == kind, ProjectKey.key_lookup == wanted[1])
        found = fresh.get(wanted)
        if found is None:
            if len(self._misses) > 10_000:
                self._misses.clear()
            self._misses[wanted] = time.monotonic()
        else:
            self._keys = {**self._keys, **fresh}
        return found
