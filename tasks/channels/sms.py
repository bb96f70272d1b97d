"""SMS through Twilio's REST API, the text cut to fit one segment when it can."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.messages import AlertMessage, short_text

# The GSM 03.38 default alphabet: a text of only these fits 160 characters in one segment. The extension
# characters take two (an escape plus the character). Anything else makes it UCS-2, 70 characters a segment.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM_SEGMENT = 160
UCS2_SEGMENT = 70


def gsm_length(text: str) -> int | None:
    """Septets `text` takes in the GSM alphabet, or None when it needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM_BASIC:
            length += 1
        elif char in GSM_EXTENSION:
            length += 2
        else:
            return None
    return length


def fits_one_segment(text: str) -> bool:
    septets = gsm_length(text)
    return septets <= GSM_SEGMENT if septets is not None else len(text) <= UCS2_SEGMENT


def sms_text(message: AlertMessage) -> str:
    """The alert in one SMS segment when it can be: 160 GSM characters, or 70 when the title needs Unicode. When
    even the shortest form does not fit (a Unicode service name, say) it is sent as a longer, multi-part text."""
    text = short_text(message, GSM_SEGMENT)
    if gsm_length(text) is None:
        return short_text(message, UCS2_SEGMENT)
    # Extension characters take two septets: the longest text that still fits.
    for limit in range(GSM_SEGMENT, 19, -1):
        text = short_text(message, limit)
        septets = gsm_length(text)
        if septets is None or septets <= GSM_SEGMENT:
            break
    return text


def configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from)


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    if not configured(settings):
        raise DeliveryError("SMS is not configured (ERRLOG_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM)", transient=False)
    sid = settings.twilio_account_sid or ""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    return post(
        f"{settings.twilio_base_url}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
        data={"To": notification.target, "From": settings.twilio_from or "", "Body": sms_text(message)},
        auth=httpx.BasicAuth(sid, token),
        timeout=settings.notification_timeout_seconds,
    )
