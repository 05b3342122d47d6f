"""Email messages and sending them through the configured SMTP server."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hashtag_core.alerts.settings import SmtpSettings

__all__ = ["EmailNotConfigured", "Attachment", "build_message", "send_message"]

#: (file name, MIME type "main/sub", content)
Attachment = tuple[str, str, bytes]


class EmailNotConfigured(Exception):
    """No SMTP host is set (HASHTAG_SMTP__HOST)."""


def build_message(
    settings: SmtpSettings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    idempotency_key: str,
) -> EmailMessage:
    """A message from the configured sender: plain text, an HTML alternative, attachments.
    The idempotency key is its `X-Hashtag-Delivery` header (receivers can drop a repeat)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["X-Hashtag-Delivery"] = idempotency_key
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, mime, content in attachments:
        main, _, sub = mime.partition("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=name)
    return message


def _send(settings: SmtpSettings, message: EmailMessage) -> None:
    if not settings.host:
        raise EmailNotConfigured("no SMTP server is configured (HASHTAG_SMTP__HOST)")
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            password = settings.password.get_secret_value() if settings.password else ""
            smtp.login(settings.user, password)
        smtp.send_message(message)


async def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message (smtplib, in a thread); raises on any refusal or network error."""
    await asyncio.to_thread(_send, settings, message)
