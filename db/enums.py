"""The fixed vocabularies of errlog's data, shared by every layer."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical, 3 for low: sorts the most urgent first."""
        return _SEVERITY_RANKS[self]


# Looked up for every stored event (db/issue_state.py): a dict, not a scan of the members.
_SEVERITY_RANKS = {severity: rank for rank, severity in enumerate(Severity)}


class IssueStatus(StrEnum):
    UNRESOLVED = "unresolved"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class IssueSubstatus(StrEnum):
    NEW = "new"
    ONGOING = "ongoing"
    REGRESSED = "regressed"
    ESCALATING = "escalating"


class Role(StrEnum):
    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = [Role.VIEWER, Role.RESPONDER, Role.ADMIN]
        return order.index(self) >= order.index(needed)


class KeyKind(StrEnum):
    DSN = "dsn"  # Sentry public key: public by design (it ships inside browser bundles)
    WEBHOOK = "webhook"  # JSON webhook token: a secret, stored hashed


class Channel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    SMS = "sms"
    NTFY = "ntfy"
    PUSHOVER = "pushover"
    PAGERDUTY = "pagerduty"
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENDING = "sending"  # an attempt is in flight
    SENT = "sent"
    FAILED = "failed"  # last attempt failed transiently, another is due at next_attempt_at
    DEAD = "dead"  # permanent failure or attempts exhausted
    SUPPRESSED = "suppressed"  # quiet hours, maintenance window or cool-down


class PatternKind(StrEnum):
    SPIKE = "spike"
    RECURRING = "recurring"
    REGRESSION = "regression"
    NEW_IN_RELEASE = "new_in_release"
    CORRELATED = "correlated"


class EscalationCondition(StrEnum):
    UNACKNOWLEDGED = "unacknowledged"
    UNRESOLVED = "unresolved"


def enum_column(enum: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, no native PostgreSQL type to migrate."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum) + 4,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
