"""The queue's maintenance note: which maintenance windows hold alerts back now, read from the server now and then."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tui.client import ApiClient, ApiError
from tui.models import MaintenanceWindow

# Windows change rarely and the queue refreshes every 2 s: one read per half minute is enough. Between reads the
# note follows the clock, so a window that ends (or a planned one that starts) shows on time.
READ_EVERY_SECONDS = 30.0


@dataclass
class MaintenanceWatch:
    """The active and planned windows as of the last read, and whether the next queue refresh should read again."""

    every: float = READ_EVERY_SECONDS
    windows: list[MaintenanceWindow] = field(default_factory=list)
    read_at: float | None = None  # time.monotonic() of the last read
    supported: bool = True

    def due(self, monotonic: float) -> bool:
        return self.supported and (self.read_at is None or monotonic - self.read_at >= self.every)

    async def read(self, client: ApiClient, monotonic: float) -> None:
        """Read the windows if due. A server older than maintenance windows (404) is asked no more."""
        if not self.due(monotonic):
            return
        try:
            self.windows = await client.maintenance_windows()
        except ApiError as exc:
            if exc.kind != "not_found":
                raise
            self.supported = False
            self.windows = []
        self.read_at = monotonic

    def active(self, now: dt.datetime) -> list[MaintenanceWindow]:
        return [window for window in self.windows if window.active_at(now)]

    def note(self, now: dt.datetime) -> str | None:
        """E.g. "maintenance: checkout until 14:00 UTC — alerts silenced"; None when no window is active."""
        active = self.active(now)
        if not active:
            return None
        spans = ", ".join(f"{scope(window)} until {end_text(window.ends_at, now)}" for window in active)
        return f"maintenance: {spans} — alerts silenced"


def scope(window: MaintenanceWindow) -> str:
    """What the window silences: a project or all of them, narrowed by its search."""
    where = "all projects" if window.project_id is None else window.project or f"project {window.project_id}"
    return f"{where} ({window.query})" if window.query else where


def end_text(ends_at: dt.datetime, now: dt.datetime) -> str:
    """ "14:00 UTC" today (UTC), "Dec 27 08:00 UTC" on another day."""
    end, today = ends_at.astimezone(dt.UTC), now.astimezone(dt.UTC)
    return end.strftime("%H:%M UTC" if end.date() == today.date() else "%b %d %H:%M UTC")
