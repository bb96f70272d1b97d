"""Turns a Sentry event payload (any SDK, any protocol age) into errlog's canonical event, or says why it can't."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from collector.scrub import FILTERED

LEVELS = {
    "fatal": "fatal",
    "critical": "fatal",
    "error": "error",
    "warning": "warning",
    "warn": "warning",
    "info": "info",
    "log": "info",
    "debug": "debug",
}
SEVERITY_OF_LEVEL = {"fatal": "critical", "error": "high", "warning": "medium", "info": "low", "debug": "low"}

MAX_RELEASE = 200
MAX_ENVIRONMENT = 64
MAX_SHORT = 200
MAX_MESSAGE = 8192
MAX_TAG_KEY = 200
MAX_TAG_VALUE = 200
# Events older than Sentry's 30-day window or far in the future get the receive time instead (clock skew).
MAX_PAST = dt.timedelta(days=30)
MAX_FUTURE = dt.timedelta(minutes=5)
# A device whose clock is wrong (a phone set to the wrong day or time zone) stamps its events wrong. When the SDK says
# when it sent them (an envelope's `sent_at`, an old SDK's `sentry_timestamp`) and that is this far or further from
# when they arrived, every time in the event is moved by the difference, as Relay does; less than this is network
# delay or a clock a little off, and is left alone.
MIN_CLOCK_DRIFT = dt.timedelta(minutes=55)

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class EventError(ValueError):
    """The payload is not a usable event; the message names the field, e.g. "event.tags: must be an object"."""


def normalize_event_id(value: Any, where: str = "event_id") -> str:
    if not isinstance(value, str):
        raise EventError(f"{where}: must be a string of 32 hex digits")
    candidate = value.replace("-", "").lower()
    if not _HEX32.match(candidate):
        raise EventError(f"{where}: {value[:40]!r} is not 32 hex digits")
    return candidate


def parse_timestamp(
    value: Any, *, received_at: dt.datetime, where: str = "timestamp", drift: dt.timedelta | None = None
) -> dt.datetime:
    """Epoch seconds or RFC 3339 text to an aware UTC datetime, moved by the sender's clock `drift` if any; a time
    still out of range (older than MAX_PAST, later than MAX_FUTURE) falls back to `received_at`."""
    if value is None:
        return received_at
    parsed = _parse_time(value, where)
    if drift is not None:
        try:
            parsed += drift
        except OverflowError:  # past year 9999 or before year 1: as out of range as a time gets
            return received_at
    if parsed < received_at - MAX_PAST or parsed > received_at + MAX_FUTURE:
        return received_at
    return parsed


def _parse_time(value: Any, where: str) -> dt.datetime:
    if isinstance(value, bool):
        raise EventError(f"{where}: must be a number or an RFC 3339 string")
    if isinstance(value, int | float):
        try:
            parsed = dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise EventError(f"{where}: {value!r} is out of range") from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            try:
                parsed = dt.datetime.fromtimestamp(float(text), dt.UTC)
            except (ValueError, OverflowError, OSError):
                raise EventError(f"{where}: {value[:40]!r} is not a timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
    else:
        raise EventError(f"{where}: must be a number or an RFC 3339 string")
    return parsed.astimezone(dt.UTC)


def read_sent_at(value: Any) -> dt.datetime | None:
    """When an SDK sent the request (RFC 3339 text in envelopes, epoch seconds in auth headers), or None if absent or
    unreadable: then the event's times are kept as sent, never refused for it."""
    if value is None:
        return None
    try:
        return _parse_time(value, "sent_at")
    except EventError:
        return None


@dataclass(frozen=True)
class ClockCorrection:
    """A sender's clock found off by `drift` (positive: behind ours), and what is done about it."""

    sent_at: dt.datetime
    received_at: dt.datetime

    @property
    def drift(self) -> dt.timedelta:
        return self.received_at - self.sent_at

    def apply(self, event: dict[str, Any]) -> None:
        """Moves the breadcrumbs' times by the drift (the event's own timestamp moves as parse_timestamp reads it)
        and notes the correction in the event's `errors`, as Sentry's events carry it."""
        crumbs = event["breadcrumbs"]["values"]
        event["breadcrumbs"] = {"values": [_moved_crumb(crumb, self.drift) for crumb in crumbs]}
        note = {"type": "clock_drift", "sdk_time": _rfc3339(self.sent_at), "server_time": _rfc3339(self.received_at)}
        event["errors"] = [*(event.get("errors") or []), note]


def clock_correction(sent_at: dt.datetime | None, received_at: dt.datetime) -> ClockCorrection | None:
    """The correction for a sender whose clock is MIN_CLOCK_DRIFT or more behind or ahead of ours, else None."""
    if sent_at is None or abs(received_at - sent_at) < MIN_CLOCK_DRIFT:
        return None
    return ClockCorrection(sent_at, received_at)


def _moved_crumb(crumb: dict[str, Any], drift: dt.timedelta) -> dict[str, Any]:
    """A breadcrumb with its time moved by `drift`, written as it came (epoch seconds, milliseconds as webhooks may
    send them, or text); one whose time cannot be read is kept as it is."""
    value = crumb.get("timestamp")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = drift.total_seconds()
        return {**crumb, "timestamp": value + (seconds * 1000 if value > 1e11 else seconds)}
    try:
        moved = _parse_time(value, "breadcrumb timestamp") + drift
    except (EventError, OverflowError):
        return crumb
    return {**crumb, "timestamp": _rfc3339(moved)}


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _expect(value: Any, kinds: type | tuple[type, ...], where: str, what: str) -> Any:
    if value is not None and not isinstance(value, kinds):
        raise EventError(f"{where}: must be {what}")
    return value


def _text(value: Any, where: str, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise EventError(f"{where}: must be a string")
    return value[:limit] or None


def _values(value: Any, where: str) -> list[Any]:
    """Sentry interfaces come as {"values": [...]}, a bare list, or (very old SDKs) one object."""
    if value is None:
        return []
    if isinstance(value, dict):
        inner = value.get("values")
        if inner is None and value and "values" not in value:
            return [value]
        value = inner if inner is not None else []
    if not isinstance(value, list):
        raise EventError(f"{where}: must be a list or an object with a 'values' list")
    return value


def _objects(items: list[Any], where: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a list with their indexes; nulls are left out (Relay keeps them as empty slots, which say
    nothing), anything else that is not an object is a 400."""
    out = []
    for i, item in enumerate(items):
        if item is not None:
            _expect(item, dict, f"{where}[{i}]", "an object")
            out.append((i, item))
    return out


def _frames(stacktrace: Any, where: str) -> dict[str, Any] | None:
    if stacktrace is None:
        return None
    _expect(stacktrace, dict, where, "an object")
    frames = _expect(stacktrace.get("frames"), list, f"{where}.frames", "a list")
    out = []
    for i, frame in _objects(frames or [], f"{where}.frames"):
        for key in ("lineno", "colno"):
            number = frame.get(key)
            if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
                raise EventError(f"{where}.frames[{i}].{key}: must be an integer")
        for key in ("filename", "abs_path", "module", "function", "context_line", "package"):
            _expect(frame.get(key), str, f"{where}.frames[{i}].{key}", "a string")
        _expect(frame.get("vars"), dict, f"{where}.frames[{i}].vars", "an object")
        out.append(frame)
    return {**stacktrace, "frames": out}


def _exceptions(raw: dict[str, Any]) -> dict[str, Any] | None:
    values = _values(raw.get("exception"), "event.exception")
    out = []
    for i, value in _objects(values, "event.exception.values"):
        where = f"event.exception.values[{i}]"
        exc_type = _text(value.get("type"), f"{where}.type", MAX_SHORT)
        exc_value = value.get("value")
        if exc_value is not None and not isinstance(exc_value, str):
            exc_value = str(exc_value)  # some SDKs send numbers or objects here; keep them readable
        _expect(value.get("mechanism"), dict, f"{where}.mechanism", "an object")
        out.append(
            {
                **value,
                "type": exc_type,
                "value": exc_value[:MAX_MESSAGE] if exc_value else exc_value,
                "stacktrace": _frames(value.get("stacktrace"), f"{where}.stacktrace"),
            }
        )
    return {"values": out} if out else None


def _message(raw: dict[str, Any]) -> dict[str, Any] | None:
    entry = raw.get("logentry") if raw.get("logentry") is not None else raw.get("message")
    if entry is None:
        return None
    if isinstance(entry, str):
        return {"formatted": entry[:MAX_MESSAGE], "message": None, "params": None}
    _expect(entry, dict, "event.logentry", "a string or an object")
    template = _text(entry.get("message"), "event.logentry.message", MAX_MESSAGE)
    formatted = _text(entry.get("formatted"), "event.logentry.formatted", MAX_MESSAGE)
    params = entry.get("params")
    _expect(params, (list, dict), "event.logentry.params", "a list or an object")
    if formatted is None and template is not None:
        formatted = _format(template, params)
    if formatted is None:
        return None
    return {"formatted": formatted, "message": template, "params": params}


def _format(template: str, params: Any) -> str:
    """%-style first (Python logging), then {}-style (Java, JS loggers); the template itself if neither fits."""
    try:
        if isinstance(params, list) and params:
            return (template % tuple(params))[:MAX_MESSAGE]
        if isinstance(params, dict) and params:
            return (template % params)[:MAX_MESSAGE]
    except (TypeError, ValueError, KeyError):
        pass
    if isinstance(params, list):
        pieces = iter(str(p) for p in params)
        return re.sub(r"\{\}", lambda _: next(pieces, "{}"), template)[:MAX_MESSAGE]
    return template


def _tags(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        pairs = []
        for i, pair in enumerate(raw):
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise EventError(f"event.tags[{i}]: must be a [key, value] pair")
            pairs.append(pair)
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise EventError("event.tags: must be an object or a list of [key, value] pairs")
    tags = {}
    for key, value in pairs:
        if value is None:
            continue
        tags[str(key)[:MAX_TAG_KEY]] = (value if isinstance(value, str) else str(value))[:MAX_TAG_VALUE]
    return tags


def _breadcrumbs(raw: Any) -> dict[str, Any]:
    crumbs = [crumb for _, crumb in _objects(_values(raw, "event.breadcrumbs"), "event.breadcrumbs.values")]
    return {"values": crumbs[-100:]}  # Sentry SDKs keep 100 too


def _threads_stacktrace(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Message events captured with attach_stacktrace carry the stack in the crashed/current thread."""
    if raw.get("stacktrace") is not None:
        return _frames(raw["stacktrace"], "event.stacktrace")
    for i, thread in enumerate(_values(raw.get("threads"), "event.threads")):
        if isinstance(thread, dict) and thread.get("stacktrace") and (thread.get("current") or thread.get("crashed")):
            return _frames(thread["stacktrace"], f"event.threads.values[{i}].stacktrace")
    return None


def user_key(user: dict[str, Any] | None) -> str | None:
    """A stable key for a distinct user: id, else e-mail, username or IP. A value scrubbed away (`[Filtered]`, as
    a project that scrubs addresses leaves them) names no one: all of a project's anonymous users are not one."""
    if not user:
        return None
    for field in ("id", "email", "username", "ip_address"):
        value = user.get(field)
        if value not in (None, "", FILTERED):
            return f"{field}:{value}"[:64]
    return None


def normalize_sentry_event(
    raw: Any,
    *,
    received_at: dt.datetime,
    event_id: str | None = None,
    client_ip: str | None = None,
    sent_at: Any = None,
) -> dict[str, Any]:
    """The canonical event for a Sentry SDK payload. A given `event_id` (already validated, from the envelope)
    wins; else the payload's; an event with neither gets a fresh one (old `/store/` clients). `client_ip`, the
    address the request came from, fills in the user's address where the SDK asks for it (see `_infer_ip`).
    `sent_at`, when the SDK sent it, corrects the times of a device whose clock is wrong (MIN_CLOCK_DRIFT)."""
    if not isinstance(raw, dict):
        raise EventError("event: must be a JSON object")
    if event_id is None:
        raw_id = raw.get("event_id")
        event_id = uuid.uuid4().hex if raw_id is None else normalize_event_id(raw_id, "event.event_id")
    level_name = raw.get("level", "error")
    if not isinstance(level_name, str) or level_name.lower() not in LEVELS:
        raise EventError(f"event.level: {str(level_name)[:20]!r} is not one of fatal, error, warning, info, debug")
    level = LEVELS[level_name.lower()]
    for key in ("user", "request", "contexts", "extra", "sdk"):
        _expect(raw.get(key), dict, f"event.{key}", "an object")
    fingerprint = raw.get("fingerprint")
    if fingerprint is not None and (
        not isinstance(fingerprint, list) or not all(isinstance(part, str | int | float) for part in fingerprint)
    ):
        raise EventError("event.fingerprint: must be a list of strings")
    exception = _exceptions(raw)
    correction = clock_correction(read_sent_at(sent_at), received_at)
    event: dict[str, Any] = {
        "event_id": event_id,
        "timestamp": parse_timestamp(
            raw.get("timestamp"),
            received_at=received_at,
            where="event.timestamp",
            drift=correction.drift if correction else None,
        ),
        "platform": _text(raw.get("platform"), "event.platform", 50) or "other",
        "level": level,
        "severity": SEVERITY_OF_LEVEL[level],
        "logger": _text(raw.get("logger"), "event.logger", MAX_SHORT),
        "transaction": _text(raw.get("transaction") or raw.get("culprit"), "event.transaction", MAX_SHORT),
        "server_name": _text(raw.get("server_name"), "event.server_name", MAX_SHORT),
        "release": _text(raw.get("release"), "event.release", MAX_RELEASE),
        "environment": _text(raw.get("environment"), "event.environment", MAX_ENVIRONMENT),
        "dist": _text(raw.get("dist"), "event.dist", 64),
        "message": _message(raw),
        "exception": exception,
        "stacktrace": None if exception else _threads_stacktrace(raw),
        "tags": _tags(raw.get("tags")),
        "user": raw.get("user") or None,
        "request": raw.get("request") or None,
        "contexts": raw.get("contexts") or {},
        "breadcrumbs": _breadcrumbs(raw.get("breadcrumbs")),
        "extra": raw.get("extra") or {},
        "fingerprint": [str(part) for part in fingerprint] if fingerprint else None,
        "sdk": raw.get("sdk") or None,
        "modules": raw.get("modules") if isinstance(raw.get("modules"), dict) else None,
    }
    if correction is not None:
        correction.apply(event)
    _infer_ip(event, client_ip)
    return event


AUTO_IP = "{{auto}}"  # an SDK's placeholder for "the address this event was sent from"
_LEGACY_INFER_PLATFORMS = frozenset({"javascript", "cocoa", "objc"})  # apps on users' devices


def _infer_ip(event: dict[str, Any], client_ip: str | None) -> None:
    """Relay's rule for the sender's address, so that anonymous users of browser and mobile apps count apart:
    a `{{auto}}` user address or `REMOTE_ADDR` becomes the client's address; with the SDK's `infer_ip` setting
    "auto" a user without an address gets it too, and without that setting (older SDKs) so do events of the
    platforms that run on users' devices; with "never" the placeholders are dropped and nothing is added."""
    settings = (event["sdk"] or {}).get("settings")
    chosen = settings.get("infer_ip") if isinstance(settings, dict) else None
    setting = chosen if chosen in ("auto", "never") else "legacy"
    address = client_ip if setting != "never" else None
    request = event["request"]
    env = request.get("env") if isinstance(request, dict) else None
    if isinstance(env, dict) and env.get("REMOTE_ADDR") == AUTO_IP:
        env["REMOTE_ADDR"] = address
    user: dict[str, Any] = event["user"] if isinstance(event["user"], dict) else {}
    if user.get("ip_address") == AUTO_IP:
        user["ip_address"] = address
        return
    inferred = setting == "auto" or event["platform"] in _LEGACY_INFER_PLATFORMS
    if address and inferred and not user.get("ip_address"):
        event["user"] = {**user, "ip_address": address}
