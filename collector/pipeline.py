"""From canonical event to a row ready to store: scrub secrets, group, and pick the searchable fields."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from collector import fastjson
from collector.grouping import CURRENT_VERSION, fingerprint, group
from collector.normalize import user_key
from collector.scrub import ScrubRules, scrub_event
from db.types import JsonText


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """What ingest needs to know about a project, cached in memory so auth costs no query per event."""

    id: int
    name: str
    scrub_rules: ScrubRules
    grouping_version: int = CURRENT_VERSION
    # While a move to grouping_version is recent: the version the project had, whose fingerprints still find issues.
    previous_grouping_version: int | None = None


@dataclass(slots=True)
class PreparedEvent:
    project_id: int
    event_id: str
    fingerprint: str
    grouping_version: int
    title: str
    culprit: str | None
    exception_type: str | None
    platform: str | None
    level: str
    severity: str
    environment: str | None
    release: str | None
    timestamp: dt.datetime
    received_at: dt.datetime
    message: str | None
    user_key: str | None
    tags: dict[str, str]
    payload_json: JsonText  # the scrubbed event, encoded once: what storage writes, as it is
    source: str
    size_bytes: int
    extra_fields: dict[str, Any] = field(default_factory=dict)
    # The fingerprint under the project's previous grouping, when it differs: storage files the event under it if
    # its own fingerprint names no issue yet (the transition after a move).
    previous_fingerprint: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The stored payload as a dict, decoded anew on each call (the MongoDB archive's document)."""
        decoded: dict[str, Any] = json.loads(self.payload_json)
        return decoded


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _storable(value: Any) -> JsonText:
    """JSON text with datetimes as text and no NUL characters, which PostgreSQL text and JSONB refuse."""
    text = fastjson.dumps(value, _json_default)
    if "\\u0000" in text:
        text = text.replace("\\u0000", "")
    return JsonText(text)


def _clean(value: str | None) -> str | None:
    return value.replace("\x00", "") if value else value


def prepare_event(event: dict[str, Any], project: ProjectInfo, *, source: str, size_bytes: int) -> PreparedEvent:
    """Scrub, group and flatten one canonical event of `project`."""
    event = scrub_event(event, project.scrub_rules)
    grouping = group(event, project.grouping_version)
    previous = None
    if project.previous_grouping_version is not None:
        previous = fingerprint(event, project.previous_grouping_version)
    message = event.get("message") or {}
    tags = event.get("tags")
    return PreparedEvent(
        project_id=project.id,
        event_id=event["event_id"],
        fingerprint=grouping.fingerprint,
        grouping_version=grouping.version,
        title=_clean(grouping.title) or "<unlabeled event>",
        culprit=_clean(grouping.culprit),
        exception_type=_clean(grouping.exception_type),
        platform=event.get("platform"),
        level=event["level"],
        severity=event["severity"],
        environment=_clean(event.get("environment")),
        release=_clean(event.get("release")),
        timestamp=event["timestamp"],
        received_at=event.get("received_at") or dt.datetime.now(dt.UTC),
        message=_clean(message.get("formatted")),
        user_key=_clean(user_key(event.get("user"))),
        # The tags as the payload holds them, NULs gone: encoded and decoded alone, as they are small.
        tags=json.loads(_storable(tags)) if tags else {},
        payload_json=_storable(event),
        source=source,
        size_bytes=size_bytes,
        previous_fingerprint=previous if previous != grouping.fingerprint else None,
    )
