"""Where errlog-tui is connected and, in local mode, the DSN and webhook URL services should send errors to."""

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


class ConnectionInfoScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,D", "close", "Close", id="connection.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="connection-body", classes="dialog dialog-wide"):
            yield Static(Text(cast("ErrlogApp", self.app).connection_text()), id="connection-text")
            yield Static(Text("esc closes", "dim"))

    def action_close(self) -> None:
        self.dismiss(None)
