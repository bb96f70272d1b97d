"""The collector: the ASGI app receiving errors (Sentry protocol, JSON webhooks) and serving the REST API."""
