"""Background jobs on Huey: notification channels, delivery, escalation, analysis, retention."""
