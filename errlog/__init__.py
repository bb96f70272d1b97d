"""errlog: a self-hosted error tracker for on-call triage."""

__version__ = "0.1.0"
