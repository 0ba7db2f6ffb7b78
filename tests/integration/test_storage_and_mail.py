"""Documents in S3 and e-mail with attachments through SES, against moto."""

from __future__ import annotations

import email
import urllib.parse

import boto3
import pytest

from domain.ports import EmailAttachment, EmailMessage


@pytest.fixture
def settings(aws):
    from infra.settings import get_settings

    return get_settings()


def test_a_stored_document_reads_back_and_its_download_url_expires(settings):
    from infra.storage import S3DocumentStore

    store = S3DocumentStore(settings)
    store.put("invoices/2026/PH-2026-000001.pdf", b"%PDF-1.7 test", "application/pdf")

    assert store.get("invoices/2026/PH-2026-000001.pdf") == b"%PDF-1.7 test"
    assert store.exists("invoices/2026/PH-2026-000001.pdf")
    assert not store.exists("invoices/2026/PH-2026-000002.pdf")
    url = store.download_url("invoices/2026/PH-2026-000001.pdf", filename="PH-2026-000001.pdf", expires_in_seconds=300)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert 'filename="PH-2026-000001.pdf"' in query["response-content-disposition"][0]


def test_an_upload_form_pins_key_type_and_size(settings):
    from infra.storage import S3DocumentStore

    form = S3DocumentStore(settings).upload_form("uploads/ptn_1/proof.pdf", content_type="application/pdf", max_bytes=5_000_000)

    assert form.key == "uploads/ptn_1/proof.pdf"
    assert form.fields["key"] == "uploads/ptn_1/proof.pdf"
    assert form.fields["Content-Type"] == "application/pdf"
    policy = form.fields["policy"]
    import base64
    import json

    conditions = json.loads(base64.b64decode(policy))["conditions"]
    assert ["content-length-range", 1, 5_000_000] in conditions
    assert {"Content-Type": "application/pdf"} in conditions


def test_ses_sends_attachments_as_mime(settings):
    from infra.email import SesMailer

    ses = boto3.client("ses", region_name=settings.region)
    ses.verify_email_identity(EmailAddress=settings.mail_from)
    SesMailer(settings).send(
        EmailMessage(
            to=("billing@hanse-logistik.example",),
            subject="Invoice PH-2026-000001",
            body="Please find the invoice attached.",
            attachments=(EmailAttachment("PH-2026-000001.pdf", "application/pdf", b"%PDF-1.7 test"),),
        )
    )

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID][settings.region].sent_messages
    assert len(sent) == 1
    parsed = email.message_from_string(sent[0].raw_data)
    parts = {part.get_filename(): part.get_payload(decode=True) for part in parsed.walk() if part.get_filename()}
    assert parts == {"PH-2026-000001.pdf": b"%PDF-1.7 test"}
    assert parsed["To"] == "billing@hanse-logistik.example"
    assert (parsed["Auto-Submitted"], parsed["X-Auto-Response-Suppress"]) == ("auto-generated", "All")
