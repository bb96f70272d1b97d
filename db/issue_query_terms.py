"""The typed terms a parsed error search is made of (see db/issue_query.py for the syntax)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from db.enums import Severity

Comparison = Literal[">", ">=", "<", "<=", "="]
ValueField = Literal["service", "environment", "release", "first_release"]
TimeField = Literal["first_seen", "last_seen"]
NumberField = Literal["times_seen", "users"]


class State(StrEnum):
    """The values of `is:`."""

    UNRESOLVED = "unresolved"  # open: unresolved or acknowledged (acknowledging does not resolve, as in Sentry)
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    SNOOZED = "snoozed"  # ignored until a time, a number of events or of users
    NEW = "new"
    ONGOING = "ongoing"
    REGRESSED = "regressed"
    ESCALATING = "escalating"  # woke from a snooze (Sentry's substatus)
    ESCALATED = "escalated"  # escalated up the chain at least once
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True, kw_only=True)
class Term:
    token: str  # as typed, for messages
    position: int
    negated: bool = False


@dataclass(frozen=True, kw_only=True)
class StateTerm(Term):
    states: tuple[State, ...]


@dataclass(frozen=True, kw_only=True)
class SeverityTerm(Term):
    severities: tuple[Severity, ...]
    levels: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ValueTerm(Term):
    field: ValueField
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AssigneeTerm(Term):
    """Assigned to any of: "me" (the token's developer), "none", a developer id, or an e-mail (lowercased)."""

    values: tuple[int | str, ...]


@dataclass(frozen=True, kw_only=True)
class HasTerm(Term):
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TimeTerm(Term):
    """`field op at`, or `field op (now - ago)`; "=" means within the UTC day starting at `at`."""

    field: TimeField
    op: Comparison
    at: dt.datetime | None = None
    ago: dt.timedelta | None = None

    def instant(self, now: dt.datetime) -> dt.datetime:
        if self.at is not None:
            return self.at
        assert self.ago is not None
        return now - self.ago


@dataclass(frozen=True, kw_only=True)
class NumberTerm(Term):
    field: NumberField
    op: Comparison
    value: int


@dataclass(frozen=True, kw_only=True)
class TextTerm(Term):
    """Free text: matched, case-insensitively, anywhere in the title, culprit or exception type."""

    text: str
