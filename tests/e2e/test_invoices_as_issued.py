"""An issued invoice stays as issued (GoBD) when its payer is renamed or moves afterwards: a free copy re-sends the
stored PDF byte for byte, and a PDF rendered again (lost from storage, or a retried delivery) prints the payer's name
and address of the day of issue. Invoices stored before issuer and payer were kept with them print the master data.

Demo: Direktkunde Müller e.K., Marktplatz 3, 20095 Hamburg, billed 99.99 on 2026-11-23 (NOW); three days later it is
renamed "Müller Systemhaus GmbH" and moves to Neue Straße 99, 04109 Leipzig, with a new billing address.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.organisations import Address
from domain.policy import Principal
from domain.services import invoices as invoicing
from domain.services import organisations as orgs
from infra.dynamo.models import InvoiceModel
from tests.conftest import NOW
from tests.e2e.test_invoices_api import COPY, DOWNLOAD, Biller
from tests.unit.test_pdf import text_of

RENAMED = orgs.CustomerChanges(
    name="Müller Systemhaus GmbH", address=Address.create("Neue Straße 99", "04109", "Leipzig"),
    billing_email="buchhaltung@mueller-systemhaus.example",
)


@pytest.fixture
def direkt_invoice(services, demo):
    """Direkt's invoice of 99.99, delivered on NOW: its PDF stored, the e-mail sent; then Direkt renamed and moved."""
    [invoice] = Biller(services, demo).run(NOW, Biller(services, demo).item("direkt", "99.99"))
    original = services.documents.get(invoicing.document_key(invoice))
    assert "Direktkunde Müller e.K." in text_of(original) and "20095 Hamburg" in text_of(original)
    ops = Principal.of(demo.users["distributor"])
    orgs.update_customer(services.uow(), ops, demo.customers["direkt"].id, RENAMED, now=NOW + timedelta(days=3))
    services.mailer.sent.clear()
    return invoice, original


def lose_pdf(services, invoice) -> None:
    services.documents._client.delete_object(Bucket=services.documents.bucket, Key=invoicing.document_key(invoice))
    assert not services.documents.exists(invoicing.document_key(invoice))


def assert_as_issued(pdf: bytes) -> None:
    text = text_of(pdf)
    assert "Direktkunde Müller e.K." in text and "Marktplatz 3" in text and "20095 Hamburg" in text
    assert "Müller Systemhaus" not in text and "Leipzig" not in text


def test_a_free_copy_after_the_payer_was_renamed_and_moved_is_the_stored_original_byte_for_byte(as_user, services, direkt_invoice):
    invoice, original = direkt_invoice
    result = as_user("distributor")(COPY, {"input": {"invoiceId": invoice.id}})["invoiceCopyRequest"]
    assert (result["decision"], result["resent"], result["errors"]) == ("FREE_RESEND", True, [])
    [mail] = services.mailer.sent
    assert mail.to == ("buchhaltung@mueller-systemhaus.example",)  # sent where the payer wants its invoices now
    assert mail.attachments[0].data == original
    assert_as_issued(mail.attachments[0].data)


def test_a_pdf_lost_from_storage_is_rendered_again_with_the_name_and_address_of_the_day_of_issue(as_user, services, direkt_invoice):
    invoice, original = direkt_invoice
    lose_pdf(services, invoice)
    assert as_user("distributor")(DOWNLOAD, {"id": invoice.id})["invoice"]["downloadUrl"]
    stored = services.documents.get(invoicing.document_key(invoice))
    assert_as_issued(stored)
    assert stored == original  # rendering is deterministic: the same document again

    lose_pdf(services, invoice)
    as_user("distributor")(COPY, {"input": {"invoiceId": invoice.id}})
    [mail] = services.mailer.sent
    assert mail.attachments[0].data == original


def test_a_delivery_retried_after_the_payer_was_renamed_prints_the_issued_name_and_address(services, demo, failing_mailer):
    biller = Biller(services, demo)
    [invoice] = biller.run(NOW, biller.item("direkt", "99.99"))  # the e-mail is refused: stays undelivered
    ops = Principal.of(demo.users["distributor"])
    orgs.update_customer(services.uow(), ops, demo.customers["direkt"].id, RENAMED, now=NOW + timedelta(hours=2))
    failing_mailer.restore()
    services.mailer.sent.clear()
    delivered, failed = invoicing.deliver_pending(services.uow, invoice.issue_date, documents=services.documents, mailer=services.mailer,
                                                  renderer=services.invoice_renderer, now=NOW + timedelta(hours=3))
    assert failed == 0 and delivered >= 1
    [mail] = [m for m in services.mailer.sent if invoice.number in m.subject]
    assert_as_issued(mail.attachments[0].data)
    assert_as_issued(services.documents.get(invoicing.document_key(invoice)))


def test_an_invoice_stored_before_its_parties_were_kept_still_renders_from_the_master_data(as_user, services, direkt_invoice):
    invoice, _ = direkt_invoice
    item = InvoiceModel.get(invoice.id)
    data = {k: v for k, v in item.data.items() if k not in ("issuer_party", "payer_party")}
    item.update(actions=[InvoiceModel.data.set(data)])
    stored = services.uow().invoices.get(invoice.id)
    assert (stored.issuer_party, stored.payer_party) == (None, None)
    lose_pdf(services, invoice)

    as_user("distributor")(COPY, {"input": {"invoiceId": invoice.id}})
    [mail] = services.mailer.sent
    text = text_of(mail.attachments[0].data)
    assert "Müller Systemhaus GmbH" in text and "04109 Leipzig" in text and "Cloud Distribution GmbH" in text


def test_a_credit_note_prints_the_payer_of_its_own_day_of_issue(as_user, services, direkt_invoice):
    from tests.e2e.test_invoices_api import CREDIT

    invoice, _ = direkt_invoice
    note = as_user("distributor")(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "Doppelt berechnet"}})["creditNoteCreate"]
    assert note["errors"] == []
    [mail] = services.mailer.sent
    text = text_of(mail.attachments[0].data)
    assert "Müller Systemhaus GmbH" in text and "04109 Leipzig" in text  # issued after the move
