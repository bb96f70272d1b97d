"""What the queue holds and how it stays current: a page of errors in the server's order, refreshed by reading only
what changed since the last answer, so rows keep their identity (and the cursor its row) between refreshes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.client import ApiClient
from tui.format import severity_rank
from tui.models import ErrorSummary

PAGE_SIZE = 100
MAX_WINDOW = 500  # the most rows one refresh re-reads (the API's page limit)
FULL_READ_EVERY = 30  # refreshes: re-read the window now and then, so sparklines move on with the clock
CHANGE_OVERLAP = dt.timedelta(seconds=5)  # read changes from a little before the last answer: none slips between
OPEN_ONLY = "is:unresolved"  # unresolved or acknowledged
SORTS = ("severity", "last_seen", "first_seen", "count", "users", "impact")
SORT_LABELS = {
    "severity": "severity, then last seen",
    "last_seen": "last seen",
    "first_seen": "first seen",
    "count": "events",
    "users": "users",
    "impact": "impact",
}
SAVED_FILTERS = (("mine", "assigned:me"), ("unassigned", "is:unassigned"), ("critical", "level:critical"))
STATUS_TERM = re.compile(r"(^|\s)!?is:", re.IGNORECASE)


def sort_key(sort: str) -> Callable[[ErrorSummary], tuple[Any, ...]]:
    """The server's order for `sort` (all descending), to place rows that change between page reads."""
    keys: dict[str, Callable[[ErrorSummary], tuple[Any, ...]]] = {
        "severity": lambda e: (-severity_rank(e.severity), e.last_seen, e.id),
        "last_seen": lambda e: (e.last_seen, e.id),
        "first_seen": lambda e: (e.first_seen, e.id),
        "count": lambda e: (e.times_seen, e.id),
        "users": lambda e: (e.users_affected, e.id),
        "impact": lambda e: (e.impact_score, e.id),
    }
    return keys[sort]


def effective_query(user_query: str) -> str:
    """The queue shows open errors unless the search names a state itself (`is:resolved` to find one to reopen)."""
    user_query = user_query.strip()
    if STATUS_TERM.search(user_query):
        return user_query
    return f"{OPEN_ONLY} {user_query}".strip()


@dataclass
class Snapshot:
    """What one read brought: the first rows afresh ("full"), or the changes since the last read ("changes")."""

    kind: str
    generation: int
    rows: list[ErrorSummary]
    next_cursor: str | None = None
    gone: set[int] = field(default_factory=set)
    server_time: dt.datetime | None = None
    unacknowledged: int | None = None


@dataclass
class QueueState:
    """The rows of one search and sort. `generation` changes with them, so an answer to an older search is dropped."""

    query: str = ""
    sort: str = "severity"
    errors: dict[int, ErrorSummary] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    next_cursor: str | None = None
    changed_since: dt.datetime | None = None
    generation: int = 0
    fresh: bool = True  # the next full read replaces the rows instead of merging into them
    reads: int = 0

    def restart(self, *, query: str | None = None, sort: str | None = None) -> None:
        self.query = self.query if query is None else query.strip()
        self.sort = self.sort if sort is None else sort
        self.generation += 1
        self.changed_since = None
        self.next_cursor = None
        self.fresh = True

    def _window(self) -> int:
        return max(PAGE_SIZE, min(MAX_WINDOW, len(self.order)))

    async def read(self, client: ApiClient) -> Snapshot:
        generation, q = self.generation, effective_query(self.query)
        self.reads += 1
        counts = await client.counts()
        if self.changed_since is not None and self.reads % FULL_READ_EVERY:
            # Two small reads: what changed and still matches, and what changed at all (to drop rows that left).
            changed = await client.list_errors(q=q, sort=self.sort, limit=MAX_WINDOW, changed_since=self.changed_since)
            touched = await client.list_errors(
                sort="last_seen", limit=MAX_WINDOW, changed_since=self.changed_since, sparkline=False
            )
            if not (changed.next_cursor or touched.next_cursor):  # else a storm of changes: re-read the window
                gone = {e.id for e in touched.items} - {e.id for e in changed.items}
                return Snapshot(
                    "changes",
                    generation,
                    changed.items,
                    gone=gone,
                    server_time=changed.server_time,
                    unacknowledged=counts.unacknowledged,
                )
        page = await client.list_errors(q=q, sort=self.sort, limit=self._window())
        return Snapshot(
            "full",
            generation,
            page.items,
            page.next_cursor,
            server_time=page.server_time,
            unacknowledged=counts.unacknowledged,
        )

    def apply(self, snapshot: Snapshot) -> set[int] | None:
        """Take in a read; the ids of the rows that changed (None: all may have), or an empty set if it was stale."""
        if snapshot.generation != self.generation:
            return set()
        if snapshot.server_time is not None:
            self.changed_since = snapshot.server_time - CHANGE_OVERLAP
        if snapshot.kind == "changes":
            return self._merge(snapshot.rows, snapshot.gone)
        if self.fresh or len(self.order) <= len(snapshot.rows) or snapshot.next_cursor is None:
            self.fresh = False
            self.errors = {e.id: e for e in snapshot.rows}
            self.next_cursor = snapshot.next_cursor
            self.order = [e.id for e in snapshot.rows]
            return None
        # Rows beyond the re-read window stay, so a refresh does not undo scrolling far down.
        return self._merge(snapshot.rows, set(), window=True)

    def _merge(self, rows: list[ErrorSummary], gone: set[int], *, window: bool = False) -> set[int]:
        key = sort_key(self.sort)
        boundary = key(self.errors[self.order[-1]]) if self.order and self.next_cursor else None
        for error_id in gone:
            self.errors.pop(error_id, None)
        if window and rows:
            cutoff, read = key(rows[-1]), {e.id for e in rows}
            for error_id in self.order:
                if error_id not in read and error_id in self.errors and key(self.errors[error_id]) > cutoff:
                    del self.errors[error_id]  # it was inside the window and is no longer: it left the queue
        changed = set()
        for error in rows:
            # A new row past the last loaded one belongs to a page not read yet.
            if error.id in self.errors or boundary is None or key(error) >= boundary:
                if self.errors.get(error.id) != error:
                    changed.add(error.id)
                self.errors[error.id] = error
        self.order = sorted(self.errors, key=lambda i: key(self.errors[i]), reverse=True)
        return changed

    async def read_more(self, client: ApiClient) -> bool:
        """Append the next page; False when there is none, or the search changed meanwhile."""
        cursor, generation = self.next_cursor, self.generation
        if cursor is None:
            return False
        page = await client.list_errors(q=effective_query(self.query), sort=self.sort, limit=PAGE_SIZE, cursor=cursor)
        if generation != self.generation or cursor != self.next_cursor:
            return False
        known = set(self.order)
        for error in page.items:
            self.errors[error.id] = error
        self.order += [e.id for e in page.items if e.id not in known]
        self.next_cursor = page.next_cursor
        return True

    def update(self, errors: list[ErrorSummary]) -> list[int]:
        """Errors changed by an action, updated in place if shown; the ids that were."""
        shown = [e.id for e in errors if e.id in self.errors]
        for error in errors:
            if error.id in self.errors:
                self.errors[error.id] = error
        return shown
