"""`errlog maintenance`, `errlog db prune` and `errlog developer daily-summary` against the test database."""

import datetime as dt
import json

import pytest
from sqlalchemy import select

from db.models import Developer, Event, MaintenanceWindow
from db.session import create_db_engine, make_session_factory
from db.types import utcnow
from tests.db.factories import make_event, make_issue, make_project


@pytest.fixture
def seeded(database_url):
    """A project "checkout" with one event 100 days old and one from today."""
    engine = create_db_engine(database_url)
    with make_session_factory(engine)() as session:
        project = make_project(session, "checkout")
        issue = make_issue(session, project, times_seen=2)
        make_event(session, issue, received_at=utcnow() - dt.timedelta(days=100))
        make_event(session, issue, received_at=utcnow())
        session.commit()
        ids = {"project": project.id}
    engine.dispose()
    return ids


def test_add_list_end_and_delete_a_window(errlog, read, audit_actions, seeded):
    added = errlog(
        "maintenance", "add", "--project", "checkout", "--for", "2h", "--reason", "DB migration",
        "--query", "service:checkout level:critical",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    [window] = read(select(MaintenanceWindow))
    assert added.stdout.startswith(f"added maintenance window #{window.id} on checkout matching service:checkout")
    assert window.project_id == seeded["project"] and window.reason == "DB migration"
    assert window.ends_at - window.starts_at == dt.timedelta(hours=2)

    [row] = json.loads(errlog("maintenance", "list", "--json").stdout)
    assert (row["id"], row["state"], row["project"]) == (window.id, "active", "checkout")
    human = errlog("maintenance", "list").stdout.splitlines()
    assert human[0].split()[:3] == ["ID", "STATE", "PROJECT"] and "DB migration" in human[1]

    assert errlog("maintenance", "end", str(window.id)).exit_code == 0
    assert errlog("maintenance", "list").stdout.startswith("no maintenance windows")
    assert json.loads(errlog("maintenance", "list", "--past", "--json").stdout)[0]["state"] == "ended"
    assert errlog("maintenance", "delete", str(window.id)).exit_code == 0
    assert read(select(MaintenanceWindow)) == []
    assert [a[1] for a in audit_actions()] == ["maintenance.create", "maintenance.end", "maintenance.delete"]


def test_a_window_for_every_project_with_from_and_until(errlog, read):
    added = errlog("maintenance", "add", "--from", "2030-01-05T12:00", "--until", "2030-01-05T14:00+01:00")
    assert added.exit_code == 0, added.output
    [window] = read(select(MaintenanceWindow))
    assert window.project_id is None
    assert (window.starts_at, window.ends_at) == (
        dt.datetime(2030, 1, 5, 12, tzinfo=dt.UTC),
        dt.datetime(2030, 1, 5, 13, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope", "--for", "1h"], "no project named 'nope'"),
        (["--for", "soon"], "invalid --for 'soon'"),
        (["--for", "0m"], "longer than nothing"),
        ([], "give the window's length with --for"),
        (["--for", "1h", "--until", "2030-01-01"], "not both"),
        (["--from", "2030-01-05T12:00", "--until", "2030-01-05T11:00"], "must end after it starts"),
        (["--for", "40d"], "at most 31 days"),
        (["--for", "1h", "--query", "level:"], "--query: invalid search"),
        (["--until", "noon"], "invalid --until 'noon'"),
    ],
)
def test_bad_windows_are_one_line_errors(errlog, read, one_line_error, seeded, args, message):
    one_line_error(errlog("maintenance", "add", *args), message)
    assert read(select(MaintenanceWindow)) == []


def test_ending_or_deleting_a_missing_window_is_one_line_error(errlog, one_line_error):
    one_line_error(errlog("maintenance", "end", "42"), "no maintenance window #42")
    one_line_error(errlog("maintenance", "delete", "42"), "no maintenance window #42")


def test_db_prune_dry_run_then_prune(errlog, read, seeded):
    dry = errlog("db", "prune", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("would delete 1 event(s) received before")
    assert len(read(select(Event))) == 2

    done = errlog("db", "prune")
    assert done.stdout.startswith("deleted 1 event(s)")
    assert len(read(select(Event))) == 1


def test_developer_daily_summary_on_and_off(errlog, read, audit_actions, one_line_error):
    assert errlog("developer", "add", "--name", "Ana", "--email", "ana@example.com").exit_code == 0
    on = errlog("developer", "daily-summary", "ana@example.com", "--on")
    assert on.stdout.strip() == "Ana <ana@example.com> gets the daily summary by e-mail"
    assert read(select(Developer.channel_preferences)) == [{"daily_summary": ["email"]}]
    assert errlog("developer", "daily-summary", "ana@example.com", "--off").exit_code == 0
    assert read(select(Developer.channel_preferences)) == [None]
    assert [a[1] for a in audit_actions()] == ["developer.create", "developer.update", "developer.update"]
    one_line_error(errlog("developer", "daily-summary", "bo@example.com", "--on"), "bo@example.com")
