"""Normalises the JSON webhook payloads of services without a Sentry SDK (Laravel, Java, browsers, Flutter,
anything else) into canonical events; docs/webhooks.md documents each payload."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collector.normalize import (
    LEVELS,
    MAX_ENVIRONMENT,
    MAX_MESSAGE,
    MAX_RELEASE,
    MAX_SHORT,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    SEVERITY_OF_LEVEL,
    EventError,
    clock_correction,
    normalize_event_id,
    parse_timestamp,
    read_sent_at,
)
from collector.stacktraces import (
    PLATFORM_ALIASES,
    ExceptionValue,
    Frame,
    dart_frame,
    detect_platform,
    exception_value,
    java_frame,
    js_frame,
    make_frame,
    parse_dart,
    parse_java,
    parse_javascript,
    parse_php,
    parse_stacktrace,
    php_frame,
    php_frames_from_backtrace,
    split_dart_error,
    split_java_class,
)

MAX_BATCH = 100
MAX_CHAIN_DEPTH = 10  # nested `previous` / `cause` objects followed, like the stack parsers' chain limit
MAX_STACK_TEXT = 64 * 1024  # an unparseable stack is kept in `extra` up to this size

# Logging libraries' level names (Monolog, java.util.logging, log4j) on top of Sentry's own.
LEVEL_ALIASES = {
    **LEVELS,
    "emergency": "fatal",
    "alert": "fatal",
    "err": "error",
    "severe": "error",
    "notice": "info",
    "trace": "debug",
}
LEVEL_OF_SEVERITY = {"critical": "fatal", "high": "error", "medium": "warning", "low": "info"}
# Platforms an event may name as its own besides the four whose stack traces errlog parses.
_OTHER_PLATFORMS = {"python", "ruby", "go", "csharp", "elixir", "perl", "native", "cocoa", "c", "objc", "swift"}
# What window.onerror's message looks like in browsers: "Uncaught TypeError: x is undefined".
_ONERROR_RE = re.compile(
    r"(?:[Uu]ncaught (?:exception: )?)?(?:((?:Eval|Internal|Range|Reference|Syntax|Type|URI|)Error): )?(.*)", re.S
)


class WebhookPayloadError(EventError):
    """The payload cannot become an event; the message names the item and field, e.g. "item 2: 'message' must be
    a string". ``status`` is the HTTP status to answer with it: 400, or 413 for a batch over ``MAX_BATCH``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class _Reader:
    """Typed access to one JSON object; each field is found by its snake_case or camelCase name, and a wrong
    type raises an error naming the field's path (``'user.email' must be a string``)."""

    def __init__(self, data: Mapping[str, Any], path: str = "") -> None:
        self.data = data
        self.path = path

    def raw(self, *names: str) -> tuple[str, Any]:
        for name in names:
            for key in (name, _camel(name)):
                if self.data.get(key) is not None:
                    return key, self.data[key]
        return names[0], None

    def has(self, *names: str) -> bool:
        return self.raw(*names)[1] is not None

    def fail(self, key: str, problem: str) -> WebhookPayloadError:
        return WebhookPayloadError(f"'{self.path}{key}' {problem}")

    def text(self, *names: str, limit: int = MAX_SHORT, numbers: bool = False) -> str | None:
        key, value = self.raw(*names)
        if value is None:
            return None
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(key, "must be a string" + (" or a number" if numbers else ""))
        return value[:limit]

    def integer(self, *names: str) -> int | None:
        key, value = self.raw(*names)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.fail(key, "must be an integer")
        return value

    def boolean(self, *names: str) -> bool | None:
        key, value = self.raw(*names)
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def obj(self, *names: str) -> _Reader | None:
        key, value = self.raw(*names)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be an object")
        return _Reader(value, f"{self.path}{key}.")

    def objects(self, key: str, value: list[Any]) -> list[_Reader]:
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "must be an object")
            readers.append(_Reader(item, f"{self.path}{key}[{i}]."))
        return readers


@dataclass(frozen=True)
class _Kind:
    platform: str  # "" for generic: the payload names it
    required: tuple[tuple[str, ...], ...]  # at least one of these fields (each with its aliases) must be present
    build: Callable[[_Reader, dict[str, Any]], list[ExceptionValue]]
    extra_keys: tuple[str, ...] = ("extra", "context")


def _keep_unparsed(event: dict[str, Any], text: str) -> None:
    """A stack we could not read is kept verbatim so nothing the service sent is lost."""
    event["extra"].setdefault("stacktrace", text[:MAX_STACK_TEXT])


def _stack(
    r: _Reader, event: dict[str, Any], names: tuple[str, ...], parse: Callable[[str], list[ExceptionValue]]
) -> tuple[str, Any, list[ExceptionValue]]:
    """(key, raw value, parsed values) of the stack field; an array is left to the caller."""
    key, value = r.raw(*names)
    if value is None or isinstance(value, list):
        return key, value, []
    if not isinstance(value, str):
        raise r.fail(key, "must be a string or a list of frames")
    values = parse(value)
    if not values and value.strip():
        _keep_unparsed(event, value)
    return key, value, values


def _finish_chain(
    values: list[ExceptionValue], frames: list[Frame], type_: str | None, message: str | None, default: str
) -> list[ExceptionValue]:
    """The parsed chain (or one exception holding ``frames``) with the payload's type and message on the main
    exception: what the service says about its exception beats what we read out of its text."""
    if not values:
        values = [exception_value(default, "", frames)]
    main = values[-1]
    if type_:
        main["type"] = type_
        main["module"] = None
    if message is not None:
        main["value"] = message
    return values


# --- per kind --------------------------------------------------------------------------------------


def _laravel(r: _Reader, event: dict[str, Any], depth: int = 0) -> list[ExceptionValue]:
    file, line = r.text("file", limit=1024), r.integer("line")
    key, trace, values = _stack(
        r, event, ("trace", "stack_trace", "stacktrace"), lambda t: parse_php(t, file=file, line=line)
    )
    backtrace = []
    if isinstance(trace, list):
        for entry in r.objects(key, trace):
            backtrace.append(
                {
                    "file": entry.text("file", limit=1024),
                    "line": entry.integer("line"),
                    "class": entry.text("class"),
                    "function": entry.text("function"),
                }
            )
    frames = [] if values else php_frames_from_backtrace(backtrace, file, line)
    cls = r.text("exception", "exception_class", "class")
    values = _finish_chain(values, frames, cls, r.text("message", limit=MAX_MESSAGE), "Exception")
    code = r.text("code", numbers=True)
    if code is not None and code != "0" and depth == 0:
        event["extra"]["exception_code"] = code
    previous = r.obj("previous")
    if previous is not None and depth < MAX_CHAIN_DEPTH:
        values = _laravel(previous, event, depth + 1) + values
    return values


def _java(r: _Reader, event: dict[str, Any], depth: int = 0) -> list[ExceptionValue]:
    key, trace, values = _stack(r, event, ("stack_trace", "stacktrace", "trace"), parse_java)
    frames = []
    if isinstance(trace, list):
        for element in r.objects(key, trace):
            line = element.integer("line_number", "line")
            frames.append(
                java_frame(
                    element.text("class_name", "class"),
                    element.text("method_name", "method"),
                    element.text("file_name", "file"),
                    line if line is not None and line >= 0 else None,  # -1 unknown, -2 native method
                )
            )
        frames.reverse()  # Throwable.getStackTrace() lists the most recent call first
    cls = r.text("exception_class", "exception", "class_name", "type")
    values = _finish_chain(values, frames, cls, r.text("message", limit=MAX_MESSAGE), "Exception")
    if cls:
        values[-1]["module"], values[-1]["type"] = split_java_class(cls)
    key, cause = r.raw("cause")
    if cause is None or len(values) > 1 or depth >= MAX_CHAIN_DEPTH:
        return values  # a printed trace carries its own "Caused by:" chain
    if isinstance(cause, str):
        cause_type, _, cause_message = cause.partition(": ")
        module, type_ = split_java_class(cause_type.strip())
        return [exception_value(type_, cause_message.strip(), [], module), *values]
    cause_reader = r.obj("cause")
    assert cause_reader is not None
    return _java(cause_reader, event, depth + 1) + values


def _frontend(r: _Reader, event: dict[str, Any]) -> list[ExceptionValue]:
    kind = r.text("type") or "error"
    if kind not in ("error", "unhandledrejection"):
        raise r.fail("type", "must be 'error' or 'unhandledrejection'")
    key, error_value = r.raw("error", "reason")
    error = _Reader({}, f"{key}.")
    if isinstance(error_value, str | int | float):
        error = _Reader({"message": str(error_value)}, f"{key}.")  # a rejection with a plain string reason
    elif error_value is not None:
        error = r.obj(key) or error
    stack_reader = error if error.has("stack") else r
    _, _, values = _stack(stack_reader, event, ("stack",), parse_javascript)
    frames = []
    source = r.text("source", "filename", limit=2048)
    lineno, colno = r.integer("lineno", "line"), r.integer("colno", "column")
    if source and not values:
        frames = [js_frame(source, None, lineno, colno)]
    message = r.text("message", limit=MAX_MESSAGE)
    onerror = _ONERROR_RE.fullmatch(message) if message is not None else None
    type_ = error.text("name") or (onerror.group(1) if onerror else None)
    value = error.text("message", limit=MAX_MESSAGE)
    if value is None and onerror is not None:
        value = onerror.group(2)
    # A promise rejected with something other than an Error has no type of its own (Sentry's browser SDK too).
    reason_is_error = isinstance(error_value, dict)
    default = "UnhandledRejection" if kind == "unhandledrejection" and not reason_is_error else "Error"
    values = _finish_chain(values, frames, type_, value, default)
    values[-1]["mechanism"] = {"type": f"on{kind}", "handled": bool(r.boolean("handled"))}
    return values


def _mobile(r: _Reader, event: dict[str, Any]) -> list[ExceptionValue]:
    _, _, values = _stack(r, event, ("stack", "stack_trace", "stacktrace"), parse_dart)
    error_text = r.text("exception", "error", limit=MAX_MESSAGE)
    type_, value = split_dart_error(error_text) if error_text else (None, r.text("message", limit=MAX_MESSAGE))
    if error_text and type_ == "Error" and value == error_text:
        type_ = None  # no type showed in the text: keep what the stack's header said, if anything
    values = _finish_chain(values, [], r.text("type", "exception_type", "runtime_type") or type_, value, "Error")
    contexts = event["contexts"]
    details = {"library": r.text("library"), "context": r.text("context", limit=MAX_MESSAGE)}
    if any(details.values()):
        contexts["flutter_error_details"] = {k: v for k, v in details.items() if v}
    device = r.obj("device")
    if device is not None:
        contexts["device"] = _compact(model=device.text("model"), manufacturer=device.text("manufacturer"))
        contexts["os"] = _compact(name=device.text("os"), version=device.text("os_version", numbers=True))
    app = r.obj("app")
    if app is not None:
        version, build = app.text("version", numbers=True), app.text("build", numbers=True)
        identifier = app.text("id", "package", "bundle_id")
        contexts["app"] = _compact(
            app_version=version, app_build=build, app_identifier=identifier, app_name=app.text("name")
        )
        if event["release"] is None and version:
            # Sentry's Flutter SDK names releases "<package>@<version>+<build>"; follow it so both sources agree.
            release = f"{version}+{build}" if build else version
            event["release"] = (f"{identifier}@{release}" if identifier else release)[:MAX_RELEASE]
    return values


def _generic(r: _Reader, event: dict[str, Any]) -> list[ExceptionValue]:
    message = r.text("message", limit=MAX_MESSAGE)
    if not message:
        raise r.fail("message", "must be a non-empty string")
    named = (r.text("platform", limit=50) or "").lower()
    platform = PLATFORM_ALIASES.get(named) or (named if named in _OTHER_PLATFORMS else None)
    key, stack, values = _stack(
        r, event, ("stacktrace", "stack_trace", "stack", "trace"), lambda t: parse_stacktrace(t, named)
    )
    if isinstance(stack, str) and platform is None:
        platform = detect_platform(stack)
    event["platform"] = platform or "other"
    frames = (
        [_generic_frame(frame, event["platform"]) for frame in r.objects(key, stack)] if isinstance(stack, list) else []
    )
    type_ = r.text("exception_type", "type")
    if not (type_ or values or frames):
        event["message"] = {"formatted": message, "message": None, "params": None}
        return []
    return _finish_chain(values, frames, type_, message, "Error")


def _generic_frame(f: _Reader, platform: str) -> Frame:
    """A frame given field by field (Sentry's frame keys, oldest call first); a missing ``in_app`` is guessed the
    way the parser of its platform would."""
    frame = make_frame(
        filename=f.text("filename", limit=1024),
        abs_path=f.text("abs_path", limit=2048),
        module=f.text("module", limit=1024),
        function=f.text("function", limit=1024),
        lineno=f.integer("lineno", "line"),
        colno=f.integer("colno", "column"),
        in_app=f.boolean("in_app"),
    )
    path = frame["abs_path"] or frame["filename"]
    if frame["in_app"] is not None:
        pass
    elif platform == "java" and frame["module"]:
        frame["in_app"] = java_frame(frame["module"], None, None, None)["in_app"]
    elif platform == "php" and path:
        frame["in_app"] = php_frame(path, None, None)["in_app"]
    elif platform == "javascript" and path:
        frame["in_app"] = js_frame(path, None, None, None)["in_app"]
    elif platform == "dart" and path:
        frame["in_app"] = dart_frame(path, None, None, None)["in_app"]
    return frame


_MESSAGE = ("message",)
KINDS: dict[str, _Kind] = {
    "laravel": _Kind(
        "php", (_MESSAGE, ("exception", "exception_class", "class"), ("trace", "stack_trace", "stacktrace")), _laravel
    ),
    "java": _Kind(
        "java",
        (_MESSAGE, ("exception_class", "exception", "class_name"), ("stack_trace", "stacktrace", "trace")),
        _java,
    ),
    "frontend": _Kind("javascript", (_MESSAGE, ("error", "reason"), ("stack",)), _frontend),
    "mobile": _Kind(
        "dart", (("exception", "error"), _MESSAGE, ("stack", "stack_trace", "stacktrace")), _mobile, ("extra",)
    ),
    "generic": _Kind("", (_MESSAGE,), _generic),
}


# --- common fields ---------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _compact(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _level_and_severity(r: _Reader) -> tuple[str, str]:
    level_name, severity = r.text("level", limit=20), r.text("severity", limit=20)
    level = None
    if level_name is not None:
        level = LEVEL_ALIASES.get(level_name.lower())
        if level is None:
            raise r.fail("level", f"must be one of fatal, error, warning, info, debug (got {level_name!r})")
    if severity is not None:
        severity = severity.lower()
        if severity not in LEVEL_OF_SEVERITY:
            raise r.fail("severity", f"must be one of critical, high, medium, low (got {severity!r})")
    level = level or (LEVEL_OF_SEVERITY[severity] if severity else "error")
    return level, severity or SEVERITY_OF_LEVEL[level]


def _time_value(value: Any) -> Any:
    """A time as handlers write it, for parse_timestamp: numeric text as a number, epoch milliseconds (JavaScript's
    Date.now(), Java's Instant.toEpochMilli()) as seconds."""
    if isinstance(value, str) and re.fullmatch(r"\d+(?:\.\d+)?", value.strip()):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 1e11:
        value = value / 1000
    return value


_TIME_PROBLEM = "must be an ISO 8601 string or epoch seconds or milliseconds"


def _timestamp(r: _Reader, received_at: dt.datetime, drift: dt.timedelta | None) -> dt.datetime:
    key, value = r.raw("timestamp", "time")
    try:
        return parse_timestamp(_time_value(value), received_at=received_at, where=key, drift=drift)
    except EventError:
        raise r.fail(key, _TIME_PROBLEM) from None


def _sent_at(r: _Reader) -> dt.datetime | None:
    """When the handler sent the payload, if it says: a device whose clock is wrong then has its times corrected."""
    key, value = r.raw("sent_at")
    sent = read_sent_at(_time_value(value))
    if value is not None and sent is None:
        raise r.fail(key, _TIME_PROBLEM)
    return sent


def _event_id(r: _Reader) -> str:
    key, value = r.raw("event_id")
    if value is None:
        return uuid.uuid4().hex
    try:
        return normalize_event_id(value, f"'{key}'")
    except EventError:
        raise r.fail(key, "must be 32 hex digits or a UUID") from None


def _user(r: _Reader) -> dict[str, Any] | None:
    key, value = r.raw("user")
    user: dict[str, Any] = {}
    if isinstance(value, str):
        user["username"] = value[:MAX_SHORT]  # Spring's Principal.getName()
    elif value is not None:
        u = r.obj(key)
        assert u is not None
        user = _compact(
            id=u.text("id", numbers=True),
            email=u.text("email"),
            username=u.text("username", "name"),
            ip_address=u.text("ip_address", "ip"),
        )
    ip = r.text("ip", "ip_address", "client_ip", limit=64)
    if ip:
        user.setdefault("ip_address", ip)
    return user or None


def _request(r: _Reader) -> dict[str, Any] | None:
    user_agent = r.text("user_agent", limit=1024)
    request = _compact(
        url=r.text("url", "path", "request_url", "page_url", limit=2048),
        method=(r.text("method", "http_method", limit=16) or "").upper() or None,
        headers={"User-Agent": user_agent} if user_agent else None,
    )
    return request or None


def _tags(r: _Reader, kind: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    given = r.obj("tags")
    for key, value in (given.data if given else {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise r.fail(f"tags.{key}", "must be a string, number or boolean")
        tags[str(key)[:MAX_TAG_KEY]] = str(value)[:MAX_TAG_VALUE]
    service = r.text("service", "application", "app_name", limit=MAX_TAG_VALUE)
    if service:
        tags.setdefault("service", service)
    tags["source"] = f"webhook:{kind}"  # last: a payload cannot pass itself off as another source
    return tags


def _extra(r: _Reader, keys: tuple[str, ...]) -> dict[str, Any]:
    reader = r.obj(*keys)
    return dict(reader.data) if reader else {}


def _fingerprint(r: _Reader) -> list[str] | None:
    key, value = r.raw("fingerprint")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(part, str | int | float) for part in value):
        raise r.fail(key, "must be a list of strings")
    return [str(part)[:MAX_SHORT] for part in value] or None


def _breadcrumbs(r: _Reader) -> dict[str, Any]:
    key, value = r.raw("breadcrumbs")
    if value is None:
        return {"values": []}
    if not isinstance(value, list):
        raise r.fail(key, "must be a list of objects")
    return {"values": [crumb.data for crumb in r.objects(key, value)][-100:]}


def _normalize_one(kind_name: str, kind: _Kind, r: _Reader, received_at: dt.datetime) -> dict[str, Any]:
    if not any(r.has(*names) for names in kind.required):
        if len(kind.required) == 1:
            raise r.fail(kind.required[0][0], "is required")
        listed = ", ".join(f"'{names[0]}'" for names in kind.required)
        raise WebhookPayloadError(f"a {kind_name} payload needs at least one of {listed}")
    level, severity = _level_and_severity(r)
    correction = clock_correction(_sent_at(r), received_at)
    event: dict[str, Any] = {
        "event_id": _event_id(r),
        "timestamp": _timestamp(r, received_at, correction.drift if correction else None),
        "platform": kind.platform,
        "level": level,
        "severity": severity,
        "logger": r.text("logger", "channel") or None,
        "transaction": r.text("transaction", "route") or None,
        "server_name": r.text("server_name", "hostname", "host") or None,
        "release": r.text("release", "app_version", "version", limit=MAX_RELEASE, numbers=True) or None,
        "environment": r.text("environment", "env", limit=MAX_ENVIRONMENT) or None,
        "dist": None,
        "message": None,
        "exception": None,
        "stacktrace": None,
        "tags": _tags(r, kind_name),
        "user": _user(r),
        "request": _request(r),
        "contexts": {},
        "breadcrumbs": _breadcrumbs(r),
        "extra": _extra(r, kind.extra_keys),
        "fingerprint": _fingerprint(r),
        "sdk": None,
        "modules": None,
    }
    if correction is not None:
        correction.apply(event)
    handled = r.boolean("handled")
    values = kind.build(r, event)
    if values:
        if handled is not None and "mechanism" not in values[-1]:
            values[-1]["mechanism"] = {"type": "generic", "handled": handled}
        event["exception"] = {"values": values}
    return event


def normalize_webhook(kind: str, payload: Any, *, received_at: dt.datetime) -> list[dict[str, Any]]:
    """Canonical events from one webhook body: an object, or a list of up to 100 objects (a batch).

    ``kind`` is the endpoint's last path segment (one of ``KINDS``); ``received_at`` (aware) is the default
    timestamp. Raises ``WebhookPayloadError`` naming the item (0-based, batches only) and field at fault;
    one bad item rejects the whole batch, so a retry never stores half of it twice.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown webhook kind {kind!r}; expected one of {', '.join(KINDS)}")
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    received_at = received_at.astimezone(dt.UTC)
    if isinstance(payload, dict):
        items, batch = [payload], False
    elif isinstance(payload, list):
        if not payload:
            raise WebhookPayloadError("the batch is empty: send at least one object")
        if len(payload) > MAX_BATCH:
            raise WebhookPayloadError(f"a batch holds at most {MAX_BATCH} items, got {len(payload)}", status=413)
        items, batch = payload, True
    else:
        raise WebhookPayloadError("the payload must be a JSON object or a list of objects")
    events = []
    for i, item in enumerate(items):
        prefix = f"item {i}: " if batch else ""
        if not isinstance(item, dict):
            raise WebhookPayloadError(f"{prefix}must be a JSON object, got {_json_type(item)}")
        try:
            events.append(_normalize_one(kind, spec, _Reader(item), received_at))
        except WebhookPayloadError as exc:
            raise WebhookPayloadError(f"{prefix}{exc}") from None
    return events
