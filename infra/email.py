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
    def _client(self):  # created on first use: a boto3 client costs as much as a cold start's imports
        import boto3

        return boto3.client("ses", region_name=self._settings.region)

    def send(self, message: EmailMessage) -> None:
        if message.attachments:
            self._client.send_raw_email(
                Source=self._settings.mail_from,
                Destinations=list(message.to),
                RawMessage={"Data": mime_message(message, sender=self._settings.mail_from).as_bytes()},
            )
            return
        self._client.send_email(
            Source=self._settings.mail_from,
            Destination={"ToAddresses": list(message.to)},
            Message={
                "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
            },
        )


def mime_message(message: EmailMessage, *, sender: str):
    """The message as MIME: text body plus attachments (what SES sends raw)."""
    from email.message import EmailMessage as MimeMessage

    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename)
    return mime


def build_mailer(settings: Settings):
    return SesMailer(settings) if settings.email_backend == "ses" else MemoryMailer()
