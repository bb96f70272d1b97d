"""E-mail over SMTP (plain, STARTTLS or TLS, with login): alerts and notices as multipart plain text and HTML."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from db.models import Notification
from errlog.settings import Settings
from tasks import notices
from tasks.channels.base import DeliveryError, DeliveryResult
from tasks.messages import AlertMessage, html_text, plain_text, subject
from tasks.notices import Notice

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpServer:
    """smtp://[user:password@]host[:port][?starttls=1] or smtps://... (TLS from the first byte)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"not an SMTP URL: expected smtp://host or smtps://host, got scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    if parts.scheme == "smtps":
        security, default_port = "tls", 465
    elif query.get("starttls", [""])[0].lower() in _TRUE:
        security, default_port = "starttls", 587
    else:
        security, default_port = "none", 25
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("the SMTP URL's port is not a number") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def configured(settings: Settings) -> bool:
    return settings.smtp_url is not None


def compose(notification: Notification, message: AlertMessage, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject(message)
    mail["From"] = sender
    mail["To"] = notification.target
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid("errlog")
    mail["X-Errlog-Error-Id"] = str(message.issue_id)
    mail["X-Errlog-Severity"] = message.severity
    mail.set_content(plain_text(message))
    mail.add_alternative(html_text(message), subtype="html")
    return mail


def _smtp_error(exc: smtplib.SMTPResponseException) -> DeliveryError:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    # 4xx replies are temporary (greylisting, full mailbox, busy server); 5xx are final.
    code = exc.smtp_code
    return DeliveryError(f"SMTP {code}: {text}", transient=400 <= code < 500, status_code=code)


def compose_notice(notification: Notification, notice: Notice, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = notice.title
    mail["From"] = sender
    mail["To"] = notification.target
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid("errlog")
    # Lets mail filters sort the kinds apart (shift notices, daily summaries...) without reading subjects.
    mail["X-Errlog-Notice"] = notice.kind
    mail.set_content(notices.plain_text(notice))
    mail.add_alternative(notices.html_text(notice), subtype="html")
    return mail


def smtp_server(settings: Settings) -> SmtpServer:
    if settings.smtp_url is None:
        raise DeliveryError("e-mail is not configured (ERRLOG_SMTP_URL)", transient=False)
    try:
        return parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise DeliveryError(f"ERRLOG_SMTP_URL: {exc}", transient=False) from None


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    server = smtp_server(settings)
    return transmit(compose(notification, message, settings.smtp_from), server, settings.notification_timeout_seconds)


def send_notice(notification: Notification, notice: Notice, settings: Settings) -> DeliveryResult:
    server = smtp_server(settings)
    return transmit(
        compose_notice(notification, notice, settings.smtp_from), server, settings.notification_timeout_seconds
    )


def transmit(mail: EmailMessage, server: SmtpServer, timeout: float) -> DeliveryResult:
    """Hand one composed mail to the SMTP server; DeliveryError says whether it is worth retrying."""
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if server.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        raise DeliveryError(
            f"SMTP {code}: recipient refused: {text}", transient=400 <= code < 500, status_code=code
        ) from None
    except smtplib.SMTPResponseException as exc:  # sender refused, auth failed, data refused, 421 on connect...
        raise _smtp_error(exc) from None
    except smtplib.SMTPNotSupportedError as exc:  # e.g. ?starttls=1 against a server without STARTTLS
        raise DeliveryError(f"SMTP server does not support what was asked: {exc}", transient=False) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"SMTP server certificate not trusted: {exc.verify_message}", transient=False) from None
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, timeouts, refused connections, TLS errors
        raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}", transient=True) from None
    return DeliveryResult(250, f"accepted by {server.host}:{server.port}")
