"""`errlog project`: create the projects (services) that send errors, list them with their DSNs, show and change
their settings (the same checks and audit entry as the REST API's PATCH projects/{id}/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from db import audit
from db.enums import Severity
from db.models import Project
from db.projects import ProjectError, SettingError, change_settings, create_project, dsn_public_keys, find_project
from errlog.cli.common import database_session, echo_fields, echo_json, echo_table, format_time, json_option
from errlog.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from errlog.settings import Settings

WEBHOOK_KINDS = ("laravel", "java", "frontend", "mobile", "generic")
# The words that clear an optional setting (back to "none", "all environments", the company-wide routing).
NONE = "none"


@click.group("project")
def command() -> None:
    """Projects: the services that send errors."""


@command.command("create")
@click.argument("name")
@click.option("--platform", help="The service's main platform, e.g. python, javascript, java, php, dart.")
@json_option
def create(name: str, platform: str | None, as_json: bool) -> None:
    """Create project NAME and print its DSN and webhook token (the token is shown only this once)."""
    config = load_settings()
    with database_session(config) as session:
        new = create_project(session, name, platform)
        audit.record(
            session,
            actor="cli",
            action="project.create",
            target_type="project",
            target_id=new.project.id,
            after={"name": new.project.name, "platform": platform},
        )
    project_id = new.project.id
    dsn = config.dsn_for(new.public_key, project_id)
    if as_json:
        echo_json({"id": project_id, "name": new.project.name, "dsn": dsn, "webhook_token": new.webhook_token})
        return
    click.echo(f"created project {new.project.name} (id {project_id})")
    echo_fields(
        [
            ("dsn", dsn),
            (
                "webhook url",
                f"{config.public_url}/api/error-logging/webhook/<kind>/  (kind: {', '.join(WEBHOOK_KINDS)})",
            ),
            ("webhook token", new.webhook_token),
        ]
    )
    click.echo("the webhook token is shown only this once: store it now")


@command.command("list")
@json_option
def list_projects(as_json: bool) -> None:
    """List projects with their DSNs and grouping versions."""
    config = load_settings()
    with database_session(config) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": project.id,
                "name": project.name,
                "platform": project.platform,
                "grouping_version": project.grouping_version,
                "dsns": [config.dsn_for(key, project.id) for key in dsn_public_keys(session, project.id)],
                "created_at": project.created_at,
            }
            for project in session.scalars(select(Project).order_by(Project.name))
        ]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no projects yet: create one with `errlog project create NAME`")
    else:
        echo_table(
            ("ID", "NAME", "PLATFORM", "GROUPING", "CREATED", "DSN"),
            [
                (
                    row["id"],
                    row["name"],
                    row["platform"],
                    f"v{row['grouping_version']}",
                    format_time(row["created_at"]),
                    ", ".join(row["dsns"]) or None,
                )
                for row in rows
            ],
        )


@command.command("show")
@click.argument("project")
@json_option
def show(project: str, as_json: bool) -> None:
    """Show PROJECT's settings (by name or id): alerting, routing, scrubbing, grouping, DSNs."""
    config = load_settings()
    with database_session(config) as session:
        settings = _settings(session, config, find_project(session, project))
    _echo_settings(settings, as_json)


@command.command("set")
@click.argument("project")
@click.option("--platform", help="The service's main platform, e.g. python, javascript, java, php, dart.")
@click.option("--team", metavar="TEAM", help=f"The team it belongs to (name or id); {NONE} for none.")
@click.option(
    "--fallback-developer",
    metavar="DEVELOPER",
    help=f"Paged when nobody is assigned or on call (e-mail or id); {NONE} for none.",
)
@click.option(
    "--alert-threshold",
    metavar="EVENTS/MINUTES",
    help=f"Alert when an error gets EVENTS events within MINUTES minutes, e.g. 100/5; {NONE} for no threshold.",
)
@click.option(
    "--max-events-per-minute",
    metavar="N",
    help=f"Alert when the whole project gets more than N events in one minute; {NONE} for no limit.",
)
@click.option(
    "--alert-environments",
    metavar="ENV[,ENV...]",
    help="Only errors from these environments page, e.g. production; all for every environment.",
)
@click.option(
    "--route",
    "routes",
    multiple=True,
    metavar="SEVERITY=CHANNEL[,CHANNEL...]",
    help="The channels that page for a severity, e.g. critical=sms,slack,pagerduty; SEVERITY= pages nobody. "
    "Repeat for several severities; the others keep theirs.",
)
@click.option(
    "--default-routing", is_flag=True, help="Drop the project's own routing: every severity pages as configured."
)
@click.option("--webhook-url", metavar="URL", help=f"Where its alerts are also posted as JSON; {NONE} for none.")
@click.option(
    "--scrub-ip-addresses/--keep-ip-addresses", default=None, help="Replace IP addresses in its events with [Filtered]."
)
@click.option(
    "--scrub-emails/--keep-emails", default=None, help="Replace e-mail addresses in its events with [Filtered]."
)
@click.option("--grouping-version", type=int, help="Move it to another grouping version (docs/guide.md).")
@json_option
def set_settings(project: str, as_json: bool, **options: Any) -> None:
    """Change PROJECT's settings (by name or id); only the options given change.

    The same checks as the REST API's PATCH /api/error-logging/projects/<id>/, audited as a change by "cli".
    Running collectors and workers pick it up without a restart.
    """
    config = load_settings()
    with database_session(config) as session:
        target = find_project(session, project)
        sent = _checked(_requested(session, target, options))
        try:
            change = change_settings(session, target, sent)
        except SettingError as exc:
            raise ProjectError(f"{_OPTION_OF.get(exc.field, exc.field)}: {exc.reason}") from None
        if change.after:
            audit.record(
                session,
                actor="cli",
                action="project.update",
                target_type="project",
                target_id=target.id,
                before=change.before,
                after=change.after,
            )
        settings = _settings(session, config, target)
    if not as_json:
        click.echo(f"changed {', '.join(change.after)}" if change.after else "nothing changed")
    _echo_settings(settings, as_json)


def _requested(session: Session, project: Project, options: dict[str, Any]) -> dict[str, Any]:
    """The settings the options ask for, by their names in the API, before the API's own checks."""
    from db.developers import find_developer, find_team

    sent: dict[str, Any] = {}
    if options["platform"] is not None:
        sent["platform"] = options["platform"]
    if options["team"] is not None:
        sent["team_id"] = None if _clears(options["team"]) else find_team(session, options["team"]).id
    if options["fallback_developer"] is not None:
        ref = options["fallback_developer"]
        sent["fallback_developer_id"] = None if _clears(ref) else find_developer(session, ref).id
    if options["alert_threshold"] is not None:
        events, minutes = _threshold(options["alert_threshold"])
        sent["alert_threshold_events"], sent["alert_threshold_minutes"] = events, minutes
    if options["max_events_per_minute"] is not None:
        value = options["max_events_per_minute"]
        sent["max_events_per_minute"] = None if _clears(value) else _whole_number(value, "--max-events-per-minute")
    if options["alert_environments"] is not None:
        value = options["alert_environments"]
        sent["alert_environments"] = None if value.strip().lower() == "all" else _names(value)
    if options["routes"] and options["default_routing"]:
        raise ProjectError("--route and --default-routing contradict each other: give one of them")
    if options["default_routing"]:
        sent["routing"] = None
    elif options["routes"]:
        routing = dict(project.routing or {})
        for route in options["routes"]:
            severity, equals, channels = route.partition("=")
            if not equals or not severity.strip():
                raise ProjectError(f"--route {route!r}: write SEVERITY=CHANNEL[,CHANNEL...], e.g. critical=sms,slack")
            routing[severity.strip().lower()] = _names(channels)
        sent["routing"] = routing
    if options["webhook_url"] is not None:
        sent["webhook_url"] = None if _clears(options["webhook_url"]) else options["webhook_url"]
    for name in ("scrub_ip_addresses", "scrub_emails", "grouping_version"):
        if options[name] is not None:
            sent[name] = options[name]
    if not sent:
        raise ProjectError("nothing to change: give at least one option (errlog project set --help lists them)")
    return sent


# The option that sets each setting, for messages about it.
_OPTION_OF = {
    "platform": "--platform",
    "team_id": "--team",
    "fallback_developer_id": "--fallback-developer",
    "alert_threshold_events": "--alert-threshold",
    "alert_threshold_minutes": "--alert-threshold",
    "max_events_per_minute": "--max-events-per-minute",
    "alert_environments": "--alert-environments",
    "routing": "--route",
    "webhook_url": "--webhook-url",
    "scrub_ip_addresses": "--scrub-ip-addresses",
    "scrub_emails": "--scrub-emails",
    "grouping_version": "--grouping-version",
}


def _checked(sent: dict[str, Any]) -> dict[str, Any]:
    """`sent` through the REST API's own body model, so both refuse the same values for the same reasons."""
    from pydantic import ValidationError

    from collector.api.projects import ProjectPatch

    try:
        body = ProjectPatch.model_validate(sent)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        reason = first["msg"].removeprefix("Value error, ")
        raise ProjectError(f"{_OPTION_OF.get(field, field)}: {reason}") from None
    return {name: getattr(body, name) for name in sent}


def _clears(value: str) -> bool:
    return value.strip().lower() == NONE


def _threshold(value: str) -> tuple[int | None, int | None]:
    if _clears(value):
        return None, None
    events, slash, minutes = value.partition("/")
    if not slash:
        raise ProjectError(f"--alert-threshold {value!r}: write EVENTS/MINUTES, e.g. 100/5, or {NONE}")
    return _whole_number(events, "--alert-threshold"), _whole_number(minutes, "--alert-threshold")


def _whole_number(value: str, option: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ProjectError(f"{option}: {value.strip()!r} is not a whole number") from None


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _settings(session: Session, config: Settings, project: Project) -> dict[str, Any]:
    from db.models.projects import GROUPING_TRANSITION
    from db.types import utcnow

    session.refresh(project)
    transition_until = (
        project.grouping_moved_at + GROUPING_TRANSITION
        if project.grouping_moved_at is not None and project.previous_grouping_version is not None
        else None
    )
    return {
        "id": project.id,
        "name": project.name,
        "platform": project.platform,
        "team": project.team.name if project.team else None,
        "fallback_developer": project.fallback_developer.email if project.fallback_developer else None,
        "alert_threshold_events": project.alert_threshold_events,
        "alert_threshold_minutes": project.alert_threshold_minutes,
        "max_events_per_minute": project.max_events_per_minute,
        "alert_environments": project.alert_environments,
        "routing": None if project.routing is None else _by_severity(project.routing),
        "webhook_url": project.webhook_url,
        "scrub_ip_addresses": project.scrub_ip_addresses,
        "scrub_emails": project.scrub_emails,
        "grouping_version": project.grouping_version,
        "grouping_transition_until": transition_until if transition_until and transition_until > utcnow() else None,
        "dsns": [config.dsn_for(key, project.id) for key in dsn_public_keys(session, project.id)],
    }


def _by_severity(routing: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL's JSONB keeps keys in an order of its own; most urgent first reads better.
    ranks = {severity.value: severity.rank for severity in Severity}
    return dict(sorted(routing.items(), key=lambda item: ranks.get(item[0], len(ranks))))


def _echo_settings(settings: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(settings)
        return
    threshold = (
        f"{settings['alert_threshold_events']} events in {settings['alert_threshold_minutes']} min"
        if settings["alert_threshold_events"] is not None
        else None
    )
    routing = settings["routing"]
    echo_fields(
        [
            ("project", f"{settings['name']} (id {settings['id']})"),
            ("platform", settings["platform"]),
            ("team", settings["team"]),
            ("fallback developer", settings["fallback_developer"]),
            ("alert threshold", threshold),
            ("max events/minute", settings["max_events_per_minute"]),
            ("alert environments", ", ".join(settings["alert_environments"] or []) or "all"),
            (
                "routing",
                "; ".join(f"{sev}={','.join(channels) or '(nobody)'}" for sev, channels in routing.items())
                if routing
                else "the configured defaults",
            ),
            ("webhook url", settings["webhook_url"]),
            ("scrub ip addresses", "yes" if settings["scrub_ip_addresses"] else "no"),
            ("scrub e-mails", "yes" if settings["scrub_emails"] else "no"),
            (
                "grouping",
                f"v{settings['grouping_version']}"
                + (
                    f" (transition until {format_time(settings['grouping_transition_until'])})"
                    if settings["grouping_transition_until"]
                    else ""
                ),
            ),
            ("dsn", ", ".join(settings["dsns"]) or None),
        ]
    )
