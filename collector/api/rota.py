"""On-call state of schedules loaded once: who is on per schedule and level at an instant, and who is next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from db.models import OncallOverride, OncallRotation, OncallSchedule, RotationParticipant
from db.oncall import OncallError, Shift, Timeline

# How far ahead a developer's next shift is looked for: a rotation's whole cycle, but never more than this.
MAX_LOOKAHEAD = dt.timedelta(days=731)


def load_schedules(
    session: Session, *conditions: ColumnElement[bool], with_developers: bool = False
) -> list[OncallSchedule]:
    """Schedules with their rotations, participants and overrides, in a fixed number of queries."""
    participants = selectinload(OncallSchedule.rotations).selectinload(OncallRotation.participants)
    overrides = selectinload(OncallSchedule.overrides)
    options = [participants, overrides]
    if with_developers:
        options = [
            participants.selectinload(RotationParticipant.developer),
            overrides.selectinload(OncallOverride.developer),
        ]
    query = select(OncallSchedule).where(*conditions).order_by(OncallSchedule.id).options(*options)
    # Objects may linger in the session from earlier in the request: reload so the collections are current.
    return list(session.scalars(query.execution_options(populate_existing=True)))


def levels_of(schedule: OncallSchedule, at: dt.datetime) -> list[int]:
    """Levels somebody can answer for at or after `at`: those with a staffed rotation or an override to come."""
    staffed = {r.level for r in schedule.rotations if r.participants}
    return sorted(staffed | {o.level for o in schedule.overrides if o.ends_at > at})


class Timelines:
    """Each (schedule, level)'s timeline, built once per request: the on-call states and the next shifts ask the same
    timelines, and each remembers the hand-offs it has computed."""

    def __init__(self) -> None:
        self._built: dict[tuple[int, int], Timeline | None] = {}

    def of(self, schedule: OncallSchedule, level: int) -> Timeline | None:
        key = (id(schedule), level)
        if key not in self._built:
            try:
                self._built[key] = Timeline(schedule, level)
            except OncallError:
                self._built[key] = None
        return self._built[key]


@dataclass(frozen=True)
class LevelState:
    schedule: OncallSchedule
    level: int
    current: Shift | None
    upcoming: Shift | None  # the stretch after the current one, or the first to come if nobody is on now


def _shift(find: Callable[[dt.datetime], Shift | None] | None, at: dt.datetime) -> Shift | None:
    if find is None:
        return None
    try:
        return find(at)
    except OncallError:  # a rotation reaching past the year 9999 (dates typed by hand): nobody that far out
        return None


def level_states(schedule: OncallSchedule, at: dt.datetime, timelines: Timelines | None = None) -> list[LevelState]:
    """Who is on call now and next for each level of `schedule`; `at` is aware UTC."""
    timelines = timelines or Timelines()
    states = []
    for level in levels_of(schedule, at):
        timeline = timelines.of(schedule, level)
        current = _shift(timeline.at if timeline else None, at)
        states.append(LevelState(schedule, level, current, _shift(timeline.after if timeline else None, at)))
    return states


def pick_level(states: Iterable[LevelState]) -> LevelState | None:
    """Of one level's states in schedule order, the one that pages: the first with somebody on call (as
    db.oncall.on_call_for_project picks), else the one whose next shift comes first."""
    states = list(states)
    for state in states:
        if state.current is not None:
            return state
    waiting = [(s.upcoming.starts_at, i, s) for i, s in enumerate(states) if s.upcoming is not None]
    return min(waiting)[2] if waiting else None


def _lookahead(schedule: OncallSchedule, level: int) -> dt.timedelta:
    rotation = next((r for r in schedule.rotations if r.level == level and r.participants), None)
    if rotation is None:
        return dt.timedelta(0)
    # One full cycle plus a shift reaches everybody's next turn, DST changes included.
    return min(MAX_LOOKAHEAD, dt.timedelta(hours=rotation.shift_hours * (len(rotation.participants) + 1)))


def next_shift_starts(
    schedules: Iterable[OncallSchedule], at: dt.datetime, timelines: Timelines | None = None
) -> dict[int, dt.datetime]:
    """Developer id -> when their next stretch on call begins (after `at`, aware UTC), over every schedule and
    level. A stretch that only continues one they are already on (an override they took running into their own
    rotation shift) is not a new start. Everybody's next turn lies within one cycle of the rotation, so this reads
    one cycle of shifts per level, found by index from `at` (never walked from the rotation's start)."""
    timelines = timelines or Timelines()
    starts: dict[int, dt.datetime] = {}

    def offer(developer_id: int, when: dt.datetime) -> None:
        if when > at and (developer_id not in starts or when < starts[developer_id]):
            starts[developer_id] = when

    for schedule in schedules:
        for level in levels_of(schedule, at):
            timeline = timelines.of(schedule, level)
            lookahead = _lookahead(schedule, level)
            previous: Shift | None = None
            try:
                shifts = timeline.between(at, at + lookahead) if lookahead and timeline else []
            except (OncallError, OverflowError):
                shifts = []
            for shift in shifts:
                continues = (
                    previous is not None
                    and previous.developer_id == shift.developer_id
                    and previous.ends_at == shift.starts_at
                )
                if not continues:
                    offer(shift.developer_id, shift.starts_at)
                previous = shift
            # Overrides beyond the rotation's cycle (a holiday cover booked months ahead).
            for override in schedule.overrides:
                if override.level == level and override.starts_at > at + lookahead:
                    cover = _shift(timeline.at if timeline else None, override.starts_at.astimezone(dt.UTC))
                    if cover is not None and cover.developer_id == override.developer_id:
                        offer(cover.developer_id, cover.starts_at)
    return starts
