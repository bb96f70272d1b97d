"""Grouping mechanism v1: the components an event is grouped by (frozen once released; changes go in a v2).

An event's components are a list of string tuples; the package hashes them. The rules:

- An SDK `fingerprint` list overrides everything. `{{ default }}` expands to the default components below,
  other `{{ variables }}` (transaction, type, error.type, error.value, message, logger, level, function,
  module, tags.NAME) to the event's value, anything else is taken literally.
- Exceptions: the main exception's (the last value's) type plus its frames as (module or file base name,
  function). Only in-app frames count when there are any. Line and column numbers never count, generated and
  anonymous names are normalised (see v1_normalise), anonymous frames are dropped when named ones remain, and
  recursion is collapsed, so a deploy that shifts lines or changes recursion depth keeps the issue.
  Chained causes are left out on purpose: what a wrapper wraps often varies with the environment (a timeout
  today, a refused connection tomorrow) and SDKs differ in how much of a chain they send, while the issue is
  "this call site raised this error". Without frames, the type and the parameter-stripped value.
- Messages: the template (`message.message`) when given, else the formatted text, parameters stripped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collector.grouping.access import (
    as_text,
    frames_of,
    is_synthetic,
    log_message,
    main_exception,
)
from collector.grouping.v1_normalise import frame_location, function_name, normalise_message

Component = tuple[str, ...]

_VARIABLE = re.compile(r"\{\{\s*([\w.\-]+)\s*\}\}")
# Modules that only say "built in": ValueError groups alike whether an SDK names builtins or sends no module.
_BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "exceptions"})
_LONGEST_RECURSION_CYCLE = 4


def frame_key(frame: dict[str, Any], platform: str | None) -> tuple[str, str | None] | None:
    """v1's (location, function) of a frame: the same rules on every platform, and every frame counts."""
    return frame_location(frame, platform), function_name(frame.get("function"))


@dataclass(frozen=True)
class Rules:
    """What a later version changes of v1's rules (v1 is `Rules()`): how a frame counts (its (location, function),
    or None to leave it out), and whether a message sent with a synthetic stack is grouped as a message."""

    frame_key: Callable[[dict[str, Any], str | None], tuple[str, str | None] | None] = frame_key
    synthetic_message_as_message: bool = False


V1 = Rules()


def components(event: dict[str, Any], rules: Rules = V1) -> list[Component]:
    """What the event is grouped by under v1 (or under a later version's `rules`): the SDK fingerprint expanded,
    else the default components."""
    default = default_components(event, rules)
    override = _fingerprint_entries(event.get("fingerprint"))
    if not override:
        return default
    expanded: list[Component] = []
    for entry in override:
        variable = _VARIABLE.fullmatch(entry.strip())
        if variable is None:
            expanded.append(("fingerprint", entry))
        elif variable.group(1).lower() == "default":
            expanded.extend(default)
        else:
            name = variable.group(1)
            value = _variable_value(event, name, rules)
            expanded.append(("fingerprint", entry) if value is None else ("variable", name.lower(), value))
    return expanded or default


def default_components(event: dict[str, Any], rules: Rules = V1) -> list[Component]:
    """The components without an SDK fingerprint: by exception when there is one, else by message."""
    exception = main_exception(event)
    template, formatted = log_message(event)
    as_message = rules.synthetic_message_as_message and (template or formatted) and is_synthetic(exception)
    if exception is not None and _is_meaningful(exception) and not as_message:
        return _exception_components(event, exception, rules)
    return [("message", normalise_message(template or formatted or ""))]


def exception_type(exception: dict[str, Any]) -> str:
    """The type a main exception is grouped and titled by; SDKs that send none get Sentry's "Error"."""
    return (as_text(exception.get("type")) or "").strip() or "Error"


def contributing_frames(event: dict[str, Any], exception: dict[str, Any], rules: Rules = V1) -> list[tuple[str, str]]:
    """(location, function) for each frame of `exception` that counts, oldest call first."""
    frames = frames_of(exception)
    chosen = [frame for frame in frames if frame.get("in_app") is True] or frames
    event_platform = as_text(event.get("platform"))
    keyed = []
    for frame in chosen:
        key = rules.frame_key(frame, as_text(frame.get("platform")) or event_platform)
        if key is not None:
            keyed.append(key)
    named = [(location, function) for location, function in keyed if function]
    if named:
        return _collapse_recursion(named)
    return _collapse_recursion([(location, "") for location, _ in keyed if location])


def _is_meaningful(exception: dict[str, Any]) -> bool:
    return bool(as_text(exception.get("type")) or as_text(exception.get("value")) or frames_of(exception))


def _exception_components(event: dict[str, Any], exception: dict[str, Any], rules: Rules) -> list[Component]:
    result: list[Component] = []
    # A synthetic exception's type is a placeholder the SDK made up (Sentry ignores it too).
    if not is_synthetic(exception):
        type_name = exception_type(exception)
        module = (as_text(exception.get("module")) or "").strip()
        if module and module not in _BUILTIN_MODULES:
            type_name = f"{module}.{type_name}"
        result.append(("type", type_name))
    frames = contributing_frames(event, exception, rules)
    if frames:
        result.extend(("frame", location, function) for location, function in frames)
    else:
        result.append(("value", normalise_message(as_text(exception.get("value")) or "")))
    return result


def _collapse_recursion(frames: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop repeats of the last 1..4 frames, so recursion depth (a→a→a, a→b→a→b) does not split issues."""
    result: list[tuple[str, str]] = []
    for frame in frames:
        result.append(frame)
        for cycle in range(1, _LONGEST_RECURSION_CYCLE + 1):
            if len(result) >= 2 * cycle and result[-cycle:] == result[-2 * cycle : -cycle]:
                del result[-cycle:]
                break
    return result


def _fingerprint_entries(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [text for text in (as_text(item) for item in value) if text is not None]


def _variable_value(event: dict[str, Any], name: str, rules: Rules) -> str | None:
    """The value of a fingerprint variable, "" when the event lacks it, None for an unknown variable."""
    exception = main_exception(event)
    raw_name, name = name, name.lower()
    if name in ("type", "error.type"):
        return exception_type(exception) if exception else ""
    if name == "error.value":
        return (as_text(exception.get("value")) if exception else None) or ""
    if name == "message":
        template, formatted = log_message(event)
        return formatted or template or ""
    if name in ("transaction", "logger", "level"):
        return as_text(event.get(name)) or ""
    if name in ("function", "stack.function", "module", "stack.module"):
        frames = contributing_frames(event, exception, rules) if exception else []
        if not frames:
            return ""
        location, function = frames[-1]
        return function if name.endswith("function") else location
    if name.startswith("tags."):
        tags = event.get("tags")
        tag = raw_name[len("tags.") :]
        if isinstance(tags, dict):
            return as_text(tags.get(tag)) or ""
        if isinstance(tags, list):  # Sentry also accepts tags as [key, value] pairs
            for pair in tags:
                if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] == tag:
                    return as_text(pair[1]) or ""
        return ""
    return None
