"""Pick who gets an error: on-call developers first, each with their current load."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.format import bar
from tui.load import picker_order, weighted_load
from tui.models import Workload


def describe(row: Workload, top: int) -> Text:
    text = Text()
    if row.on_call_now:
        levels = ",".join(f"L{level}" for level in sorted(row.on_call_levels)) or "on call"
        text.append(f"● {levels:<6}", "bold green")
    else:
        text.append("  off   ", "dim")
    text.append(f" {row.developer.name:<22.22} ")
    counts = row.open_by_severity
    text.append(f"{row.open_assigned:>3} open ")
    text.append(f"({counts.critical} crit) " if counts.critical else "         ", "red" if counts.critical else "")
    text.append(f"{row.unacknowledged:>2} unack ")
    text.append(bar(weighted_load(row), top, 10), "dim")
    return text


class AssignPicker(ModalScreen[int | None]):
    """Answers the chosen developer's id, or None (esc). Typing filters by name or e-mail."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="assign.cancel")]

    def __init__(self, workload: list[Workload], *, count: int = 1) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = picker_order(workload)
        self.count = count

    def compose(self) -> ComposeResult:
        what = "the error" if self.count == 1 else f"{self.count} errors"
        with Vertical(classes="dialog dialog-wide"):
            yield Label(f"Assign {what} to ...", classes="dialog-title")
            yield Input(placeholder="type to filter by name or e-mail", id="filter", compact=True)
            yield OptionList(id="developers")
            yield Static("↑↓: choose · enter: assign · esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#developers", OptionList).focus()

    def _fill(self, needle: str) -> None:
        options = self.query_one("#developers", OptionList)
        options.clear_options()
        needle = needle.strip().lower()
        top = max([weighted_load(r) for r in self.rows] + [1])
        shown = [
            r for r in self.rows if not needle or needle in r.developer.name.lower() or needle in r.developer.email
        ]
        options.add_options([Option(describe(r, top), id=str(r.developer.id)) for r in shown])
        if shown:
            options.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _submit_filter(self, event: Input.Submitted) -> None:
        options = self.query_one("#developers", OptionList)
        if options.option_count:
            options.focus()
            options.action_select()

    @on(OptionList.OptionSelected, "#developers")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def on_key(self, event: events.Key) -> None:
        # A letter typed on the list goes to the filter, so picking "ana" is three keys and enter.
        on_list = self.focused is not None and self.focused.id == "developers"
        if on_list and event.is_printable and event.character:
            box = self.query_one("#filter", Input)
            box.focus()
            box.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def action_cancel(self) -> None:
        self.dismiss(None)
