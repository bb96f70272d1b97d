"""How long to ignore (snooze) an error: for a while, until more events or users, or forever."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

PRESETS: list[tuple[str, dict[str, Any]]] = [
    ("for 30 minutes", {"duration_minutes": 30}),
    ("for 1 hour", {"duration_minutes": 60}),
    ("for 4 hours", {"duration_minutes": 240}),
    ("for 24 hours", {"duration_minutes": 1440}),
    ("for 1 week", {"duration_minutes": 10080}),
    ("until 10 more events", {"events": 10}),
    ("until 100 more events", {"events": 100}),
    ("until 10 more users are affected", {"users": 10}),
    ("forever", {}),
]
CUSTOM = "custom"
_UNITS = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}
_CUSTOM = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|events?|users?)\s*$", re.IGNORECASE)


def parse_ignore(text: str) -> dict[str, Any]:
    """'90m', '2h', '3d', '1w', '50 events', '10 users' or 'forever' as the API's ignore body."""
    if text.strip().lower() == "forever":
        return {}
    match = _CUSTOM.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError("use a number and a unit: 90m, 2h, 3d, 1w, 50 events, 10 users, or forever")
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("event"):
        return {"events": amount}
    if unit.startswith("user"):
        return {"users": amount}
    return {"duration_minutes": amount * _UNITS[unit]}


def describe_ignore(body: dict[str, Any]) -> str:
    if "events" in body:
        return f"until {body['events']} more events"
    if "users" in body:
        return f"until {body['users']} more users"
    if "duration_minutes" in body:
        minutes = int(body["duration_minutes"])
        for size, unit in ((10080, "w"), (1440, "d"), (60, "h")):
            if minutes % size == 0:
                return f"for {minutes // size}{unit}"
        return f"for {minutes}m"
    return "forever"


class IgnoreDialog(ModalScreen[dict[str, Any] | None]):
    """Answers the ignore body ({} = forever), or None (esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="ignore.cancel")]

    def __init__(self, count: int) -> None:
        super().__init__(classes="dialog-screen")
        self.count = count

    def compose(self) -> ComposeResult:
        what = "this error" if self.count == 1 else f"{self.count} errors"
        with Vertical(classes="dialog"):
            yield Label(f"Ignore {what} ...", classes="dialog-title")
            yield OptionList(
                *[Option(label, id=str(i)) for i, (label, _) in enumerate(PRESETS)],
                Option("custom: 90m, 2h, 3d, 50 events, 10 users ...", id=CUSTOM),
                id="presets",
            )
            yield Input(placeholder="e.g. 2h, 3d, 50 events, 10 users, forever", id="custom", compact=True)
            yield Static("enter: choose · esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#custom", Input).display = False
        self.query_one("#presets", OptionList).focus()

    @on(OptionList.OptionSelected, "#presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CUSTOM:
            custom = self.query_one("#custom", Input)
            custom.display = True
            custom.focus()
            return
        self.dismiss(dict(PRESETS[int(event.option.id or 0)][1]))

    @on(Input.Submitted, "#custom")
    def _custom(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_ignore(event.value))
        except ValueError as exc:
            self.notify(str(exc), severity="error")

    def action_cancel(self) -> None:
        self.dismiss(None)
