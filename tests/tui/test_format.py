"""How values read on screen: relative times, counts, sparklines, bars, ignore durations, durations."""

from __future__ import annotations

import datetime as dt

import pytest

from tui.charts import bar_chart, resample
from tui.format import ago, bar, compact_number, first_name, relative_time, short_title, sparkline, truncate, until
from tui.screens.ignore_dialog import describe_ignore, parse_ignore
from tui.widgets.stats_pane import duration

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "now"),
        (9, "now"),
        (45, "45s"),
        (60, "1m"),
        (3599, "59m"),
        (7200, "2h"),
        (86_400 * 3, "3d"),
        (86_400 * 20, "2w"),
    ],
)
def test_relative_time(seconds: int, text: str) -> None:
    assert relative_time(NOW - dt.timedelta(seconds=seconds), NOW) == text


def test_relative_time_edges() -> None:
    assert relative_time(None, NOW) == "-"
    assert relative_time(NOW + dt.timedelta(hours=1), NOW) == "now"  # a clock ahead is not "in the future"
    assert ago(NOW - dt.timedelta(minutes=5), NOW) == "5m ago"
    assert until(NOW + dt.timedelta(hours=3), NOW) == "3h"


@pytest.mark.parametrize(
    ("value", "text"), [(7, "7"), (999, "999"), (1234, "1.2k"), (56_000, "56k"), (2_500_000, "2.5M")]
)
def test_compact_number(value: int, text: str) -> None:
    assert compact_number(value) == text


def test_sparkline_scales_to_the_peak_and_width() -> None:
    assert sparkline([0, 1, 2, 4, 8], 5) == " ▁▂▄█"
    assert len(sparkline(list(range(24)), 8)) == 8
    assert sparkline([], 4) == "    "
    assert sparkline([0, 0], 2) == "  "


def test_bar_and_truncate() -> None:
    assert bar(5, 10, 4) == "██░░"
    assert bar(0, 0, 3) == "░░░"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("title", "width", "text"),
    [
        ("java.lang.NullPointerException: invoice is null", 40, "NullPointerException: invoice is null"),
        ("Illuminate\\Database\\QueryException: SQLSTATE[40001]", 31, "QueryException: SQLSTATE[40001]"),
        ("java.lang.NullPointerException: invoice is null", 60, "java.lang.NullPointerException: invoice is null"),
        ("TypeError: Cannot read properties of undefined", 20, "TypeError: Cannot r…"),
        ("Payment failed: card declined (code 51)", 20, "Payment failed: car…"),
        ("a.b.C", 3, "a.…"),
    ],
)
def test_short_title_drops_the_exception_package_only_when_needed(title: str, width: int, text: str) -> None:
    assert short_title(title, width) == text


def test_first_name() -> None:
    assert (first_name("Dana Kowalski"), first_name("Cher"), first_name(" ")) == ("Dana", "Cher", " ")


def test_resample_groups_end_at_the_newest_bucket() -> None:
    assert resample([1, 1, 1, 1, 5], 2) == [2, 7]
    assert resample([1, 2, 3], 10) == [1, 2, 3]


def test_bar_chart_labels_the_peak() -> None:
    lines = bar_chart([0, 4, 8], 11, 2).plain.splitlines()
    assert lines[0].startswith("     8 ┤")
    assert lines[0].endswith(" █") and lines[1].endswith("██")


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("90m", {"duration_minutes": 90}),
        ("2h", {"duration_minutes": 120}),
        ("3d", {"duration_minutes": 4320}),
        ("1w", {"duration_minutes": 10080}),
        ("50 events", {"events": 50}),
        ("1 event", {"events": 1}),
        ("10 users", {"users": 10}),
        ("forever", {}),
    ],
)
def test_parse_ignore(text: str, body: dict[str, int]) -> None:
    assert parse_ignore(text) == body


@pytest.mark.parametrize("text", ["", "soon", "0h", "2 parsecs", "-3d"])
def test_parse_ignore_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="use a number and a unit"):
        parse_ignore(text)


def test_describe_ignore() -> None:
    assert describe_ignore({"duration_minutes": 120}) == "for 2h"
    assert describe_ignore({"duration_minutes": 90}) == "for 90m"
    assert describe_ignore({"events": 100}) == "until 100 more events"
    assert describe_ignore({}) == "forever"


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "-"), (42, "42s"), (750, "12m 30s"), (3600, "1h"), (190_000, "2d 4h")]
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
