"""How values read on screen: relative times, severities, flags and sparklines, as plain functions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from rich.text import Text

SEVERITY_ORDER = ("critical", "high", "medium", "low")
SEVERITY_LABEL = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW"}
# Styles only add emphasis: every distinction is also in the text, so NO_COLOR loses nothing.
SEVERITY_STYLE = {"critical": "bold red", "high": "bold dark_orange", "medium": "yellow", "low": "dim"}
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def severity_text(severity: str) -> Text:
    return Text(SEVERITY_LABEL.get(severity, severity.upper()[:4]), style=SEVERITY_STYLE.get(severity, ""))


def relative_time(when: dt.datetime | None, now: dt.datetime) -> str:
    """'now', '45s', '12m', '3h', '5d', '7w': short enough for a narrow column; never negative."""
    if when is None:
        return "-"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 10:
        return "now"
    for size, unit in ((604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size * (2 if unit == "w" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def until(when: dt.datetime, now: dt.datetime) -> str:
    """How long until `when`: '3h', '2d' ('now' once it has passed)."""
    return relative_time(now, when)


def ago(when: dt.datetime | None, now: dt.datetime) -> str:
    text = relative_time(when, now)
    return text if text in ("-", "now") else f"{text} ago"


def clock(when: dt.datetime | None) -> str:
    return "-" if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def compact_number(value: int) -> str:
    """1234 -> '1.2k': counts stay within five characters."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{int(scaled)}{unit}"
    return str(value)


def sparkline(counts: Sequence[int], width: int) -> str:
    """Counts (oldest first) squeezed into `width` block characters, each summing its share of buckets."""
    if width <= 0:
        return ""
    if not counts:
        return " " * width
    per = max(1, -(-len(counts) // width))
    sums = [sum(counts[i : i + per]) for i in range(0, len(counts), per)][-width:]
    top = max(sums)
    cells = [" " if value == 0 else SPARK_BLOCKS[min(7, (value * 8 - 1) // top)] for value in sums]
    return "".join(cells).rjust(width)


def short_title(title: str, width: int) -> str:
    """`title` in `width` cells. When it does not fit, the exception type loses its package first
    ('java.lang.NullPointerException: x' -> 'NullPointerException: x'): the message is worth more than the path."""
    if len(title) > width:
        kind, colon, message = title.partition(": ")
        if colon and kind and " " not in kind:
            title = re.split(r"[.\\/]", kind)[-1] + colon + message
    return truncate(title, width)


def first_name(name: str) -> str:
    return name.split()[0] if name.strip() else name


def truncate(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def bar(value: int, top: int, width: int) -> str:
    """A horizontal load bar of `width` cells, full at `top`."""
    if width <= 0:
        return ""
    filled = 0 if top <= 0 else min(width, round(width * value / top))
    return "█" * filled + "░" * (width - filled)
