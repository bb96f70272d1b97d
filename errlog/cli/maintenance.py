"""`errlog maintenance`: silence alerts during planned work, list the windows, end or delete one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import click

from db import audit
from db.types import utcnow
from errlog.cli.common import CliError, database_session, echo_json, echo_table, format_time, json_option, parse_instant
from errlog.settings import load_settings

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(value: str) -> dt.timedelta:
    """ "2h", "90m", "1h30m", "1d": a positive length of time."""
    match = _DURATION.match(value.strip().lower())
    if not value.strip() or match is None:
        raise CliError(f"invalid --for {value!r}: expected a length like 2h, 90m, 1h30m or 1d")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    length = dt.timedelta(days=days, hours=hours, minutes=minutes)
    if length <= dt.timedelta(0):
        raise CliError(f"invalid --for {value!r}: the window must last longer than nothing")
    return length


@click.group("maintenance")
def command() -> None:
    """Maintenance windows: alerts in their scope are held back (events are still stored), and one summary
    goes out when each ends."""


@command.command("add")
@click.option("--project", help="Project name or id it silences (default: every project).")
@click.option("--query", help="Only errors this search matches, e.g. 'service:payments level:critical'.")
@click.option("--for", "length", help="How long from --from (or now), e.g. 2h, 90m, 1h30m.")
@click.option("--from", "starts", help="Start, ISO 8601 (no offset means UTC); default now.")
@click.option("--until", "ends", help="End, ISO 8601 (no offset means UTC); instead of --for.")
@click.option("--reason", default="", help="What is going on, e.g. 'DB migration' (shown in held-back alerts).")
@json_option
def add(
    project: str | None,
    query: str | None,
    length: str | None,
    starts: str | None,
    ends: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Add a maintenance window."""
    from db.issue_query import QueryError
    from db.maintenance import MaintenanceError, add_window
    from db.projects import find_project
    from db.window_scope import check_window_query

    if (length is None) == (ends is None):
        raise CliError("give the window's length with --for (e.g. --for 2h) or its end with --until, not both")
    now = utcnow()
    starts_at = parse_instant(starts, "--from") if starts else now
    ends_at = parse_instant(ends, "--until") if ends else starts_at + parse_duration(length or "")
    if query:
        try:
            query = check_window_query(query)
        except QueryError as exc:
            raise CliError(f"--query: {exc}") from None
    with database_session(load_settings()) as session:
        found = find_project(session, project) if project else None
        project_id = found.id if found is not None else None
        try:
            window = add_window(
                session,
                project_id=project_id,
                query=query,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                created_by="cli",
            )
        except MaintenanceError as exc:
            raise CliError(str(exc)) from None
        after = _snapshot(window, found.name if found is not None else None)
        audit.record(
            session, actor="cli", action="maintenance.create", target_type="maintenance_window", target_id=window.id,
            after=after,
        )  # fmt: skip
    if as_json:
        echo_json({"id": window.id, **after})
    else:
        click.echo(
            f"added maintenance window #{window.id} on {after['project'] or 'every project'}"
            f"{f' matching {query}' if query else ''}: {format_time(starts_at)} to {format_time(ends_at)}"
        )


@command.command("list")
@click.option("--past", is_flag=True, help="Ended windows too.")
@json_option
def list_command(past: bool, as_json: bool) -> None:
    """List current and future maintenance windows."""
    from sqlalchemy import select

    from db.maintenance import list_windows
    from db.models import Project

    now = utcnow()
    with database_session(load_settings()) as session:
        names = {project_id: name for project_id, name in session.execute(select(Project.id, Project.name))}
        rows = []
        for window in list_windows(session, now, include_past=past):
            name = names.get(window.project_id) if window.project_id is not None else None
            state = (
                "active"
                if window.starts_at <= now < window.ends_at
                else ("ended" if window.ends_at <= now else "planned")
            )
            rows.append(
                {"id": window.id, "state": state, **_snapshot(window, name), "silenced_alerts": window.silenced_alerts}
            )
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no maintenance windows: add one with `errlog maintenance add --for 2h --reason REASON`")
    else:
        echo_table(
            ("ID", "STATE", "PROJECT", "QUERY", "FROM", "UNTIL", "SILENCED", "REASON"),
            [
                (r["id"], r["state"], r["project"] or "(all)", r["query"], format_time(r["starts_at"]),
                 format_time(r["ends_at"]), r["silenced_alerts"], r["reason"])
                for r in rows
            ],
        )  # fmt: skip


@command.command("end")
@click.argument("window_id", type=int)
def end(window_id: int) -> None:
    """End a maintenance window now (its summary then goes out)."""
    from db.maintenance import MaintenanceError, end_window

    with database_session(load_settings()) as session:
        window = _find(session, window_id)
        before = _snapshot(window, None)
        try:
            end_window(session, window, utcnow())
        except MaintenanceError as exc:
            raise CliError(str(exc)) from None
        audit.record(
            session, actor="cli", action="maintenance.end", target_type="maintenance_window", target_id=window.id,
            before=before, after=_snapshot(window, None),
        )  # fmt: skip
    click.echo(f"ended maintenance window #{window_id}; alerts in its scope page again")


@command.command("delete")
@click.argument("window_id", type=int)
def delete(window_id: int) -> None:
    """Delete a maintenance window (no summary goes out for it)."""
    with database_session(load_settings()) as session:
        window = _find(session, window_id)
        audit.record(
            session, actor="cli", action="maintenance.delete", target_type="maintenance_window", target_id=window.id,
            before=_snapshot(window, None),
        )  # fmt: skip
        session.delete(window)
    click.echo(f"deleted maintenance window #{window_id}")


def _find(session: Any, window_id: int) -> Any:
    from db.models import MaintenanceWindow

    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise CliError(f"no maintenance window #{window_id} (see `errlog maintenance list --past`)")
    return window


def _snapshot(window: Any, project: str | None) -> dict[str, Any]:
    return {
        "project_id": window.project_id,
        "project": project,
        "query": window.query,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "reason": window.reason,
    }
