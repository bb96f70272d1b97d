import datetime as dt
import random
from bisect import bisect_right
from zoneinfo import ZoneInfo

import pytest

from db import oncall
from db.models import OncallOverride, OncallRotation, OncallSchedule, RotationParticipant, Team
from db.oncall import (
    OncallError,
    Shift,
    add_override,
    create_rotation,
    next_handoff,
    on_call_at,
    on_call_for_project,
    on_call_for_team,
    rotation_shift_at,
    schedules_for_project,
    shifts_between,
)
from tests.db.factories import make_developer, make_project

UTC = dt.UTC
ANA, BEN, CAT, DAN = 11, 12, 13, 14


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def make_rotation(
    participants=(ANA, BEN, CAT),
    *,
    start=dt.date(2024, 1, 1),  # a Monday
    handoff=dt.time(9),
    tz="Europe/Berlin",
    hours=168,
    level=1,
) -> OncallRotation:
    return OncallRotation(
        level=level,
        start_date=start,
        handoff_time=handoff,
        timezone=tz,
        shift_hours=hours,
        participants=[RotationParticipant(position=i, developer_id=d) for i, d in enumerate(participants)],
    )


def make_schedule(*rotations: OncallRotation, overrides=()) -> OncallSchedule:
    return OncallSchedule(id=7, name="pure", project_id=1, rotations=list(rotations), overrides=list(overrides))


def make_override(developer_id, starts_at, ends_at, level=1) -> OncallOverride:
    return OncallOverride(level=level, developer_id=developer_id, starts_at=starts_at, ends_at=ends_at)


def starts(shifts: list[Shift]) -> list[dt.datetime]:
    return [s.starts_at for s in shifts]


def who(shifts: list[Shift]) -> list[int]:
    return [s.developer_id for s in shifts]


def make_team(session, name="payments") -> Team:
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team


# Rotations without DST trouble


def test_weekly_rotation_of_three_takes_turns():
    schedule = make_schedule(make_rotation())
    # Berlin is UTC+1 in winter: Monday 09:00 local is 08:00 UTC.
    assert rotation_shift_at(schedule.rotations[0], utc(2024, 1, 1, 8)) == (0, utc(2024, 1, 1, 8), utc(2024, 1, 8, 8))
    assert on_call_at(schedule, utc(2024, 1, 8, 7, 59)).developer_id == ANA
    assert on_call_at(schedule, utc(2024, 1, 8, 8)).developer_id == BEN
    assert on_call_at(schedule, utc(2024, 1, 20)).developer_id == CAT
    assert on_call_at(schedule, utc(2024, 1, 22, 8)) == Shift(
        ANA, 1, utc(2024, 1, 22, 8), utc(2024, 1, 29, 8), "rotation", 7
    )


def test_nobody_before_the_rotation_starts():
    rotation = make_rotation()
    assert rotation_shift_at(rotation, utc(2024, 1, 1, 7, 59, 59)) is None
    assert on_call_at(make_schedule(rotation), utc(2023, 6, 1)) is None
    assert next_handoff(make_schedule(rotation), utc(2023, 6, 1)).starts_at == utc(2024, 1, 1, 8)


def test_a_rotation_with_nobody_in_it_has_nobody_on_call():
    rotation = make_rotation(participants=())
    assert rotation_shift_at(rotation, utc(2024, 2, 1)) is None
    assert on_call_at(make_schedule(rotation), utc(2024, 2, 1)) is None
    assert shifts_between(make_schedule(rotation), utc(2024, 1, 1), utc(2024, 2, 1)) == []


def test_daily_rotation():
    schedule = make_schedule(make_rotation(hours=24, tz="UTC", start=dt.date(2024, 5, 1), handoff=dt.time(6, 15)))
    shifts = shifts_between(schedule, utc(2024, 5, 1, 12), utc(2024, 5, 4))
    assert who(shifts) == [ANA, BEN, CAT]
    assert starts(shifts) == [utc(2024, 5, 1, 6, 15), utc(2024, 5, 2, 6, 15), utc(2024, 5, 3, 6, 15)]
    assert shifts[-1].ends_at == utc(2024, 5, 4, 6, 15)  # whole shifts, not cut at the window


def test_twelve_hour_shifts():
    schedule = make_schedule(
        make_rotation((ANA, BEN), hours=12, tz="UTC", start=dt.date(2024, 5, 1), handoff=dt.time(8))
    )
    shifts = shifts_between(schedule, utc(2024, 5, 1, 8), utc(2024, 5, 2, 8))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2024, 5, 1, 8), utc(2024, 5, 1, 20)),
        (BEN, utc(2024, 5, 1, 20), utc(2024, 5, 2, 8)),
    ]
    assert on_call_at(schedule, utc(2024, 5, 9, 19)).developer_id == ANA


def test_a_window_ending_where_a_shift_starts_excludes_it():
    schedule = make_schedule(make_rotation(hours=24, tz="UTC", start=dt.date(2024, 5, 1), handoff=dt.time(0)))
    assert who(shifts_between(schedule, utc(2024, 5, 1), utc(2024, 5, 2))) == [ANA]


# Daylight saving time


@pytest.mark.parametrize(
    ("tz", "start", "expected", "spanning_hours"),
    [
        # Berlin springs forward on 2024-03-31: 09:00 CET is 08:00Z, 09:00 CEST is 07:00Z.
        ("Europe/Berlin", dt.date(2024, 3, 29), [utc(2024, 3, 29, 8), utc(2024, 3, 30, 8), utc(2024, 3, 31, 7)], 23),
        # ... and falls back on 2024-10-27.
        (
            "Europe/Berlin",
            dt.date(2024, 10, 25),
            [utc(2024, 10, 25, 7), utc(2024, 10, 26, 7), utc(2024, 10, 27, 8)],
            25,
        ),
        # New York springs forward on 2024-03-10 (EST -5 to EDT -4) and falls back on 2024-11-03.
        ("America/New_York", dt.date(2024, 3, 8), [utc(2024, 3, 8, 14), utc(2024, 3, 9, 14), utc(2024, 3, 10, 13)], 23),
        (
            "America/New_York",
            dt.date(2024, 11, 1),
            [utc(2024, 11, 1, 13), utc(2024, 11, 2, 13), utc(2024, 11, 3, 14)],
            25,
        ),
    ],
)
def test_daily_handoff_stays_at_nine_local(tz, start, expected, spanning_hours):
    schedule = make_schedule(make_rotation(hours=24, tz=tz, start=start))
    shifts = shifts_between(schedule, expected[0], expected[-1] + dt.timedelta(minutes=1))
    assert starts(shifts) == expected
    assert [s.ends_at - s.starts_at for s in shifts] == [dt.timedelta(hours=h) for h in (24, spanning_hours, 24)]


def test_weekly_monday_handoff_across_berlin_changes():
    schedule = make_schedule(make_rotation(start=dt.date(2024, 3, 25)))
    spring = shifts_between(schedule, utc(2024, 3, 25, 8), utc(2024, 4, 2))
    assert starts(spring) == [utc(2024, 3, 25, 8), utc(2024, 4, 1, 7)]
    assert spring[0].ends_at - spring[0].starts_at == dt.timedelta(hours=167)
    autumn = shifts_between(schedule, utc(2024, 10, 21, 7), utc(2024, 10, 29))
    assert starts(autumn) == [utc(2024, 10, 21, 7), utc(2024, 10, 28, 8)]
    assert autumn[0].ends_at - autumn[0].starts_at == dt.timedelta(hours=169)
    assert dt.datetime.fromtimestamp(autumn[1].starts_at.timestamp(), ZoneInfo("Europe/Berlin")).hour == 9


def test_twelve_hour_shifts_across_the_spring_change():
    schedule = make_schedule(make_rotation((ANA, BEN), hours=12, start=dt.date(2024, 3, 30), handoff=dt.time(8)))
    shifts = shifts_between(schedule, utc(2024, 3, 30, 7), utc(2024, 3, 31, 19))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2024, 3, 30, 7), utc(2024, 3, 30, 19)),
        (BEN, utc(2024, 3, 30, 19), utc(2024, 3, 31, 6)),  # the night shift loses the skipped hour
        (ANA, utc(2024, 3, 31, 6), utc(2024, 3, 31, 18)),
        (BEN, utc(2024, 3, 31, 18), utc(2024, 4, 1, 6)),
    ]


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # 02:30 does not exist on 2024-03-31 in Berlin: it is read as 02:30 CET = 01:30Z (03:30 CEST).
        (
            "Europe/Berlin",
            dt.date(2024, 3, 30),
            [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)],
        ),
        # 02:30 on 2024-03-10 in New York: 02:30 EST = 07:30Z (03:30 EDT).
        (
            "America/New_York",
            dt.date(2024, 3, 9),
            [utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 30), utc(2024, 3, 11, 6, 30)],
        ),
    ],
)
def test_handoff_inside_the_spring_gap_moves_later_by_the_gap(tz, start, expected):
    schedule = make_schedule(make_rotation(hours=24, tz=tz, start=start, handoff=dt.time(2, 30)))
    shifts = shifts_between(schedule, expected[0], expected[-1] + dt.timedelta(minutes=1))
    assert starts(shifts) == expected
    assert who(shifts) == [ANA, BEN, CAT]
    # 03:10 local comes after the gap but before the delayed hand-off: still the previous shift.
    assert on_call_at(schedule, expected[1] - dt.timedelta(minutes=20)).developer_id == ANA


@pytest.mark.parametrize(
    ("tz", "start", "handoff", "expected"),
    [
        # 02:30 happens twice on 2024-10-27 in Berlin; the first (CEST, 00:30Z) is the hand-off.
        (
            "Europe/Berlin",
            dt.date(2024, 10, 26),
            dt.time(2, 30),
            [utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)],
        ),
        # 01:30 happens twice on 2024-11-03 in New York; the first (EDT, 05:30Z) is the hand-off.
        (
            "America/New_York",
            dt.date(2024, 11, 2),
            dt.time(1, 30),
            [utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)],
        ),
    ],
)
def test_handoff_in_the_repeated_hour_is_its_first_occurrence(tz, start, handoff, expected):
    schedule = make_schedule(make_rotation(hours=24, tz=tz, start=start, handoff=handoff))
    shifts = shifts_between(schedule, expected[0], expected[-1] + dt.timedelta(minutes=1))
    assert starts(shifts) == expected
    assert shifts[1].ends_at - shifts[1].starts_at == dt.timedelta(hours=25)
    # The second pass through the repeated hour stays with whoever took over at the first.
    # 40 minutes after the hand-off the clock reads 20 minutes before it again; the shift does not go back.
    second_pass = expected[1] + dt.timedelta(minutes=40)
    assert on_call_at(schedule, second_pass).developer_id == BEN


def test_hourly_shift_that_does_not_exist_is_skipped():
    # Berlin 2024-03-31: wall 02:00-03:00 does not exist, so the third participant's hour is empty.
    schedule = make_schedule(
        make_rotation((ANA, BEN, CAT, DAN), hours=1, start=dt.date(2024, 3, 31), handoff=dt.time(0))
    )
    shifts = shifts_between(schedule, utc(2024, 3, 30, 23), utc(2024, 3, 31, 2))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2024, 3, 30, 23), utc(2024, 3, 31, 0)),
        (BEN, utc(2024, 3, 31, 0), utc(2024, 3, 31, 1)),
        (DAN, utc(2024, 3, 31, 1), utc(2024, 3, 31, 2)),
    ]


def test_handoffs_never_go_backwards_in_a_gap_longer_than_a_shift():
    # Antarctica/Troll jumps from +00 to +02 at 01:00Z on 2024-03-31: wall 01:00-03:00 does not exist.
    schedule = make_schedule(
        make_rotation(
            (ANA, BEN, CAT, DAN), hours=1, tz="Antarctica/Troll", start=dt.date(2024, 3, 31), handoff=dt.time(0, 30)
        )
    )
    shifts = shifts_between(schedule, utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 3))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30)),
        (DAN, utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 2, 30)),  # wall 03:30, the first start after the gap
        (ANA, utc(2024, 3, 31, 2, 30), utc(2024, 3, 31, 3, 30)),
    ]
    for shift in shifts:
        assert on_call_at(schedule, shift.starts_at) == shift


def test_a_whole_skipped_day_keeps_the_timeline_in_order():
    # Samoa skipped 2011-12-30 (-10 to +14 at 10:00Z). Wall starts from Dec 30 01:00 to 21:00 do not exist: the
    # first reads as Dec 31 01:00 (+14) and runs until the first real start, Dec 31 02:00; the others are empty.
    schedule = make_schedule(
        make_rotation((ANA, BEN, CAT, DAN), hours=5, tz="Pacific/Apia", start=dt.date(2011, 12, 29), handoff=dt.time(0))
    )
    shifts = shifts_between(schedule, utc(2011, 12, 30, 6), utc(2011, 12, 30, 22))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2011, 12, 30, 6), utc(2011, 12, 30, 11)),  # Dec 29 20:00 -10
        (BEN, utc(2011, 12, 30, 11), utc(2011, 12, 30, 12)),
        (CAT, utc(2011, 12, 30, 12), utc(2011, 12, 30, 17)),  # Dec 31 02:00 +14, the 10th shift
        (DAN, utc(2011, 12, 30, 17), utc(2011, 12, 30, 22)),
    ]
    at = utc(2011, 12, 29, 10)  # the first hand-off, Dec 29 00:00 -10
    while at < utc(2012, 1, 1):
        _, start, end = rotation_shift_at(schedule.rotations[0], at)
        assert start <= at < end
        at += dt.timedelta(minutes=20)


@pytest.mark.parametrize(
    ("tz", "hours"), [("Europe/Berlin", 24), ("America/New_York", 12), ("Europe/Berlin", 168), ("America/New_York", 5)]
)
def test_agrees_with_walking_every_handoff(tz, hours):
    rotation = make_rotation(hours=hours, tz=tz, start=dt.date(2023, 1, 1), handoff=dt.time(2, 30))
    zone = ZoneInfo(tz)
    origin = dt.datetime.combine(rotation.start_date, rotation.handoff_time)
    walked = [
        (origin + k * dt.timedelta(hours=hours)).replace(tzinfo=zone).astimezone(UTC) for k in range(3 * 8784 // hours)
    ]
    rng = random.Random(hours)
    for _ in range(500):
        at = walked[0] + dt.timedelta(seconds=rng.randrange(int((walked[-1] - walked[0]).total_seconds())))
        k = bisect_right(walked, at) - 1
        assert rotation_shift_at(rotation, at) == (k % 3, walked[k], walked[k + 1])


def test_years_later_is_computed_not_walked(monkeypatch):
    rotation = make_rotation(hours=168)
    # 2040-07-02 is a Monday in summer: the hand-off is 09:00 CEST = 07:00Z.
    weeks = (dt.date(2040, 7, 2) - dt.date(2024, 1, 1)).days // 7
    assert rotation_shift_at(rotation, utc(2040, 7, 4)) == (weeks % 3, utc(2040, 7, 2, 7), utc(2040, 7, 9, 7))

    hourly = make_rotation(hours=1, tz="America/New_York")
    calls = 0
    original = oncall._Clock.boundary

    def counting(self, k):
        nonlocal calls
        calls += 1
        return original(self, k)

    monkeypatch.setattr(oncall._Clock, "boundary", counting)
    # 2090-11-05 is New York's fall-back day: 06:20Z is 01:20 EST, the second pass through 01:00-02:00, so it
    # belongs to the shift that began at the first 01:00 (EDT, 05:00Z) and lasts two real hours.
    hours = (dt.datetime(2090, 11, 5, 1) - dt.datetime(2024, 1, 1, 9)) // dt.timedelta(hours=1)
    assert rotation_shift_at(hourly, utc(2090, 11, 5, 6, 20)) == (hours % 3, utc(2090, 11, 5, 5), utc(2090, 11, 5, 7))
    assert calls < 10  # against over half a million hours in between


# Overrides


def test_partial_override_cuts_a_shift_in_three():
    override = make_override(DAN, utc(2024, 1, 3, 12), utc(2024, 1, 4, 12))
    schedule = make_schedule(make_rotation(), overrides=[override])
    shifts = shifts_between(schedule, utc(2024, 1, 1, 8), utc(2024, 1, 8, 8))
    assert [(s.developer_id, s.source, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, "rotation", utc(2024, 1, 1, 8), utc(2024, 1, 3, 12)),
        (DAN, "override", utc(2024, 1, 3, 12), utc(2024, 1, 4, 12)),
        (ANA, "rotation", utc(2024, 1, 4, 12), utc(2024, 1, 8, 8)),
    ]
    assert on_call_at(schedule, utc(2024, 1, 4)).developer_id == DAN
    assert on_call_at(schedule, utc(2024, 1, 4, 12)).developer_id == ANA


def test_override_spanning_a_handoff():
    override = make_override(DAN, utc(2024, 1, 7), utc(2024, 1, 9))
    schedule = make_schedule(make_rotation(), overrides=[override])
    assert next_handoff(schedule, utc(2024, 1, 2)) == Shift(DAN, 1, utc(2024, 1, 7), utc(2024, 1, 9), "override", 7)
    assert next_handoff(schedule, utc(2024, 1, 8)) == Shift(BEN, 1, utc(2024, 1, 9), utc(2024, 1, 15, 8), "rotation", 7)
    shifts = shifts_between(schedule, utc(2024, 1, 6), utc(2024, 1, 10))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (ANA, utc(2024, 1, 1, 8), utc(2024, 1, 7)),
        (DAN, utc(2024, 1, 7), utc(2024, 1, 9)),
        (BEN, utc(2024, 1, 9), utc(2024, 1, 15, 8)),
    ]


def test_the_later_of_overlapping_overrides_wins():
    first = make_override(DAN, utc(2024, 1, 2), utc(2024, 1, 5))
    second = make_override(CAT, utc(2024, 1, 3), utc(2024, 1, 4))
    schedule = make_schedule(make_rotation(), overrides=[first, second])
    shifts = shifts_between(schedule, utc(2024, 1, 2), utc(2024, 1, 5))
    assert [(s.developer_id, s.starts_at, s.ends_at) for s in shifts] == [
        (DAN, utc(2024, 1, 2), utc(2024, 1, 3)),
        (CAT, utc(2024, 1, 3), utc(2024, 1, 4)),
        (DAN, utc(2024, 1, 4), utc(2024, 1, 5)),
    ]


def test_overrides_alone_cover_a_level_without_a_rotation():
    override = make_override(DAN, utc(2024, 6, 1), utc(2024, 6, 2), level=3)
    schedule = make_schedule(make_rotation(), overrides=[override])
    assert on_call_at(schedule, utc(2024, 5, 1), level=3) is None
    assert next_handoff(schedule, utc(2024, 5, 1), level=3).starts_at == utc(2024, 6, 1)
    assert on_call_at(schedule, utc(2024, 6, 1, 12), level=3).developer_id == DAN
    assert next_handoff(schedule, utc(2024, 6, 1, 12), level=3) is None
    assert on_call_at(schedule, utc(2024, 6, 1, 12), level=1).developer_id != DAN


def test_levels_are_separate():
    primary = make_rotation((ANA, BEN), level=1)
    secondary = make_rotation((CAT, DAN), level=2, hours=24)
    override = make_override(ANA, utc(2024, 1, 2), utc(2024, 1, 3), level=2)
    schedule = make_schedule(primary, secondary, overrides=[override])
    assert on_call_at(schedule, utc(2024, 1, 2, 12), level=1).developer_id == ANA
    assert on_call_at(schedule, utc(2024, 1, 2, 12), level=2) == Shift(
        ANA, 2, utc(2024, 1, 2), utc(2024, 1, 3), "override", 7
    )
    assert on_call_at(schedule, utc(2024, 1, 3, 12), level=2).developer_id == CAT  # daily: CAT, DAN, CAT...
    assert on_call_at(schedule, utc(2024, 1, 4, 12), level=2).developer_id == DAN
    assert on_call_at(schedule, utc(2024, 1, 3, 12), level=1).developer_id == ANA


def test_bad_arguments_are_refused():
    schedule = make_schedule(make_rotation())
    with pytest.raises(OncallError, match="at must be timezone-aware"):
        on_call_at(schedule, dt.datetime(2024, 1, 2))
    with pytest.raises(OncallError, match=r"end .* must be after the start"):
        shifts_between(schedule, utc(2024, 1, 2), utc(2024, 1, 1))
    with pytest.raises(OncallError, match="level must be"):
        on_call_at(schedule, utc(2024, 1, 2), level=0)


# Through the database, on SQLite and PostgreSQL


def test_create_rotation_and_read_it_back(db_session):
    project = make_project(db_session)
    ana, ben, cat = (make_developer(db_session) for _ in range(3))
    rotation = create_rotation(
        db_session,
        schedule_name="payments primary",
        project_id=project.id,
        participant_ids=[ana.id, ben.id, cat.id],
        start_date=dt.date(2024, 3, 25),
        handoff_time=dt.time(9),
        timezone="Europe/Berlin",
        shift_hours=168,
    )
    db_session.commit()
    db_session.expunge_all()

    [schedule] = schedules_for_project(db_session, project.id)
    assert schedule.id == rotation.schedule_id and schedule.project_id == project.id
    assert on_call_for_project(db_session, project.id, utc(2024, 4, 1, 6, 59)).developer_id == ana.id
    assert on_call_for_project(db_session, project.id, utc(2024, 4, 1, 7)) == Shift(
        ben.id, 1, utc(2024, 4, 1, 7), utc(2024, 4, 8, 7), "rotation", schedule.id
    )
    assert on_call_for_project(db_session, project.id, utc(2024, 4, 1), level=2) is None


def test_create_rotation_replaces_the_level(db_session):
    project = make_project(db_session)
    ana, ben = make_developer(db_session), make_developer(db_session)
    common = dict(
        schedule_name="ops",
        project_id=project.id,
        start_date=dt.date(2024, 1, 1),
        handoff_time=dt.time(9),
        timezone="UTC",
    )
    create_rotation(db_session, participant_ids=[ana.id], shift_hours=24, **common)
    create_rotation(db_session, participant_ids=[ben.id], shift_hours=24, level=2, **common)
    create_rotation(db_session, participant_ids=[ben.id, ana.id], shift_hours=12, **common)
    db_session.commit()
    db_session.expunge_all()

    [schedule] = schedules_for_project(db_session, project.id)
    assert sorted((r.level, r.shift_hours) for r in schedule.rotations) == [(1, 12), (2, 24)]
    assert on_call_at(schedule, utc(2024, 1, 1, 10)).developer_id == ben.id
    assert on_call_at(schedule, utc(2024, 1, 1, 22)).developer_id == ana.id


def test_overrides_through_the_database(db_session):
    project = make_project(db_session)
    ana, ben, dan = (make_developer(db_session) for _ in range(3))
    rotation = create_rotation(
        db_session,
        schedule_name="ops",
        project_id=project.id,
        participant_ids=[ana.id, ben.id],
        start_date=dt.date(2024, 10, 21),
        handoff_time=dt.time(9),
        timezone="Europe/Berlin",
        shift_hours=168,
    )
    schedule = rotation.schedule
    # Dan covers the hand-off across the fall-back change (Monday 2024-10-28 09:00 CET = 08:00Z); Ben then takes
    # back one afternoon in the middle of it.
    add_override(db_session, schedule, dan.id, utc(2024, 10, 27), utc(2024, 10, 30), reason=" swap ")
    add_override(db_session, schedule, ben.id, utc(2024, 10, 28, 12), utc(2024, 10, 28, 18))
    db_session.commit()
    db_session.expunge_all()

    [schedule] = schedules_for_project(db_session, project.id)
    assert [o.reason for o in schedule.overrides] == ["swap", None]
    shifts = shifts_between(schedule, utc(2024, 10, 26), utc(2024, 11, 1))
    assert [(s.developer_id, s.source, s.starts_at, s.ends_at) for s in shifts] == [
        (ana.id, "rotation", utc(2024, 10, 21, 7), utc(2024, 10, 27)),
        (dan.id, "override", utc(2024, 10, 27), utc(2024, 10, 28, 12)),
        (ben.id, "override", utc(2024, 10, 28, 12), utc(2024, 10, 28, 18)),
        (dan.id, "override", utc(2024, 10, 28, 18), utc(2024, 10, 30)),
        (ben.id, "rotation", utc(2024, 10, 30), utc(2024, 11, 4, 8)),
    ]


def test_rows_added_without_the_helpers_are_seen(db_session):
    project = make_project(db_session)
    ana, dan = make_developer(db_session), make_developer(db_session)
    rotation = create_rotation(
        db_session,
        schedule_name="ops",
        project_id=project.id,
        participant_ids=[ana.id],
        start_date=dt.date(2024, 1, 1),
        handoff_time=dt.time(9),
        timezone="UTC",
        shift_hours=24,
    )
    db_session.commit()
    assert on_call_for_project(db_session, project.id, utc(2024, 1, 2)).developer_id == ana.id
    db_session.add(
        OncallOverride(
            schedule_id=rotation.schedule_id, developer_id=dan.id, starts_at=utc(2024, 1, 2), ends_at=utc(2024, 1, 3)
        )
    )
    db_session.commit()
    assert on_call_for_project(db_session, project.id, utc(2024, 1, 2)).developer_id == dan.id


def test_team_schedule_serves_projects_without_their_own(db_session):
    team = make_team(db_session)
    ana, ben, cat = (make_developer(db_session) for _ in range(3))
    shared = make_project(db_session, team_id=team.id)
    own = make_project(db_session, team_id=team.id)
    loner = make_project(db_session)
    common = dict(start_date=dt.date(2024, 1, 1), handoff_time=dt.time(0), timezone="UTC", shift_hours=24)
    create_rotation(db_session, schedule_name="team", team_id=team.id, participant_ids=[ana.id], **common)
    create_rotation(db_session, schedule_name="team", level=2, participant_ids=[cat.id], **common)
    create_rotation(db_session, schedule_name="own", project_id=own.id, participant_ids=[ben.id], **common)
    db_session.commit()
    at = utc(2024, 2, 1)

    assert on_call_for_project(db_session, shared.id, at).developer_id == ana.id
    assert on_call_for_project(db_session, own.id, at).developer_id == ben.id
    assert [s.name for s in schedules_for_project(db_session, own.id)] == ["own", "team"]
    # The project's schedule has no level 2, so the team's answers.
    assert on_call_for_project(db_session, own.id, at, level=2).developer_id == cat.id
    assert on_call_for_project(db_session, loner.id, at) is None
    assert on_call_for_team(db_session, team.id, at).developer_id == ana.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Europe/Berln"}, "unknown time zone 'Europe/Berln'"),
        ({"timezone": "Europe"}, "unknown time zone 'Europe'"),
        ({"participant_ids": []}, "at least one participant"),
        ({"participant_ids": [987654]}, "no developer with id 987654"),
        ({"shift_hours": 0}, "shift_hours must be a whole number from 1 to 8760, got 0"),
        ({"shift_hours": 8761}, "from 1 to 8760, got 8761"),
        ({"level": 0}, "level must be a whole number from 1"),
        ({"schedule_name": "  "}, "a schedule needs a name"),
        ({"project_id": None}, "schedule 'ops' does not exist: give project_id or team_id"),
        ({"team_id": "TEAM"}, "belongs to a project or to a team, not both"),
        ({"project_id": 987654}, "no project with id 987654"),
        ({"handoff_time": dt.time(9, tzinfo=UTC)}, "handoff_time must be a wall-clock time"),
        ({"start_date": dt.datetime(2024, 1, 1)}, "start_date must be a date"),
    ],
)
def test_create_rotation_validation(db_session, change, message):
    team = make_team(db_session)
    arguments = dict(
        schedule_name="ops",
        project_id=make_project(db_session).id,
        participant_ids=[make_developer(db_session).id],
        start_date=dt.date(2024, 1, 1),
        handoff_time=dt.time(9),
        timezone="UTC",
        shift_hours=24,
    )
    arguments.update({k: team.id if v == "TEAM" else v for k, v in change.items()})
    with pytest.raises(OncallError, match=message):
        create_rotation(db_session, **arguments)


def test_create_rotation_refuses_inactive_developers_and_foreign_schedules(db_session):
    team = make_team(db_session)
    project = make_project(db_session)
    gone = make_developer(db_session, is_active=False)
    here = make_developer(db_session)
    common = dict(start_date=dt.date(2024, 1, 1), handoff_time=dt.time(9), timezone="UTC", shift_hours=24)
    with pytest.raises(OncallError, match=f"developer {gone.id} is inactive"):
        create_rotation(db_session, schedule_name="ops", project_id=project.id, participant_ids=[gone.id], **common)
    create_rotation(db_session, schedule_name="ops", project_id=project.id, participant_ids=[here.id], **common)
    with pytest.raises(OncallError, match=f"schedule 'ops' already exists and belongs to project {project.id}"):
        create_rotation(db_session, schedule_name="ops", team_id=team.id, participant_ids=[here.id], **common)


def test_add_override_validation(db_session):
    project = make_project(db_session)
    developer = make_developer(db_session)
    rotation = create_rotation(
        db_session,
        schedule_name="ops",
        project_id=project.id,
        participant_ids=[developer.id],
        start_date=dt.date(2024, 1, 1),
        handoff_time=dt.time(9),
        timezone="UTC",
        shift_hours=24,
    )
    schedule = rotation.schedule
    with pytest.raises(OncallError, match="an override must end after it starts"):
        add_override(db_session, schedule, developer.id, utc(2024, 1, 2), utc(2024, 1, 2))
    with pytest.raises(OncallError, match="starts_at must be timezone-aware"):
        add_override(db_session, schedule, developer.id, dt.datetime(2024, 1, 2), utc(2024, 1, 3))
    with pytest.raises(OncallError, match="no developer with id 987654"):
        add_override(db_session, schedule, 987654, utc(2024, 1, 2), utc(2024, 1, 3))
    with pytest.raises(OncallError, match="level must be"):
        add_override(db_session, schedule, developer.id, utc(2024, 1, 2), utc(2024, 1, 3), level=0)
    berlin = dt.datetime(2024, 1, 2, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    override = add_override(db_session, schedule, developer.id, berlin, berlin + dt.timedelta(hours=2))
    assert override.starts_at == utc(2024, 1, 2, 9) and override.starts_at.tzinfo is UTC


def test_unknown_project_or_team(db_session):
    with pytest.raises(OncallError, match="no project with id 987654"):
        on_call_for_project(db_session, 987654, utc(2024, 1, 1))
    with pytest.raises(OncallError, match="no team with id 987654"):
        on_call_for_team(db_session, 987654, utc(2024, 1, 1))
