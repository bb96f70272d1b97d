"""Grouping mechanism v2: v1 and three changes, all from what browsers and JavaScript SDKs send (frozen once
released; changes go in a v3).

- A JavaScript method is grouped by its own name. V8 (Chrome, Edge, Node.js) names a method with its receiver,
  `CartView.render` or `Object.load`; Firefox and Safari write `render` and `load`. Under v1 one bug was one issue
  per browser family. v2 keeps the part after the last dot for frames of JavaScript platforms, as Sentry does.
- JavaScript frames without code of their own do not count: V8's `at JSON.parse (<anonymous>)`, Safari's
  `[native code]`, code run by eval. One browser lists them and another does not.
- A message sent with a synthetic stack (the JavaScript SDKs' `captureMessage` with a stack attached) is grouped as
  the message it is, as every other SDK's messages are: under v1 the stack's location alone counted, so two different
  messages sent from the same anonymous callback were one issue.

Every other event is grouped exactly as v1 groups it (the same hash).
"""

from __future__ import annotations

from typing import Any

from collector.grouping import v1
from collector.grouping.access import JS_NO_SOURCE, as_text
from collector.grouping.v1_normalise import JS_PLATFORMS, frame_location, function_name

Component = v1.Component


def _frame_key(frame: dict[str, Any], platform: str | None) -> tuple[str, str | None] | None:
    if platform not in JS_PLATFORMS:
        return v1.frame_key(frame, platform)
    name = function_name(frame.get("function"))
    path = as_text(frame.get("abs_path")) or as_text(frame.get("filename"))
    if path in JS_NO_SOURCE or name == "eval":
        return None
    return frame_location(frame, platform), (name.rsplit(".", 1)[-1] or None) if name else None


RULES = v1.Rules(frame_key=_frame_key, synthetic_message_as_message=True)


def components(event: dict[str, Any]) -> list[Component]:
    return v1.components(event, RULES)
