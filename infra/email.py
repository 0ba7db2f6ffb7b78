"""E-mail adapters: SES in AWS, an in-memory outbox locally and in tests."""

from __future__ import annotations

import logging
import threading
from functools import cached_property

from domain.ports import EmailMessage
from infra.settings import Settings

log = logging.getLogger(__name__)


class MemoryMailer:
    """Keeps sent messages so tests (and the local server's log) can read them."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            self.sent.append(message)
        log.info("e-mail to %s: %s", ", ".join(message.to), message.subject)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if address in m.to]


class SesMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self):  # created on first use, on the shared session (infra/aws.py): no request pays for it twice
        from infra.aws import boto3_client

        return boto3_client("ses", region_name=self._settings.region)

    def send(self, message: EmailMessage) -> None:
        # Raw, always: only a raw message carries the headers that tell autoresponders not to answer (see mime_message).
        self._client.send_raw_email(
            Source=self._settings.mail_from,
            Destinations=list(message.to),
            RawMessage={"Data": mime_message(message, sender=self._settings.mail_from).as_bytes()},
        )


def mime_message(message: EmailMessage, *, sender: str):
    """The message as MIME: text body plus attachments (what SES sends raw). Every mail of ours is automatic
    (RFC 3834 ``Auto-Submitted: auto-generated``; Exchange's ``X-Auto-Response-Suppress``), so out-of-office
    replies are not sent to it, and a ticket notice cannot start a loop with an autoresponder."""
    from email.message import EmailMessage as MimeMessage

    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename)
    return mime


def build_mailer(settings: Settings):
    return SesMailer(settings) if settings.email_backend == "ses" else MemoryMailer()
