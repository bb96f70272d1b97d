"""Who is on call: rotation shifts in wall-clock time, overrides on top, schedules by project or team."""

from __future__ import annotations

import datetime as dt
import heapq
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass, replace
from itertools import pairwise

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from db.models import (
    Developer,
    OncallOverride,
    OncallRotation,
    OncallSchedule,
    Project,
    RotationParticipant,
    Team,
)

MAX_SHIFT_HOURS = 8760  # a year

# Hand-offs and daylight saving time
#
# Shift k of a rotation starts at the local wall-clock time `start_date + handoff_time + k * shift_hours` in the
# rotation's time zone, so a 09:00 hand-off stays at 09:00 across DST changes and a shift spanning a change lasts
# an hour less or more. Local times that a change skips or repeats are read as RFC 5545 (iCalendar, which Grafana
# OnCall's schedules use) says, as java.time and Python's zoneinfo with fold=0 also do:
#
# - a time that does not exist (spring-forward gap) is read with the offset from before the gap, so it moves
#   later by the gap's length: a 02:30 Europe/Berlin hand-off on the last Sunday of March happens at 03:30 CEST,
#   and the previous shift goes on until then;
# - a time that occurs twice (fall-back) means its first occurrence: 02:30 on the last Sunday of October is
#   02:30 CEST (00:30 UTC), and that shift runs on through the repeated hour until the next hand-off.
#
# Hand-off instants never go backwards: where a gap is longer than a shift (2 hours in Antarctica/Troll, a whole
# day when Samoa crossed the date line in 2011), a start the gap pushed past a later shift's start is pulled back
# to it, and a shift left with no time at all is skipped: it is never on call.


class OncallError(ValueError):
    """An on-call schedule cannot be created, changed or read as asked; the message says why."""


@dataclass(frozen=True)
class Shift:
    """A stretch of the final timeline: one developer answering for one level of one schedule."""

    developer_id: int
    level: int
    starts_at: dt.datetime  # aware UTC
    ends_at: dt.datetime  # aware UTC
    source: str  # "rotation" or "override"
    schedule_id: int


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise OncallError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC") from None


def _utc(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise OncallError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise OncallError(f"{what} must be timezone-aware, got the naive {value.isoformat()}")
    return value.astimezone(dt.UTC)


def _check_level(level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise OncallError(f"level must be a whole number from 1 (primary), got {level!r}")


class _Clock:
    """The hand-off instants of one rotation, computed from its index rather than by walking from the start."""

    def __init__(self, rotation: OncallRotation) -> None:
        self.zone = _zone(rotation.timezone)
        self.origin = dt.datetime.combine(rotation.start_date, rotation.handoff_time)
        self.step = dt.timedelta(hours=rotation.shift_hours)
        # Walking a timeline asks for each boundary several times (a shift's end is the next one's start).
        self._boundaries: dict[int, dt.datetime] = {}

    def wall(self, k: int) -> dt.datetime:
        try:
            return self.origin + k * self.step
        except OverflowError:
            raise OncallError("the date is beyond the year 9999") from None

    def resolve(self, wall: dt.datetime, fold: int = 0) -> dt.datetime:
        try:
            return wall.replace(tzinfo=self.zone, fold=fold).astimezone(dt.UTC)  # fold=0: the RFC 5545 reading
        except OverflowError:
            raise OncallError("the date is beyond the year 9999") from None

    def boundary(self, k: int) -> dt.datetime:
        """When shift k starts (and shift k-1 ends), in UTC."""
        known = self._boundaries.get(k)
        if known is None:
            known = self._boundaries[k] = self._boundary(k)
        return known

    def _boundary(self, k: int) -> dt.datetime:
        wall = self.wall(k)
        instant = self.resolve(wall)
        if instant.astimezone(self.zone).replace(tzinfo=None) == wall:
            return instant
        # Inside a gap: later wall times just after it can land earlier than this one; take the earliest, so
        # boundaries never decrease. Only starts less than a gap's length later can, so this is a short loop.
        gap = instant - self.resolve(wall, fold=1)  # fold=1 reads it with the offset from after the gap
        j = k + 1
        while (later := self.wall(j)) < wall + gap:
            instant = min(instant, self.resolve(later))
            j += 1
        return instant

    def index_at(self, at: dt.datetime) -> int | None:
        """The shift covering `at`, or None before the first one."""
        if at < self.boundary(0):
            return None
        # The wall clock's distance from the origin is right to within the offset changes in between; the
        # correction steps fix that (and skip empty shifts) in a step or two.
        elapsed = at.astimezone(self.zone).replace(tzinfo=None) - self.origin
        k = max(0, elapsed // self.step)
        while k > 0 and self.boundary(k) > at:
            k -= 1
        while self.boundary(k + 1) <= at:
            k += 1
        return k


def rotation_shift_at(rotation: OncallRotation, at: dt.datetime) -> tuple[int, dt.datetime, dt.datetime] | None:
    """(index into rotation.participants, shift start, shift end) of the shift covering `at`; None before the
    rotation starts or when it has nobody in it."""
    at = _utc(at, "at")
    if not rotation.participants:
        return None
    clock = _Clock(rotation)
    k = clock.index_at(at)
    if k is None:
        return None
    return k % len(rotation.participants), clock.boundary(k), clock.boundary(k + 1)


@dataclass(frozen=True)
class _Cover:
    """A stretch where one override wins over every other override of its level."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    override: OncallOverride


def _override_layer(overrides: list[OncallOverride]) -> list[_Cover]:
    """Overlapping overrides flattened into disjoint covers, sorted; the most recently created one wins."""
    # Not yet flushed means just created, so newest. Ids, then list order, settle ties.
    ranked = sorted(
        range(len(overrides)),
        key=lambda i: (
            overrides[i].created_at is None,
            overrides[i].created_at or dt.datetime.min.replace(tzinfo=dt.UTC),
            overrides[i].id or 0,
            i,
        ),
    )
    rank = {i: r for r, i in enumerate(ranked)}
    spans = [(_utc(o.starts_at, "override start"), _utc(o.ends_at, "override end"), i) for i, o in enumerate(overrides)]
    spans = sorted(s for s in spans if s[0] < s[1])
    points = sorted({s[0] for s in spans} | {s[1] for s in spans})
    active: list[tuple[int, dt.datetime, int]] = []  # heap of (-rank, end, index): the winner on top
    covers: list[_Cover] = []
    following = 0
    for start, end in pairwise(points):
        while following < len(spans) and spans[following][0] <= start:
            _, span_end, i = spans[following]
            heapq.heappush(active, (-rank[i], span_end, i))
            following += 1
        while active and active[0][1] <= start:
            heapq.heappop(active)
        if not active:
            continue
        winner = overrides[active[0][2]]
        if covers and covers[-1].override is winner and covers[-1].ends_at == start:
            covers[-1] = replace(covers[-1], ends_at=end)
        else:
            covers.append(_Cover(start, end, winner))
    return covers


class Timeline:
    """One level of one schedule: the rotation with the overrides cut into it. Build it once and ask it many
    questions (instants are aware UTC datetimes): it remembers the hand-offs it has computed."""

    def __init__(self, schedule: OncallSchedule, level: int) -> None:
        _check_level(level)
        self.schedule_id = schedule.id
        self.level = level
        self.rotation = next((r for r in schedule.rotations if r.level == level and r.participants), None)
        self.clock = _Clock(self.rotation) if self.rotation is not None else None
        self.covers = _override_layer([o for o in schedule.overrides if o.level == level])
        self.cover_starts = [c.starts_at for c in self.covers]

    def at(self, t: dt.datetime) -> Shift | None:
        i = bisect_right(self.cover_starts, t) - 1
        if i >= 0 and t < self.covers[i].ends_at:
            cover = self.covers[i]
            return Shift(
                cover.override.developer_id, self.level, cover.starts_at, cover.ends_at, "override", self.schedule_id
            )
        if self.rotation is None or self.clock is None:
            return None
        k = self.clock.index_at(t)
        if k is None:
            return None
        start, end = self.clock.boundary(k), self.clock.boundary(k + 1)
        if i >= 0:
            start = max(start, self.covers[i].ends_at)
        if i + 1 < len(self.covers):
            end = min(end, self.covers[i + 1].starts_at)
        developer_id = self.rotation.participants[k % len(self.rotation.participants)].developer_id
        return Shift(developer_id, self.level, start, end, "rotation", self.schedule_id)

    def first_from(self, t: dt.datetime) -> Shift | None:
        """The stretch covering `t`, else the first one to begin after it."""
        current = self.at(t)
        if current is not None:
            return current
        # Nothing covers t, so the rotation (which never stops once begun) has not begun yet, if there is one.
        starts = []
        i = bisect_right(self.cover_starts, t)
        if i < len(self.covers):
            starts.append(self.covers[i].starts_at)
        if self.clock is not None:
            starts.append(self.clock.boundary(0))
        later = [s for s in starts if s > t]
        return self.at(min(later)) if later else None

    def after(self, t: dt.datetime) -> Shift | None:
        """The stretch after the one covering `t` (the first to begin after `t` if nobody is on call then)."""
        current = self.at(t)
        if current is None:
            return self.first_from(t)
        return self.first_from(current.ends_at)

    def between(self, start: dt.datetime, end: dt.datetime) -> list[Shift]:
        """Every stretch overlapping [start, end), whole, in order."""
        shifts = []
        shift = self.first_from(start)
        while shift is not None and shift.starts_at < end:
            shifts.append(shift)
            shift = self.first_from(shift.ends_at)
        return shifts


def on_call_at(schedule: OncallSchedule, at: dt.datetime, level: int = 1) -> Shift | None:
    """Who answers for `level` of `schedule` at `at`: an override if one covers it, else the rotation."""
    return Timeline(schedule, level).at(_utc(at, "at"))


def next_handoff(schedule: OncallSchedule, at: dt.datetime, level: int = 1) -> Shift | None:
    """The stretch after the one covering `at` (the first to begin after `at` if nobody is on call then). It may
    be the same developer again, e.g. in a one-person rotation or after an override they took themselves."""
    return Timeline(schedule, level).after(_utc(at, "at"))


def shifts_between(schedule: OncallSchedule, start: dt.datetime, end: dt.datetime, level: int = 1) -> list[Shift]:
    """The final timeline from `start` to `end`: every stretch overlapping it, whole (the first may begin before
    `start`, the last end after `end`), rotation shifts cut where overrides cover them; gaps where nobody is."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise OncallError(f"the end {end.isoformat()} must be after the start {start.isoformat()}")
    return Timeline(schedule, level).between(start, end)


def _loaded_schedules(session: Session, *conditions: ColumnElement[bool]) -> list[OncallSchedule]:
    query = (
        select(OncallSchedule)
        .where(*conditions)
        .order_by(OncallSchedule.id)
        .options(
            selectinload(OncallSchedule.rotations).selectinload(OncallRotation.participants),
            selectinload(OncallSchedule.overrides),
        )
        # Sessions here keep objects after commit: reload, so rows added without the relationships count.
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def all_schedules(session: Session) -> list[OncallSchedule]:
    """Every schedule with its rotations and overrides, oldest first."""
    return _loaded_schedules(session)


def schedules_for_project(session: Session, project_id: int) -> list[OncallSchedule]:
    """The project's own schedules, then its team's (those scoped to the team and no project), oldest first."""
    project = session.get(Project, project_id)
    if project is None:
        raise OncallError(f"no project with id {project_id}")
    schedules = _loaded_schedules(session, OncallSchedule.project_id == project_id)
    if project.team_id is not None:
        schedules += _loaded_schedules(
            session, OncallSchedule.team_id == project.team_id, OncallSchedule.project_id.is_(None)
        )
    return schedules


def _first_on_call(schedules: list[OncallSchedule], at: dt.datetime, level: int) -> Shift | None:
    for schedule in schedules:
        shift = on_call_at(schedule, at, level)
        if shift is not None:
            return shift
    return None


def on_call_for_project(session: Session, project_id: int, at: dt.datetime, level: int = 1) -> Shift | None:
    """Who answers for a project: its own schedules first; its team's when none of those has anybody."""
    return _first_on_call(schedules_for_project(session, project_id), _utc(at, "at"), level)


def on_call_for_team(session: Session, team_id: int, at: dt.datetime, level: int = 1) -> Shift | None:
    if session.get(Team, team_id) is None:
        raise OncallError(f"no team with id {team_id}")
    schedules = _loaded_schedules(session, OncallSchedule.team_id == team_id, OncallSchedule.project_id.is_(None))
    return _first_on_call(schedules, _utc(at, "at"), level)


def _check_developers(session: Session, ids: list[int]) -> None:
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise OncallError(f"developers are given by their numeric id, got {ids!r}")
    found = {d.id: d for d in session.scalars(select(Developer).where(Developer.id.in_(set(ids))))}
    missing = sorted(set(ids) - found.keys())
    if missing:
        raise OncallError(f"no developer with id {', '.join(map(str, missing))}")
    inactive = sorted(i for i, d in found.items() if not d.is_active)
    if inactive:
        raise OncallError(f"developer {', '.join(map(str, inactive))} is inactive and cannot be on call")


def _schedule_for(session: Session, name: str, project_id: int | None, team_id: int | None) -> OncallSchedule:
    """The schedule called `name`, created for the project or team when missing."""
    if project_id is not None and team_id is not None:
        raise OncallError("a schedule belongs to a project or to a team, not both: give project_id or team_id")
    schedule = session.scalars(
        select(OncallSchedule)
        .where(OncallSchedule.name == name)
        .options(selectinload(OncallSchedule.rotations))
        .execution_options(populate_existing=True)
    ).first()
    if schedule is not None:
        if (project_id is not None and schedule.project_id != project_id) or (
            team_id is not None and schedule.team_id != team_id
        ):
            owner = f"project {schedule.project_id}" if schedule.project_id is not None else f"team {schedule.team_id}"
            raise OncallError(f"schedule {name!r} already exists and belongs to {owner}")
        return schedule
    if project_id is None and team_id is None:
        raise OncallError(f"schedule {name!r} does not exist: give project_id or team_id to create it")
    if project_id is not None and session.get(Project, project_id) is None:
        raise OncallError(f"no project with id {project_id}")
    if team_id is not None and session.get(Team, team_id) is None:
        raise OncallError(f"no team with id {team_id}")
    schedule = OncallSchedule(name=name, project_id=project_id, team_id=team_id)
    session.add(schedule)
    return schedule


def create_rotation(
    session: Session,
    *,
    schedule_name: str,
    project_id: int | None = None,
    team_id: int | None = None,
    level: int = 1,
    participant_ids: list[int],
    start_date: dt.date,
    handoff_time: dt.time,
    timezone: str,
    shift_hours: int,
) -> OncallRotation:
    """Set the rotation for one level of a schedule, creating the schedule (for exactly one project or team) if
    it does not exist and replacing the level's previous rotation if it does. Participants take turns in order."""
    name = schedule_name.strip()
    if not name or len(name) > 100:
        raise OncallError("a schedule needs a name of 1-100 characters")
    _check_level(level)
    _zone(timezone)
    if len(timezone) > 64:
        raise OncallError(f"unknown time zone {timezone!r}: names are at most 64 characters")
    if isinstance(shift_hours, bool) or not isinstance(shift_hours, int) or not 1 <= shift_hours <= MAX_SHIFT_HOURS:
        raise OncallError(f"shift_hours must be a whole number from 1 to {MAX_SHIFT_HOURS}, got {shift_hours!r}")
    if isinstance(start_date, dt.datetime) or not isinstance(start_date, dt.date):
        raise OncallError(f"start_date must be a date (the hand-off time is separate), got {start_date!r}")
    if not isinstance(handoff_time, dt.time) or handoff_time.tzinfo is not None:
        raise OncallError(
            f"handoff_time must be a wall-clock time without a time zone (the rotation has one), got {handoff_time!r}"
        )
    if not participant_ids:
        raise OncallError("a rotation needs at least one participant")
    _check_developers(session, participant_ids)

    schedule = _schedule_for(session, name, project_id, team_id)
    previous = next((r for r in schedule.rotations if r.level == level), None)
    if previous is not None:
        schedule.rotations.remove(previous)
        # Delete before inserting: the unit of work would insert first and trip the (schedule, level) key.
        session.flush()
    rotation = OncallRotation(
        level=level,
        start_date=start_date,
        handoff_time=handoff_time,
        timezone=timezone,
        shift_hours=shift_hours,
        participants=[RotationParticipant(position=i, developer_id=d) for i, d in enumerate(participant_ids)],
    )
    schedule.rotations.append(rotation)
    session.flush()
    return rotation


def add_override(
    session: Session,
    schedule: OncallSchedule,
    developer_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    level: int = 1,
    reason: str | None = None,
) -> OncallOverride:
    """Put `developer_id` on call for `level` of `schedule` from `starts_at` to `ends_at`. Where overrides
    overlap, the one added last wins."""
    _check_level(level)
    starts_at, ends_at = _utc(starts_at, "starts_at"), _utc(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise OncallError(
            f"an override must end after it starts: {ends_at.isoformat()} is not after {starts_at.isoformat()}"
        )
    _check_developers(session, [developer_id])
    override = OncallOverride(
        level=level,
        developer_id=developer_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=(reason or "").strip() or None,
    )
    schedule.overrides.append(override)
    session.flush()
    return override
