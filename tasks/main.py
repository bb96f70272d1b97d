"""What the consumer loads: the Huey instance and every module that defines tasks, so each one is registered."""

from __future__ import annotations

from tasks import alerts, deliver, heartbeats
from tasks.queue import huey

__all__ = ["alerts", "deliver", "heartbeats", "huey"]
