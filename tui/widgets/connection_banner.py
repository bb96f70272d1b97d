"""The banner that says the server is out of reach (or still starting), and since when the data is stale."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.format import clock

if TYPE_CHECKING:
    from tui.app import ConnectionState


class ConnectionBanner(Static):
    """Hidden while connected; otherwise one line (or two) in the warning or error colour."""

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self.show_state)

    def show_state(self, state: ConnectionState) -> None:
        self.remove_class("-down", "-connecting", "-refused", "-failed")
        if state.state == "connected":
            self.display = False
            return
        self.display = True
        self.add_class(f"-{state.state}")
        if state.state == "down":
            stale = f" Showing data from before {clock(state.since)}." if state.since else ""
            text = f"SERVER UNREACHABLE: {state.message}. Reconnecting automatically.{stale}"
        elif state.state == "refused":
            text = f"ACCESS REFUSED: {state.message}"
        elif state.state == "failed":
            text = f"COULD NOT START: {state.message} (q quits)"
        else:
            text = state.message or "Connecting ..."
        self.update(Text(text))
