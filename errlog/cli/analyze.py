"""`errlog analyze`: run the worker's analysis once, now: patterns, impact scores and the daily stats."""

from __future__ import annotations

import datetime as dt

import click

from errlog.cli.common import database_session, echo_fields, echo_json, json_option
from errlog.settings import load_settings


@click.command("analyze")
@click.option(
    "--day",
    "days",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    multiple=True,
    help="Also roll up the daily stats of this UTC day (YYYY-MM-DD; repeatable), e.g. to fill in past days.",
)
@json_option
def command(days: tuple[dt.datetime, ...], as_json: bool) -> None:
    """Detect patterns, update every error's impact score and roll up today's daily stats, as the worker's periodic
    jobs do (useful right after an import, or where no worker runs the periodic jobs)."""
    from db.types import utcnow
    from tasks.analysis.daily_stats import roll_up_day
    from tasks.analysis.impact import update_impact_scores
    from tasks.analysis.params import AnalysisParams
    from tasks.analysis.run import detect_patterns

    config = load_settings()
    now = utcnow()
    stats_days = sorted({now.date(), *(day.date() for day in days)})
    with database_session(config) as session:
        saved, found = detect_patterns(session, now, AnalysisParams.from_settings(config))
        impact = update_impact_scores(session)
        rows = {day: roll_up_day(session, day) for day in stats_days}
    active = {str(kind): n for kind, n in found.items()}
    if as_json:
        echo_json(
            {
                "patterns": {"active": active, "new": saved.created, "ended": saved.deactivated},
                "impact_scores_changed": impact,
                "daily_stats_rows": {day.isoformat(): n for day, n in rows.items()},
            }
        )
        return
    click.echo(f"analysis at {now:%Y-%m-%d %H:%M} UTC")
    echo_fields(
        [
            ("patterns", ", ".join(f"{n} {kind}" for kind, n in active.items() if n) or "none"),
            ("new / ended", f"{saved.created} / {saved.deactivated}"),
            ("impact scores changed", impact),
            *((f"daily stats {day}", f"{n} row(s)") for day, n in rows.items()),
        ]
    )
