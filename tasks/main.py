"""What the consumer loads: the Huey instance and every module that defines tasks, so each one is registered."""

from __future__ import annotations

from tasks import (
    alerts,
    deliver,
    escalate,
    heartbeats,
    incidents,
    maintenance,
    retention,
    shift_notice,
    summary,
)
from tasks.analysis import jobs as analysis
from tasks.queue import huey

__all__ = [
    "alerts",
    "analysis",
    "deliver",
    "escalate",
    "heartbeats",
    "huey",
    "incidents",
    "maintenance",
    "retention",
    "shift_notice",
    "summary",
]
