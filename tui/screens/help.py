"""The ? screen: every key by pane with its binding id (for tui_keymap), the search syntax, the flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.app import ErrlogApp

SEARCH_HELP = """\
The filter bar (/) takes the API's search syntax; terms combine with AND, commas mean OR, ! negates:
  level:critical   service:payments,checkout   assigned:me   !assigned   is:unacknowledged
  release:1.4.2   env:production   last_seen:-1h   times_seen:>100   "connection timeout"
The queue adds is:unresolved (unresolved or acknowledged) unless the search names an is: state itself."""
FLAGS_HELP = "Flags: N new · R regression · E2 escalated to level 2 · Z snoozed · ✓ acknowledged · ● selected"


class HelpScreen(ModalScreen[None]):
    """Closes with esc, q or ?."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(self._keys(), id="help-keys")
            yield Static(Text(SEARCH_HELP), id="help-search")
            yield Static(Text(FLAGS_HELP), id="help-flags")
            yield Static(Text("esc closes · ctrl+p opens the command palette (every action by name)", "dim"))

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def _keys(self) -> Text:
        from tui.app import ErrlogApp
        from tui.screens.console import ConsoleScreen
        from tui.widgets import ALL_PANES, FilterBar, ListTable
        from tui.widgets.error_pane import ACTION_BINDINGS

        app = cast("ErrlogApp", self.app)
        sections: list[tuple[str, list[BindingType]]] = [
            ("Everywhere", [*ErrlogApp.BINDINGS, Binding("ctrl+p", "command_palette", "Command palette")]),
            ("Panes", list(ConsoleScreen.BINDINGS)),
            ("Lists", list(ListTable.BINDINGS)),
            ("On the error(s) under the cursor, or the selected ones (queue and detail)", ACTION_BINDINGS),
        ]
        for pane in ALL_PANES:
            own = [b for b in pane.BINDINGS if b not in ACTION_BINDINGS]
            if own:
                sections.append((f"{pane.PANE_TITLE} pane", own))
        sections.append(("Filter bar (/)", list(FilterBar.BINDINGS)))
        text = Text()
        for title, bindings in sections:
            if text:
                text.append("\n\n")
            text.append(title, "bold underline")
            for binding in bindings:
                if isinstance(binding, Binding) and binding.description:
                    text.append(f"\n{app.key_text(binding):>12}  ", "bold")
                    text.append(binding.tooltip or binding.description)
                    if binding.id:
                        text.append(f"  [{binding.id}]", "dim")
        return text

    def action_close(self) -> None:
        self.dismiss(None)
