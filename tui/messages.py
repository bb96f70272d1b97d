"""Messages the panes and the console screen exchange (app-level; a widget's own messages live in its class)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.models import ErrorSummary


@dataclass
class Connected(Message):
    """The API client is ready (at start, or after the connection settings changed): load everything."""


@dataclass
class ErrorsChanged(Message):
    """These errors changed (an action answered with their new state): every pane showing them updates in place."""

    errors: list[ErrorSummary]


@dataclass
class ErrorsTouched(Message):
    """A bulk action changed these errors; their new state must be fetched."""

    ids: list[int]


@dataclass
class OpenError(Message):
    """Show this error in the detail pane."""

    error_id: int
    summary: ErrorSummary | None = None


@dataclass
class UnacknowledgedCount(Message):
    """How many open errors nobody has acknowledged: the queue's title shows it."""

    count: int


@dataclass
class SearchQueue(Message):
    """Show the queue with this search (e.g. one developer's errors, from the workload pane)."""

    query: str
