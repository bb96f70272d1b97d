"""Groups events into issues: versioned fingerprints, so an upgrade never silently re-groups old issues.

Each issue stores the fingerprint and the version that made it. New versions are added beside the old
ones (v1, v2, ...) and `CURRENT_VERSION` moves forward; an old version's rules are never edited, so an
event can always be fingerprinted the way its issue was (e.g. to match it during a transition).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from collector.grouping import v1, v2
from collector.grouping.access import main_exception
from collector.grouping.describe import describe

__all__ = [
    "CURRENT_VERSION",
    "VERSIONS",
    "Grouping",
    "components",
    "describe",
    "fingerprint",
    "group",
    "hash_components",
]

Component = tuple[str, ...]

CURRENT_VERSION = 2  # what new projects group by; a project keeps its version until an admin moves it (API)
_MECHANISMS: dict[int, Callable[[dict[str, Any]], list[Component]]] = {1: v1.components, 2: v2.components}
VERSIONS = tuple(sorted(_MECHANISMS))


@dataclass(frozen=True)
class Grouping:
    """Everything grouping decides about one event: which issue (fingerprint + version) and how it reads."""

    fingerprint: str
    version: int
    title: str
    culprit: str | None
    exception_type: str | None
    components: tuple[Component, ...]


def components(event: dict[str, Any], version: int = CURRENT_VERSION) -> list[Component]:
    """What the event is grouped by under `version`: for showing why two events share an issue."""
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, not {type(event).__name__}")
    if isinstance(version, bool) or not isinstance(version, int) or version not in _MECHANISMS:
        known = ", ".join(str(v) for v in VERSIONS)
        raise ValueError(f"unknown grouping version {version!r}; known versions: {known}")
    return _MECHANISMS[version](event)


def hash_components(parts: Sequence[Component]) -> str:
    """SHA-256 (64 hex characters) of the components, encoded as a JSON list so that no two lists collide."""
    encoded = json.dumps([list(part) for part in parts], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def fingerprint(event: dict[str, Any], version: int = CURRENT_VERSION) -> str:
    """The event's issue fingerprint under `version` (the same version always gives the same hash)."""
    return hash_components(components(event, version))


def group(event: dict[str, Any], version: int = CURRENT_VERSION) -> Grouping:
    """Fingerprint, title, culprit and main exception type of the event, in one pass."""
    parts = components(event, version)
    title, culprit = describe(event)
    exception = main_exception(event)
    return Grouping(
        fingerprint=hash_components(parts),
        version=version,
        title=title,
        culprit=culprit,
        exception_type=_exception_type(exception),
        components=tuple(parts),
    )


def _exception_type(exception: dict[str, Any] | None) -> str | None:
    value = exception.get("type") if exception else None
    return value.strip() or None if isinstance(value, str) else None
