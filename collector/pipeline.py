"""From canonical event to a row ready to store: scrub secrets, group, and pick the searchable fields."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from collector.grouping import group
from collector.normalize import user_key
from collector.scrub import ScrubRules, scrub_event


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """What ingest needs to know about a project, cached in memory so auth costs no query per event."""

    id: int
    name: str
    scrub_rules: ScrubRules


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
    payload: dict[str, Any]
    source: str
    size_bytes: int
    extra_fields: dict[str, Any] = field(default_factory=dict)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _storable(payload: dict[str, Any]) -> dict[str, Any]:
    """A JSON-clean copy: datetimes as text, and no NUL characters, which PostgreSQL text and JSONB refuse."""
    text = json.dumps(payload, default=_json_default, ensure_ascii=False)
    if "\\u0000" in text:
        text = text.replace("\\u0000", "")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _clean(value: str | None) -> str | None:
    return value.replace("\x00", "") if value else value


def prepare_event(event: dict[str, Any], project: ProjectInfo, *, source: str, size_bytes: int) -> PreparedEvent:
    """Scrub, group and flatten one canonical event of `project`."""
    event = scrub_event(event, project.scrub_rules)
    grouping = group(event)
    message = event.get("message") or {}
    payload = _storable(event)
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
        tags=payload.get("tags") or {},
        payload=payload,
        source=source,
        size_bytes=size_bytes,
    )
