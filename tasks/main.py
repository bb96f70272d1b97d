"""What the consumer loads: the Huey instance and every module that defines tasks, so each one is registered."""

from __future__ import annotations

from tasks import alerts, deliver, maintenance, retention, summary
from tasks.queue import huey

__all__ = ["alerts", "deliver", "huey", "maintenance", "retention", "summary"]
