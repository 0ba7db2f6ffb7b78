"""The invoice repository keeps issued invoices immutable and lists them by payer, date and status."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.invoices import InvoiceDraft, InvoiceImmutable, InvoiceKind, InvoiceLine, InvoiceStatus, PaymentMethod, VatTreatment, Payment
from domain.errors import Conflict
from domain.money import Money
from domain.services import invoices as invoicing
from infra.dynamo.unit_of_work import DynamoUnitOfWork


def issue(n: int, day: str, payer: str = "cus_1"):
    draft = InvoiceDraft(
        invoice_id=f"inv_{n:04d}", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id=payer, customer_id=payer, currency="EUR",
        lines=(InvoiceLine.priced(f"Leistung {n}", 1, Money.of("100.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER,
    )
    return invoicing.issue_draft(DynamoUnitOfWork, draft, now=datetime.fromisoformat(f"{day}T10:00:00+00:00"), prefix="PH")


def test_an_issued_invoice_cannot_be_changed_through_the_repository(aws):
    invoice = DynamoUnitOfWork().invoices.get(issue(1, "2026-03-02").id)
    uow = DynamoUnitOfWork()
    with uow, pytest.raises(InvoiceImmutable):
        uow.invoices.update_payments(invoice, replace(invoice, payer_id="cus_2"))
    with uow, pytest.raises(InvoiceImmutable):
        paid = replace(invoice, payments=(Payment(Money.of("1.00"), date(2026, 3, 3), "A"),))
        uow.invoices.update_payments(paid, replace(invoice, payments=(Payment(Money.of("2.00"), date(2026, 3, 3), "A"),)))
    assert DynamoUnitOfWork().invoices.get(invoice.id) == invoice


def test_a_payment_saved_on_a_stale_read_is_refused(aws):
    stale = DynamoUnitOfWork().invoices.get(issue(1, "2026-03-02").id)
    for reference in ("A", "B"):
        uow = DynamoUnitOfWork()
        with uow:
            uow.invoices.update_payments(stale, replace(stale, payments=(Payment(Money.of("1.00"), date(2026, 3, 3), reference),)))
            if reference == "A":
                uow.commit()
            else:
                with pytest.raises(Conflict):
                    uow.commit()
    assert [p.reference for p in DynamoUnitOfWork().invoices.get(stale.id).payments] == ["A"]


def test_a_payers_invoices_are_listed_newest_first_within_dates_and_by_status(aws):
    january, march, april = issue(1, "2026-01-10"), issue(2, "2026-03-02"), issue(3, "2026-04-01")
    issue(4, "2026-03-05", payer="cus_2")
    repo = DynamoUnitOfWork().invoices

    def listed(**kwargs):
        args = {"issued_from": None, "issued_to": None, "status": None, "limit": 10, "cursor": None, **kwargs}
        return [i.number for i in repo.list_for_payer("cus_1", **args).items]

    assert listed() == [april.number, march.number, january.number]
    assert listed(issued_from=date(2026, 3, 2), issued_to=date(2026, 3, 31)) == [march.number]
    stored = repo.get(march.id)
    uow = DynamoUnitOfWork()
    with uow:
        uow.invoices.update_payments(stored, replace(stored, payments=(Payment(march.gross_total, date(2026, 3, 9), "BANK"),)))
        uow.commit()
    assert listed(status=InvoiceStatus.PAID) == [march.number]
    assert listed(status=InvoiceStatus.ISSUED) == [april.number, january.number]
    # open and past due, oldest due first: April's invoice is due 2026-04-15, overdue from the 16th; March's is paid
    assert [i.number for i in repo.list_open_due_before(date(2026, 4, 15), limit=10, cursor=None).items] == [january.number, "PH-2026-000004"]
    assert [i.number for i in repo.list_open_due_before(date(2026, 4, 16), limit=10, cursor=None).items][-1] == april.number


def test_a_credit_note_made_from_a_stale_read_of_its_invoice_is_refused_and_uses_no_number(aws):
    from domain.invoices import credit_note_for
    from domain.policy import Principal
    from domain.organisations import OrganisationKind, Role
    from domain.services.invoice_errors import InvoiceChangedMeanwhile

    ops = Principal("usr_d", "dst_1", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
    invoice = issue(1, "2026-03-02")
    now = datetime(2026, 3, 3, 9, tzinfo=timezone.utc)
    stale = DynamoUnitOfWork().invoices.get(invoice.id)
    invoicing.create_credit_note(DynamoUnitOfWork, ops, invoice.id, reason="Teil 1", lines=None, now=now, prefix="PH", ledger=None)
    with pytest.raises(InvoiceChangedMeanwhile):  # a second writer that read the invoice before the first note
        invoicing.issue(
            DynamoUnitOfWork, issuer_id="dst_1", now=now, prefix="PH",
            build=lambda number: credit_note_for(stale, reason="Teil 2", now=now, number=number, credit_note_id="inv_second"),
            also=lambda uow, note: invoicing.register_credit_note(uow, stale, note, ledger=None, now=now).credit_note,
        )
    notes = DynamoUnitOfWork().invoices.credit_notes_of([invoice.id])[invoice.id]
    assert [n.number for n in notes] == ["PH-2026-000002"]
    assert DynamoUnitOfWork().invoice_numbers.last_sequence("dst_1", 2026) == 2
