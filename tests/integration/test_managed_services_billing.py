"""Managed services' use against the billing run, in DynamoDB: what a run bills when the month is recorded again while
it runs, and a billed month.

Hanse (partner NordIT, PARTNER_PAYS) has a managed services contract from 2026-09-01: monitoring at EUR 4.50 a device.
October 2026 is recorded on 2026-11-02 (12 devices) and billed by the run of that evening.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain import contracts as ct
from domain.errors import Conflict
from domain.money import Money
from domain.services import billing
from domain.services import contracts as contract_svc
from domain.services.invoice_errors import AlreadyBilled
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.pdf import PdfInvoiceRenderer
from tests.integration.billing_world import build_world, utc

RECORDED_AT = utc("2026-11-02T08:00:00")
EVENING = utc("2026-11-02T21:00:00")


@pytest.fixture
def world(aws):
    return build_world()


@pytest.fixture
def contract(world) -> ct.Contract:
    return contract_svc.create_contract(
        DynamoUnitOfWork(), world.ops,
        contract_svc.NewContract(world.customer("hanse"), ct.ContractKind.MANAGED_SERVICES, date(2026, 9, 1), ct.Rates(Money.of("95.00")),
                                 managed_services=(ct.ManagedService("monitoring", "Monitoring", "device", Money.of("4.50")),)),
        now=utc("2026-08-20T09:00:00"),
    )


def record(world, contract, devices: str, now=RECORDED_AT) -> ct.Contract:
    return contract_svc.record_managed_usage(
        DynamoUnitOfWork(), world.ops, contract_svc.ManagedUsage(contract.id, "2026-10", (("monitoring", Decimal(devices)),)), now=now)


def managed_lines(world, payer: str):
    return [(line.description, line.net_amount) for invoice in world.invoices_of(payer) for line in invoice.lines
            if (line.source_reference or "").startswith("managed#")]


def test_12_devices_at_4_50_are_invoiced_to_the_partner_at_54_00_net_for_october(world, contract):
    assert contract.partner_id == world.partner("nordit")  # the customer's only partner link, as for flat rates
    record(world, contract, "12")

    summary = world.run(date(2026, 11, 2), EVENING)

    assert summary.service_items_billed == 1
    assert managed_lines(world, "nordit") == [("Monitoring October 2026 (12 device)", Money.of("54.00"))]
    (invoice,) = world.invoices_of("nordit")
    assert (invoice.net_total, invoice.gross_total) == (Money.of("54.00"), Money.of("64.26"))
    assert DynamoUnitOfWork().service_items.billed_invoice_ids([f"managed#{contract.id}#monitoring#2026-10"]) == {
        f"managed#{contract.id}#monitoring#2026-10": invoice.id}


def test_a_month_recorded_again_while_the_run_reads_it_is_not_billed_with_the_old_use_but_by_the_next_run(world, contract):
    record(world, contract, "12")
    uows = []

    def uow_factory():  # the run's first unit of work reads what is due
        uow = DynamoUnitOfWork()
        if not uows:
            read = uow.service_items.list_due

            def list_due_then_record_again(*args, **kwargs):
                page = read(*args, **kwargs)
                if page.items:  # the service desk corrects October between the run's read and its invoice
                    record(world, contract, "14", now=utc("2026-11-02T20:59:00"))
                return page

            uow.service_items.list_due = list_due_then_record_again
        uows.append(uow)
        return uow

    summary = billing.run_billing(uow_factory, run_date=date(2026, 11, 2), now=EVENING, documents=world.documents, mailer=world.mailer,
                                  renderer=PdfInvoiceRenderer(), prefix="PH")

    assert summary.invoices_issued == 0 and summary.service_items_billed == 0
    assert managed_lines(world, "nordit") == []  # the 12 devices read are withdrawn: the invoice was not issued
    world.run(date(2026, 11, 3), utc("2026-11-03T21:00:00"))
    assert managed_lines(world, "nordit") == [("Monitoring October 2026 (14 device)", Money.of("63.00"))]
    items = DynamoUnitOfWork().service_items
    assert items.billed_invoice_ids([f"managed#{contract.id}#monitoring#2026-10"]) == {f"managed#{contract.id}#monitoring#2026-10": None}


def test_a_billed_item_cannot_be_withdrawn(world, contract):
    record(world, contract, "12")
    world.run(date(2026, 11, 2), EVENING)
    uow = DynamoUnitOfWork()
    with uow, pytest.raises(AlreadyBilled):
        uow.service_items.withdraw(f"managed#{contract.id}#monitoring#2026-10")
        uow.commit()
    with pytest.raises(Conflict, match="billed already"):
        record(world, contract, "10", now=utc("2026-11-04T08:00:00"))
