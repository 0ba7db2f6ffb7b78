"""Rental and data-centre customers are billed separately by SEPA direct debit (a mandate on file); the others pay
by transfer.

Direktkunde Müller (no partner) hosts in the data centre from 2026-11-01 for EUR 300.00 a month and has a service
report of EUR 80.00 billed on 2026-12-01. The distributor's creditor identifier is DE98ZZZ09999999999.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain import contracts as ct
from domain.billing import ServiceItem
from domain.invoices import DirectDebit, PaymentMethod
from domain.money import Money
from domain.services import contracts as contract_svc
from domain.services import organisations as org_svc
from domain.services.invoices import document_key
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.integration.billing_world import build_world, pdf_text, utc

CREDITOR_ID = "DE98ZZZ09999999999"
MANDATE = org_svc.MandateDetails("MNDT-2026-0042", "DE89 3704 0044 0532 0130 00", "Direktkunde Müller e.K.", date(2026, 10, 20))


@pytest.fixture
def world(aws):
    return build_world()


@pytest.fixture
def hosting(world):
    return contract_svc.create_contract(
        DynamoUnitOfWork(), world.ops,
        contract_svc.NewContract(world.customer("direkt"), ct.ContractKind.DATA_CENTRE_HOSTING, date(2026, 11, 1), ct.Rates(Money.of("95.00")),
                                 monthly_flat_rate=Money.of("300.00")),
        now=utc("2026-10-20T09:00:00"),
    )


def book(world, contract, month: str, bill_date: date, *, report: str | None = None) -> None:
    uow = DynamoUnitOfWork()
    with uow:
        uow.service_items.add(ct.flat_rate_item(contract, month), bill_date=bill_date)
        if report:
            uow.service_items.add(ServiceItem(world.customer("direkt"), f"Service report {report}", Decimal(1), Money.of("80.00"), report), bill_date=bill_date)
        uow.commit()


def run(world, day: date):
    return world.run(day, utc(f"{day.isoformat()}T21:00:00"), sepa_creditor_id=CREDITOR_ID)


def test_hosting_is_invoiced_on_its_own_by_direct_debit_under_the_mandate_and_the_service_report_by_transfer(world, hosting):
    org_svc.set_sepa_mandate(DynamoUnitOfWork(), world.ops, world.customer("direkt"), MANDATE, now=utc("2026-10-25T10:00:00"))
    book(world, hosting, "2026-12", date(2026, 12, 1), report="sr_1201")

    summary = run(world, date(2026, 12, 1))

    assert summary.invoices_issued == 2
    by_method = {i.payment_method: i for i in world.invoices_of("direkt")}
    debit, transfer = by_method[PaymentMethod.SEPA_DIRECT_DEBIT], by_method[PaymentMethod.TRANSFER]
    assert [(line.description, line.net_amount) for line in debit.lines] == [("Data-centre hosting December 2026", Money.of("300.00"))]
    assert (debit.gross_total, debit.due_date) == (Money.of("357.00"), date(2026, 12, 15))
    assert debit.direct_debit == DirectDebit("MNDT-2026-0042", "DE89 **** 3000", CREDITOR_ID)
    assert [(line.description, line.net_amount) for line in transfer.lines] == [("Service report sr_1201", Money.of("80.00"))]
    assert transfer.direct_debit is None

    text = pdf_text(world.documents.get(document_key(debit)))
    assert (
        "Der Betrag von 357,00 € wird am 15.12.2026 per SEPA-Lastschrift von Ihrem Konto DE89 **** 3000 eingezogen "
        "(Mandatsreferenz MNDT-2026-0042, Gläubiger-ID DE98ZZZ09999999999)"
    ) in text
    assert "DE89370400440532013000" not in text  # the full IBAN goes to the bank only
    assert "Bitte überweisen Sie 95,20 €" in pdf_text(world.documents.get(document_key(transfer)))
    assert sorted(m.subject for m in world.mailer.sent) == sorted(f"Rechnung / Invoice {i.number}" for i in (debit, transfer))


def test_without_a_mandate_hosting_is_still_invoiced_on_its_own_but_paid_by_transfer(world, hosting):
    book(world, hosting, "2026-12", date(2026, 12, 1), report="sr_1201")
    run(world, date(2026, 12, 1))
    invoices = world.invoices_of("direkt")
    assert sorted(str(i.net_total.amount) for i in invoices) == ["300.00", "80.00"]
    assert {(i.payment_method, i.direct_debit) for i in invoices} == {(PaymentMethod.TRANSFER, None)}


def test_a_revoked_mandate_leaves_issued_invoices_as_they_are_and_the_next_month_is_paid_by_transfer(world, hosting):
    customer = world.customer("direkt")
    org_svc.set_sepa_mandate(DynamoUnitOfWork(), world.ops, customer, MANDATE, now=utc("2026-10-25T10:00:00"))
    book(world, hosting, "2026-12", date(2026, 12, 1))
    run(world, date(2026, 12, 1))
    org_svc.revoke_sepa_mandate(DynamoUnitOfWork(), world.ops, customer)
    book(world, hosting, "2027-01", date(2027, 1, 1))
    run(world, date(2027, 1, 1))
    assert [(i.issue_date, i.payment_method) for i in world.invoices_of("direkt")] == [
        (date(2026, 12, 1), PaymentMethod.SEPA_DIRECT_DEBIT), (date(2027, 1, 1), PaymentMethod.TRANSFER)
    ]
    assert DynamoUnitOfWork().organisations.get(customer).sepa_mandate is None


def test_a_mandate_reference_is_never_given_to_a_second_customers_mandate(world):
    from domain.errors import AlreadyExists

    org_svc.set_sepa_mandate(DynamoUnitOfWork(), world.ops, world.customer("direkt"), MANDATE, now=utc("2026-10-25T10:00:00"))
    # the same reference again amends the customer's mandate (a new account)
    amended = org_svc.set_sepa_mandate(
        DynamoUnitOfWork(), world.ops, world.customer("direkt"),
        org_svc.MandateDetails("mndt-2026-0042", "DE02120300000000202051", "Direktkunde Müller e.K.", date(2026, 11, 2)),
        now=utc("2026-11-03T10:00:00"),
    )
    assert amended.sepa_mandate.iban_masked == "DE02 **** 2051"
    with pytest.raises(AlreadyExists):
        org_svc.set_sepa_mandate(DynamoUnitOfWork(), world.ops, world.customer("kanzlei"), MANDATE, now=utc("2026-10-26T10:00:00"))
    assert DynamoUnitOfWork().organisations.get(world.customer("kanzlei")).sepa_mandate is None
