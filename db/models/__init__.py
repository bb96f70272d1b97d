"""errlog's schema: every table, importable from one place."""

from db.models.access import ApiToken, AuditEntry
from db.models.alerts import (
    Escalation,
    EscalationChain,
    EscalationStep,
    Notification,
    NotificationAttempt,
)
from db.models.analysis import DailyStat, Pattern, PatternIssue
from db.models.issues import Comment, Event, Issue, IssueUser
from db.models.operations import Heartbeat, MaintenanceWindow
from db.models.people import (
    Developer,
    OncallOverride,
    OncallRotation,
    OncallSchedule,
    RotationParticipant,
    Team,
    TeamMember,
)
from db.models.projects import Project, ProjectKey
from db.models.rollups import (
    IssueDailyCount,
    IssueHourlyCount,
    ProjectDailyCount,
    ProjectHourlyCount,
    ProjectMinuteCount,
    SeverityHourlyCount,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Comment",
    "DailyStat",
    "Developer",
    "Escalation",
    "EscalationChain",
    "EscalationStep",
    "Event",
    "Heartbeat",
    "Issue",
    "IssueDailyCount",
    "IssueHourlyCount",
    "IssueUser",
    "MaintenanceWindow",
    "Notification",
    "NotificationAttempt",
    "OncallOverride",
    "OncallRotation",
    "OncallSchedule",
    "Pattern",
    "PatternIssue",
    "Project",
    "ProjectDailyCount",
    "ProjectHourlyCount",
    "ProjectKey",
    "ProjectMinuteCount",
    "RotationParticipant",
    "SeverityHourlyCount",
    "Team",
    "TeamMember",
]
