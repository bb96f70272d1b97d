"""The knobs of pattern detection, from the settings (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass

from errlog.settings import Settings


@dataclass(frozen=True)
class AnalysisParams:
    # A spike needs at least this many events in its window, however quiet the error usually is.
    spike_min_events: int = 10
    # Recurring: seen on at least `recurring_days` distinct days of the last `recurring_window_days`.
    recurring_days: int = 3
    recurring_window_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalysisParams:
        return cls(
            spike_min_events=settings.pattern_spike_min_events,
            recurring_days=settings.pattern_recurring_days,
            recurring_window_days=settings.pattern_recurring_window_days,
        )
