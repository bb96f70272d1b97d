import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from db.models import AuditEntry, OncallOverride, OncallRotation


@pytest.fixture
def shop(errlog):
    """Project shop; developers ana, bob and carol; team backend (carol)."""
    for name in ("ana", "bob", "carol"):
        assert errlog("developer", "add", "--name", name.title(), "--email", f"{name}@example.com").exit_code == 0
    assert errlog("project", "create", "shop").exit_code == 0
    assert errlog("team", "create", "backend", "--member", "carol@example.com").exit_code == 0


def weekly_shop_rotation(errlog, participants="ana@example.com,bob@example.com"):
    return errlog(
        "oncall", "rotation", "--project", "shop", "--participants", participants, "--shift-hours", "168",
        "--handoff", "09:00", "--timezone", "Europe/Berlin", "--start", "2026-12-07",
    )  # fmt: skip


def now_json(errlog, *args):
    result = errlog("oncall", "now", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_rotation_then_now_at_given_times(errlog, shop):
    result = weekly_shop_rotation(errlog)
    assert result.exit_code == 0, result.output
    assert "level 1 of schedule 'shop on-call' (project shop)" in result.stdout

    report = now_json(errlog, "--project", "shop", "--at", "2026-12-08T12:00Z")
    assert report["at"] == "2026-12-08T12:00:00+00:00"
    [entry] = report["on_call"]
    assert (entry["scope"], entry["name"]) == ("project", "shop")
    [level] = entry["levels"]
    assert level["level"] == 1 and level["source"] == "rotation"
    assert level["on_call"]["email"] == "ana@example.com"
    # 09:00 in Berlin in December is 08:00 UTC.
    assert level["until"] == "2026-12-14T08:00:00+00:00"
    assert level["next"]["developer"]["email"] == "bob@example.com"
    assert level["next"]["starts_at"] == "2026-12-14T08:00:00+00:00"

    # A time with an offset; the second week is bob's.
    [entry] = now_json(errlog, "--project", "shop", "--at", "2026-12-15T10:00+01:00")["on_call"]
    assert entry["levels"][0]["on_call"]["email"] == "bob@example.com"

    # Before the rotation starts nobody is on call, and the first shift is next.
    [entry] = now_json(errlog, "--project", "shop", "--at", "2026-12-01T00:00")["on_call"]
    assert entry["levels"][0]["on_call"] is None
    assert entry["levels"][0]["next"]["developer"]["email"] == "ana@example.com"

    human = errlog("oncall", "now", "--project", "shop", "--at", "2026-12-08T12:00Z").stdout.splitlines()
    assert human[0] == "on call at 2026-12-08 12:00 UTC"
    assert human[1].split()[:4] == ["SCOPE", "LEVEL", "ON", "CALL"]
    assert "Ana <ana@example.com>" in human[2] and "2026-12-14 08:00 UTC" in human[2]
    assert "Bob <bob@example.com> from 2026-12-14 08:00 UTC" in human[2]


def test_override_wins_and_everything_is_audited(errlog, read, shop):
    assert weekly_shop_rotation(errlog).exit_code == 0
    result = errlog(
        "oncall", "override", "--project", "shop", "--developer", "carol@example.com",
        "--start", "2026-12-09T00:00+01:00", "--end", "2026-12-10T00:00+01:00", "--reason", "swap",
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    [level] = now_json(errlog, "--project", "shop", "--at", "2026-12-09T12:00Z")["on_call"][0]["levels"]
    assert (level["on_call"]["email"], level["source"]) == ("carol@example.com", "override")
    assert level["until"] == "2026-12-09T23:00:00+00:00"
    assert level["next"]["developer"]["email"] == "ana@example.com"

    [override] = read(select(OncallOverride))
    assert override.reason == "swap"
    entries = read(select(AuditEntry).order_by(AuditEntry.id))
    oncall_entries = [(e.actor, e.action, e.target_type) for e in entries if e.action.startswith("oncall.")]
    assert oncall_entries == [
        ("cli", "oncall.rotation.set", "oncall_rotation"),
        ("cli", "oncall.override.create", "oncall_override"),
    ]
    assert entries[-1].after["developer"] == "carol@example.com"
    assert entries[-1].after["starts_at"] == "2026-12-08T23:00:00+00:00"


def test_show_lists_rotations_and_overrides_not_yet_over(errlog, shop):
    assert weekly_shop_rotation(errlog).exit_code == 0
    for start, end, reason in [("2001-01-01", "2001-01-02", "long ago"), ("2099-01-01", "2099-01-02", "far ahead")]:
        override = errlog(
            "oncall", "override", "--project", "shop", "--developer", "carol@example.com",
            "--start", start, "--end", end, "--reason", reason,
        )  # fmt: skip
        assert override.exit_code == 0, override.output

    shown = errlog("oncall", "show").stdout.splitlines()
    assert shown[0] == "shop on-call (project shop)"
    assert shown[1].split() == ["LEVEL", "KIND", "WHO", "WHEN"]
    assert shown[2].split()[:3] == ["1", "rotation", "ana@example.com,"]
    assert "168 h turns from 2026-12-07 09:00 Europe/Berlin" in shown[2]
    assert shown[3].split()[:3] == ["1", "override", "carol@example.com"]
    assert shown[3].endswith("2099-01-01 00:00 UTC - 2099-01-02 00:00 UTC (far ahead)")
    assert len(shown) == 4  # the override that is over is left out


def test_replacing_a_rotation_records_what_it_was(errlog, read, shop):
    assert weekly_shop_rotation(errlog).exit_code == 0
    result = weekly_shop_rotation(errlog, participants="bob@example.com")
    assert result.exit_code == 0 and result.stdout.startswith("replaced level 1")
    [rotation] = read(select(OncallRotation).options(selectinload(OncallRotation.participants)))
    assert len(rotation.participants) == 1
    last = read(select(AuditEntry).order_by(AuditEntry.id.desc()))[0]
    assert last.before["participants"] == ["ana@example.com", "bob@example.com"]
    assert last.after["participants"] == ["bob@example.com"]


def test_now_without_options_covers_every_project_and_team(errlog, shop):
    assert weekly_shop_rotation(errlog).exit_code == 0
    assert errlog("project", "create", "billing").exit_code == 0
    team = errlog(
        "oncall", "rotation", "--team", "backend", "--participants", "carol@example.com", "--level", "2",
        "--start", "2026-12-01", "--name", "backend nights",
    )  # fmt: skip
    assert team.exit_code == 0, team.output

    report = now_json(errlog, "--at", "2026-12-08T12:00Z")["on_call"]
    scopes = [(e["scope"], e["name"]) for e in report]
    assert scopes == [("project", "billing"), ("project", "shop"), ("team", "backend")]
    assert report[0]["levels"] == []
    assert report[1]["levels"][0]["on_call"]["email"] == "ana@example.com"
    assert [(lv["level"], lv["on_call"]["email"]) for lv in report[2]["levels"]] == [(2, "carol@example.com")]

    human = errlog("oncall", "now", "--at", "2026-12-08T12:00Z").stdout
    assert "nobody (no schedule)" in human and "team backend" in human
    shown = errlog("oncall", "show").stdout
    assert "backend nights (team backend)" in shown and "168 h turns from 2026-12-01 09:00 UTC" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rotation", "--project", "shop", "--participants", "ana@example.com", "--start", "2026-13-01"],
         "invalid --start '2026-13-01'"),
        (["rotation", "--project", "shop", "--participants", "ana@example.com", "--start", "2026-12-07",
          "--handoff", "9am"], "invalid --handoff '9am'"),
        (["rotation", "--project", "shop", "--participants", "ana@example.com", "--start", "2026-12-07",
          "--timezone", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["rotation", "--project", "nope", "--participants", "ana@example.com", "--start", "2026-12-07"],
         "no project named 'nope'"),
        (["rotation", "--team", "nope", "--participants", "ana@example.com", "--start", "2026-12-07"],
         "no team named 'nope'"),
        (["rotation", "--project", "shop", "--team", "backend", "--participants", "ana@example.com",
          "--start", "2026-12-07"], "exactly one of --project or --team"),
        (["rotation", "--project", "shop", "--participants", "ghost@example.com", "--start", "2026-12-07"],
         "no developer with id or e-mail 'ghost@example.com'"),
        (["rotation", "--project", "shop", "--participants", " , ", "--start", "2026-12-07"],
         "--participants needs at least one"),
        (["override", "--project", "shop", "--developer", "ana@example.com", "--start", "2026-12-09",
          "--end", "2026-12-10"], "project shop has no on-call schedule"),
        (["now", "--at", "yesterday"], "invalid --at 'yesterday'"),
        (["now", "--project", "nope"], "no project named 'nope'"),
    ],
)  # fmt: skip
def test_oncall_errors_are_one_line(errlog, read, shop, one_line_error, args, message):
    one_line_error(errlog("oncall", *args), message)
    assert read(select(OncallRotation)) == []


def test_override_must_end_after_it_starts(errlog, read, shop, one_line_error):
    assert weekly_shop_rotation(errlog).exit_code == 0
    result = errlog(
        "oncall", "override", "--project", "shop", "--developer", "ana@example.com",
        "--start", "2026-12-10", "--end", "2026-12-09",
    )  # fmt: skip
    one_line_error(result, "an override must end after it starts")
    assert read(select(OncallOverride)) == []
