"""Analysis of the stored errors: patterns (spikes, recurring, regressions, new in release, correlated), impact
scores, the daily stats roll-up and the events-per-minute check. Plain functions taking (session, now); the
periodic tasks that call them are in tasks/analysis/jobs.py."""
