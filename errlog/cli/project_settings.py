"""What `errlog project set` and `show` read and print: options turned into a project's settings, checked as the
REST API checks them, and the settings as a view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from db.enums import Severity
from db.models import Project
from db.projects import ProjectError, SettingError, dsn_public_keys, grouping_transition_until
from errlog.cli.common import echo_fields, echo_json, format_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from errlog.settings import Settings

# The word that clears an optional setting (back to no team, no threshold, no webhook...).
NONE = "none"


def requested(session: Session, project: Project, options: dict[str, Any]) -> dict[str, Any]:
    """The settings the options ask for, by their names in the API, before the API's own checks."""
    from db.developers import find_developer, find_team

    sent: dict[str, Any] = {}
    if options["platform"] is not None:
        sent["platform"] = options["platform"]
    if options["team"] is not None:
        sent["team_id"] = None if clears(options["team"]) else find_team(session, options["team"]).id
    if options["fallback_developer"] is not None:
        ref = options["fallback_developer"]
        sent["fallback_developer_id"] = None if clears(ref) else find_developer(session, ref).id
    if options["alert_threshold"] is not None:
        events, minutes = _threshold(options["alert_threshold"])
        sent["alert_threshold_events"], sent["alert_threshold_minutes"] = events, minutes
    if options["max_events_per_minute"] is not None:
        value = options["max_events_per_minute"]
        sent["max_events_per_minute"] = None if clears(value) else _whole_number(value, "--max-events-per-minute")
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
        sent["webhook_url"] = None if clears(options["webhook_url"]) else options["webhook_url"]
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


def checked(sent: dict[str, Any]) -> dict[str, Any]:
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


def clears(value: str) -> bool:
    """Whether an option's value asks to clear its setting."""
    return value.strip().lower() == NONE


def _threshold(value: str) -> tuple[int | None, int | None]:
    if clears(value):
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


def settings_view(session: Session, config: Settings, project: Project) -> dict[str, Any]:
    """The project's settings as `show` prints them."""
    session.refresh(project)  # after a change: the team and developer its new ids name, not the ones loaded before
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
        "grouping_transition_until": grouping_transition_until(project),
        "dsns": [config.dsn_for(key, project.id) for key in dsn_public_keys(session, project.id)],
    }


def _by_severity(routing: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL's JSONB keeps keys in an order of its own; most urgent first reads better.
    ranks = {severity.value: severity.rank for severity in Severity}
    return dict(sorted(routing.items(), key=lambda item: ranks.get(item[0], len(ranks))))


def echo_settings(settings: dict[str, Any], as_json: bool) -> None:
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


def setting_error(exc: SettingError) -> ProjectError:
    """A check of change_settings, told in the options' words."""
    return ProjectError(f"{_OPTION_OF.get(exc.field, exc.field)}: {exc.reason}")
