"""How loaded a developer is, as the server's auto-assignment weighs it, and who to offer first."""

from __future__ import annotations

from tui.models import Workload

# One critical error weighs like three lesser ones.
WEIGHTS = {"critical": 3, "high": 2, "medium": 1, "low": 1}


def weighted_load(row: Workload) -> int:
    counts = row.open_by_severity
    return sum(WEIGHTS[name] * getattr(counts, name) for name in WEIGHTS)


def picker_order(rows: list[Workload]) -> list[Workload]:
    """On call now first (primary before secondary), then the least loaded, then by name."""
    return sorted(
        rows,
        key=lambda r: (not r.on_call_now, min(r.on_call_levels or [99]), weighted_load(r), r.developer.name.lower()),
    )
