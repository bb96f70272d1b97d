"""Apprise: one bridge to the services errlog has no channel of its own for (Teams, Telegram, Discord, Matrix...).

Optional: `pip install 'errlog[apprise]'`. ERRLOG_APPRISE_URLS lists the company-wide targets; it is a shared channel
like Slack, so the routing matrix (company default or a project's own) decides which severities reach it."""

from __future__ import annotations

import logging
import re
from typing import Any

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult
from tasks.messages import AlertMessage, plain_text, subject

log = logging.getLogger(__name__)

NOT_INSTALLED = "ERRLOG_APPRISE_URLS is set but apprise is not installed: pip install 'errlog[apprise]'"
# Apprise URLs hold no spaces or commas of their own (they are URL-encoded), so either separates them.
_SEPARATORS = re.compile(r"[\s,]+")


def configured(settings: Settings) -> bool:
    return settings.apprise_urls is not None and bool(urls(settings))


def urls(settings: Settings) -> list[str]:
    if settings.apprise_urls is None:
        return []
    return [url for url in _SEPARATORS.split(settings.apprise_urls.get_secret_value()) if url]


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        log.error(NOT_INSTALLED)
        raise DeliveryError(NOT_INSTALLED, transient=False) from None
    return apprise


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    apprise = _apprise()
    targets = urls(settings)
    if not targets:
        raise DeliveryError("Apprise is not configured (ERRLOG_APPRISE_URLS)", transient=False)
    bridge = apprise.Apprise()
    for index, url in enumerate(targets, start=1):
        if not bridge.add(url):
            # The URL itself is not shown: it usually holds the service's token.
            raise DeliveryError(f"ERRLOG_APPRISE_URLS: URL {index} is not an Apprise URL", transient=False)
    notify_type = apprise.NotifyType.FAILURE if message.severity == "critical" else apprise.NotifyType.WARNING
    with apprise.LogCapture(level=logging.WARNING) as captured:
        delivered = bridge.notify(body=plain_text(message), title=subject(message), notify_type=notify_type)
        problems = " ".join(captured.getvalue().split())
    if not delivered:
        # Apprise says only "not every target took it"; the services' answers are in its log.
        raise DeliveryError(f"Apprise could not deliver to every URL: {problems[:300] or 'no detail'}", transient=True)
    return DeliveryResult(None, f"delivered to {len(targets)} Apprise URL(s)")
