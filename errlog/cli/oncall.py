"""`errlog oncall`: rotations, overrides, and who is on call now and next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import audit
from db.developers import find_developer, find_team
from db.models import Developer, OncallRotation, OncallSchedule, Project, Team
from db.oncall import (
    Shift,
    add_override,
    create_rotation,
    next_handoff,
    on_call_for_project,
    on_call_for_team,
    schedules_for_project,
)
from db.projects import find_project
from db.types import utcnow
from errlog.cli.common import (
    CliError,
    database_session,
    echo_json,
    echo_table,
    format_time,
    json_option,
    parse_clock,
    parse_date,
    parse_instant,
)
from errlog.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])


@click.group("oncall")
def command() -> None:
    """On-call schedules: rotations, overrides, and who is on call."""


def scope_options(function: F) -> F:
    function = click.option("--team", "team_ref", metavar="TEAM", help="The team's schedule.")(function)
    return click.option("--project", "project_ref", metavar="PROJECT", help="The project's schedule.")(function)


def _scope(session: Session, project_ref: str | None, team_ref: str | None) -> Project | Team:
    if bool(project_ref) == bool(team_ref):
        raise CliError("give exactly one of --project or --team")
    return find_project(session, project_ref) if project_ref else find_team(session, team_ref or "")


def _describe(scope: Project | Team) -> str:
    return f"{'project' if isinstance(scope, Project) else 'team'} {scope.name}"


def _own_schedules(session: Session, scope: Project | Team) -> list[OncallSchedule]:
    column = OncallSchedule.project_id if isinstance(scope, Project) else OncallSchedule.team_id
    return list(session.scalars(select(OncallSchedule).where(column == scope.id).order_by(OncallSchedule.name)))


@command.command("rotation")
@scope_options
@click.option("--participants", required=True, metavar="EMAILS", help="Comma-separated e-mails, in turn order.")
@click.option("--shift-hours", type=click.IntRange(min=1), default=168, show_default=True, help="Length of a turn.")
@click.option("--handoff", default="09:00", show_default=True, help="Local wall-clock time turns change at.")
@click.option(
    "--timezone", default="UTC", show_default=True, help="IANA time zone of the hand-off, e.g. Europe/Berlin."
)
@click.option("--start", required=True, help="Date the first participant's turn starts, e.g. 2026-12-07.")
@click.option("--level", type=click.IntRange(min=1), default=1, show_default=True, help="1 primary, 2 secondary, ...")
@click.option("--name", help="Schedule name (default: '<project> on-call' or '<team> team on-call').")
def rotation(
    project_ref: str | None,
    team_ref: str | None,
    participants: str,
    shift_hours: int,
    handoff: str,
    timezone: str,
    start: str,
    level: int,
    name: str | None,
) -> None:
    """Set the rotation for one level of a project's or team's schedule (creating the schedule if needed,
    replacing that level's previous rotation if any)."""
    emails = [email.strip() for email in participants.split(",") if email.strip()]
    if not emails:
        raise CliError("--participants needs at least one e-mail address")
    start_date, handoff_time = parse_date(start, "--start"), parse_clock(handoff, "--handoff")
    with database_session(load_settings()) as session:
        scope = _scope(session, project_ref, team_ref)
        people = [find_developer(session, email) for email in emails]
        is_project = isinstance(scope, Project)
        schedule_name = name or (f"{scope.name} on-call" if is_project else f"{scope.name} team on-call")
        previous = session.scalars(
            select(OncallRotation)
            .join(OncallSchedule)
            .where(OncallSchedule.name == schedule_name.strip(), OncallRotation.level == level)
        ).first()
        before = _rotation_snapshot(previous) if previous else None
        created = create_rotation(
            session,
            schedule_name=schedule_name,
            project_id=scope.id if is_project else None,
            team_id=None if is_project else scope.id,
            level=level,
            participant_ids=[person.id for person in people],
            start_date=start_date,
            handoff_time=handoff_time,
            timezone=timezone,
            shift_hours=shift_hours,
        )
        audit.record(
            session,
            actor="cli",
            action="oncall.rotation.set",
            target_type="oncall_rotation",
            target_id=created.id,
            before=before,
            after=_rotation_snapshot(created),
        )
        where = _describe(scope)
    click.echo(
        f"{'replaced' if before else 'set'} level {level} of schedule {schedule_name!r} ({where}): "
        f"{', '.join(p.email for p in people)} in {shift_hours}-hour turns from {start_date} "
        f"{handoff_time:%H:%M} {timezone}"
    )


def _rotation_snapshot(rotation: OncallRotation) -> dict[str, Any]:
    return {
        "schedule": rotation.schedule.name,
        "level": rotation.level,
        "participants": [participant.developer.email for participant in rotation.participants],
        "start_date": rotation.start_date,
        "handoff_time": rotation.handoff_time,
        "timezone": rotation.timezone,
        "shift_hours": rotation.shift_hours,
    }


@command.command("override")
@scope_options
@click.option("--developer", "developer_ref", required=True, metavar="EMAIL", help="Who covers.")
@click.option("--start", required=True, help="ISO 8601 start, e.g. 2026-12-24T00:00+01:00 (no offset: UTC).")
@click.option("--end", required=True, help="ISO 8601 end (exclusive).")
@click.option("--level", type=click.IntRange(min=1), default=1, show_default=True, help="The level covered.")
@click.option("--reason", help="Why, e.g. 'swap with Ana' or 'sick leave'.")
@click.option("--schedule", "schedule_name", help="Which schedule, if the project or team has several.")
def override(
    project_ref: str | None,
    team_ref: str | None,
    developer_ref: str,
    start: str,
    end: str,
    level: int,
    reason: str | None,
    schedule_name: str | None,
) -> None:
    """Have a developer cover a level of a schedule for a period (swaps, sick days, holidays)."""
    starts_at, ends_at = parse_instant(start, "--start"), parse_instant(end, "--end")
    with database_session(load_settings()) as session:
        scope = _scope(session, project_ref, team_ref)
        developer = find_developer(session, developer_ref)
        schedule = _pick_schedule(session, scope, schedule_name)
        created = add_override(session, schedule, developer.id, starts_at, ends_at, level=level, reason=reason)
        audit.record(
            session,
            actor="cli",
            action="oncall.override.create",
            target_type="oncall_override",
            target_id=created.id,
            after={
                "schedule": schedule.name,
                "level": level,
                "developer": developer.email,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "reason": reason,
            },
        )
    click.echo(
        f"{developer.email} covers level {level} of {schedule.name!r} "
        f"from {format_time(starts_at)} until {format_time(ends_at)}"
    )


def _pick_schedule(session: Session, scope: Project | Team, name: str | None) -> OncallSchedule:
    schedules = _own_schedules(session, scope)
    if name is not None:
        schedules = [schedule for schedule in schedules if schedule.name == name]
    option = "--project" if isinstance(scope, Project) else "--team"
    if not schedules:
        named = f" named {name!r}" if name else ""
        raise CliError(
            f"{_describe(scope)} has no on-call schedule{named}: "
            f"create one with `errlog oncall rotation {option} {scope.name} ...`"
        )
    if len(schedules) > 1:
        names = ", ".join(repr(schedule.name) for schedule in schedules)
        raise CliError(f"{_describe(scope)} has several schedules ({names}): choose one with --schedule")
    return schedules[0]


@command.command("now")
@click.option("--project", "project_ref", metavar="PROJECT", help="Only this project.")
@click.option("--team", "team_ref", metavar="TEAM", help="Only this team.")
@click.option("--at", "at_text", metavar="ISO", help="Ask about another moment (no offset: UTC).")
@json_option
def now(project_ref: str | None, team_ref: str | None, at_text: str | None, as_json: bool) -> None:
    """Who is on call per level, until when, and who is next; without options, for every project and team."""
    at = parse_instant(at_text, "--at") if at_text else utcnow()
    with database_session(load_settings()) as session:
        if project_ref or team_ref:
            scopes: list[Project | Team] = [_scope(session, project_ref, team_ref)]
        else:
            scopes = [*session.scalars(select(Project).order_by(Project.name))]
            scopes += session.scalars(select(Team).order_by(Team.name))
        report = [_on_call_report(session, scope, at) for scope in scopes]
    if as_json:
        echo_json({"at": at, "on_call": report})
        return
    click.echo(f"on call at {format_time(at)}")
    rows: list[tuple[Any, ...]] = []
    for entry in report:
        scope = f"{entry['scope']} {entry['name']}"
        if not entry["levels"]:
            rows.append((scope, None, "nobody (no schedule)", None, None, None))
        for level in entry["levels"]:
            current, upcoming = level["on_call"], level["next"]
            rows.append(
                (
                    scope,
                    level["level"],
                    _person(current) if current else "nobody",
                    level["source"],
                    format_time(level["until"]) if level["until"] else None,
                    f"{_person(upcoming['developer'])} from {format_time(upcoming['starts_at'])}" if upcoming else None,
                )
            )
    echo_table(("SCOPE", "LEVEL", "ON CALL", "AS", "UNTIL", "NEXT"), rows)


def _person(developer: dict[str, Any]) -> str:
    return f"{developer['name']} <{developer['email']}>"


def _developer(session: Session, developer_id: int) -> dict[str, Any]:
    developer = session.get(Developer, developer_id)
    assert developer is not None, "shifts only name existing developers (foreign key)"
    return {"id": developer.id, "name": developer.name, "email": developer.email}


def _on_call_report(session: Session, scope: Project | Team, at: dt.datetime) -> dict[str, Any]:
    is_project = isinstance(scope, Project)
    schedules = schedules_for_project(session, scope.id) if is_project else _own_schedules(session, scope)
    levels = sorted(
        {rotation.level for schedule in schedules for rotation in schedule.rotations}
        | {entry.level for schedule in schedules for entry in schedule.overrides if entry.ends_at > at}
    )
    lookup = on_call_for_project if is_project else on_call_for_team
    rows = []
    for level in levels:
        shift = lookup(session, scope.id, at, level)
        if shift is not None:
            candidates = [schedule for schedule in schedules if schedule.id == shift.schedule_id]
        else:
            candidates = schedules
        upcoming = _earliest([next_handoff(schedule, at, level) for schedule in candidates])
        rows.append(
            {
                "level": level,
                "on_call": _developer(session, shift.developer_id) if shift else None,
                "source": shift.source if shift else None,
                "until": shift.ends_at if shift else None,
                "next": {
                    "developer": _developer(session, upcoming.developer_id),
                    "starts_at": upcoming.starts_at,
                    "ends_at": upcoming.ends_at,
                }
                if upcoming
                else None,
            }
        )
    return {"scope": "project" if is_project else "team", "id": scope.id, "name": scope.name, "levels": rows}


def _earliest(shifts: list[Shift | None]) -> Shift | None:
    found = [shift for shift in shifts if shift is not None]
    return min(found, key=lambda shift: shift.starts_at) if found else None


def _owner(session: Session, schedule: OncallSchedule) -> str:
    if schedule.project_id is not None:
        project = session.get(Project, schedule.project_id)
        return _describe(project) if project else "project ?"
    team = session.get(Team, schedule.team_id) if schedule.team_id is not None else None
    return _describe(team) if team else "team ?"


@command.command("show")
def show() -> None:
    """List schedules with their rotations and current or future overrides."""
    moment = utcnow()
    with database_session(load_settings()) as session:
        schedules = list(session.scalars(select(OncallSchedule).order_by(OncallSchedule.name)))
        if not schedules:
            click.echo("no on-call schedules yet: create one with `errlog oncall rotation`")
            return
        for schedule in schedules:
            click.echo(f"{schedule.name} ({_owner(session, schedule)})")
            rows: list[tuple[Any, ...]] = [
                (
                    rotation.level,
                    "rotation",
                    ", ".join(participant.developer.email for participant in rotation.participants),
                    f"{rotation.shift_hours} h turns from {rotation.start_date} "
                    f"{rotation.handoff_time:%H:%M} {rotation.timezone}",
                )
                for rotation in schedule.rotations
            ]
            rows += [
                (
                    entry.level,
                    "override",
                    entry.developer.email,
                    f"{format_time(entry.starts_at)} - {format_time(entry.ends_at)}"
                    + (f" ({entry.reason})" if entry.reason else ""),
                )
                for entry in schedule.overrides
                if entry.ends_at > moment
            ]
            echo_table(("LEVEL", "KIND", "WHO", "WHEN"), rows, indent="  ")
