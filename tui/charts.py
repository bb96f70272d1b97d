"""Charts drawn with block characters, for terminals of any size and without colour."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

EIGHTHS = " ▁▂▃▄▅▆▇█"


def resample(counts: Sequence[int], width: int) -> list[int]:
    """`counts` summed into at most `width` columns, the newest at the right."""
    if width <= 0 or not counts:
        return []
    per = max(1, -(-len(counts) // width))
    # Groups end at the newest bucket, so the right-hand column is always a whole group of the latest counts.
    start = len(counts) % per
    head = [sum(counts[:start])] if start else []
    return head + [sum(counts[i : i + per]) for i in range(start, len(counts), per)]


def bar_chart(counts: Sequence[int], width: int, height: int, style: str = "") -> Text:
    """A vertical bar chart `height` rows tall, the y axis labelled with the peak."""
    columns = resample(counts, max(1, width - 8))
    top = max(columns, default=0)
    label = str(top)
    lines = []
    for row in range(height, 0, -1):
        cells = []
        for value in columns:
            eighths = 0 if top == 0 else round(value * height * 8 / top)
            filled = eighths - (row - 1) * 8
            cells.append(EIGHTHS[max(0, min(8, filled))])
        axis = f"{label:>6} ┤" if row == height else "       │"
        lines.append(axis + "".join(cells))
    text = Text()
    for i, line in enumerate(lines):
        if i:
            text.append("\n")
        text.append(line[:8], "dim")
        text.append(line[8:], style)
    return text
