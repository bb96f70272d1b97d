"""Auto-assignment: the level-1 on-call developer for an error's project with the lightest workload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from collector.api.framework import ApiError
from db.enums import Severity
from db.issue_state import OPEN_STATUSES
from db.models import Developer, Issue
from db.oncall import on_call_at, schedules_for_project

# Open errors an on-call developer holds, weighted so that one critical counts as several lesser ones.
WORKLOAD_WEIGHTS = {Severity.CRITICAL: 3, Severity.HIGH: 2, Severity.MEDIUM: 1, Severity.LOW: 1}


@dataclass
class AutoAssigner:
    """Picks the level-1 on-call developer with the lightest workload; remembers on-call people and workloads
    across one request so a bulk assignment spreads errors instead of piling them on one person."""

    session: Session
    now: dt.datetime
    on_call: dict[int, list[int]] = field(default_factory=dict)
    loads: dict[int, int] = field(default_factory=dict)

    def _candidates(self, project_id: int) -> list[int]:
        if project_id not in self.on_call:
            people: list[int] = []
            for schedule in schedules_for_project(self.session, project_id):
                shift = on_call_at(schedule, self.now, 1)
                if shift is not None and shift.developer_id not in people:
                    people.append(shift.developer_id)
            active = set(
                self.session.scalars(select(Developer.id).where(Developer.id.in_(people), Developer.is_active))
            )
            self.on_call[project_id] = [d for d in people if d in active]
            self._load(self.on_call[project_id])
        return self.on_call[project_id]

    def _load(self, developers: list[int]) -> None:
        wanted = [d for d in developers if d not in self.loads]
        if not wanted:
            return
        weight = case({s.value: w for s, w in WORKLOAD_WEIGHTS.items()}, value=Issue.severity, else_=1)
        rows = self.session.execute(
            select(Issue.assignee_id, func.sum(weight))
            .where(Issue.assignee_id.in_(wanted), Issue.status.in_(OPEN_STATUSES))
            .group_by(Issue.assignee_id)
        ).all()
        self.loads.update(dict.fromkeys(wanted, 0))
        self.loads.update({assignee: int(total) for assignee, total in rows})

    @staticmethod
    def weight(issue: Issue) -> int:
        return WORKLOAD_WEIGHTS.get(Severity(issue.severity), 1) if issue.status in OPEN_STATUSES else 0

    def pick(self, issue: Issue) -> int:
        candidates = self._candidates(issue.project_id)
        if not candidates:
            raise ApiError(
                409,
                f"nobody is on call for {issue.project.name} now: assign error {issue.id} to a developer "
                "by id or e-mail, or add a level-1 on-call rotation for the project",
            )
        own = self.weight(issue)

        def load(developer_id: int) -> int:
            # The error itself does not count against whoever holds it now.
            return self.loads[developer_id] - (own if developer_id == issue.assignee_id else 0)

        return min(candidates, key=lambda d: (load(d), candidates.index(d)))

    def moved(self, issue: Issue, old: int | None, new: int | None) -> None:
        own = self.weight(issue)
        if old in self.loads:
            self.loads[old] -= own
        if new in self.loads:
            self.loads[new] += own
