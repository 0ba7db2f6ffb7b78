"""Invoice numbers under contention: concurrent writers get consecutive numbers, no gap, no duplicate.

moto applies a transaction's condition checks and writes without isolation from other
requests (and restores whole tables on a failed one), while DynamoDB executes each
transaction and conditional write serializably. ``dynamodb_isolation`` gives moto that
one property with a lock around each write request; reads stay concurrent, so writers
still read the same counter value and collide, which is what the tests exercise.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment
from domain.money import Money
from domain.services import invoices as invoicing
from tests.integration.billing_world import build_world, utc

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
WRITERS = 50


@pytest.fixture
def dynamodb_isolation(monkeypatch):
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item"):
        original = getattr(DynamoDBBackend, name)

        def isolated(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, isolated)


@pytest.fixture
def moto_server(dynamodb_isolation):
    """A threaded moto server on a free port: every writer's request goes over HTTP, like to DynamoDB."""
    from moto.server import ThreadedMotoServer

    from infra.devserver import free_port
    from infra.dynamo.models import configure, create_tables
    from infra.settings import get_settings

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    settings = dataclasses.replace(get_settings(), dynamodb_endpoint=f"http://127.0.0.1:{port}")
    try:
        create_tables(settings)
        yield settings
    finally:
        server.stop()
        configure(get_settings())


def draft(n: int) -> InvoiceDraft:
    line = InvoiceLine.priced(f"Leistung {n}", 1, Money.of("10.00"), Decimal("19"))
    return InvoiceDraft(
        invoice_id=f"inv_concurrent{n:03d}", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id="cus_1", customer_id="cus_1",
        currency="EUR", lines=(line,), vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER,
    )


def test_fifty_concurrent_allocations_get_fifty_consecutive_numbers(moto_server, monkeypatch):
    from infra.dynamo.invoice_repositories import InvoiceNumberCounter
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    # All writers read the counter before any of them writes: 49 of the first 50 attempts must lose.
    barrier = threading.Barrier(WRITERS)
    first_read = threading.local()
    reads = {"n": 0}
    original = InvoiceNumberCounter.last_sequence

    def last_sequence(self, issuer_id, year):
        value = original(self, issuer_id, year)
        reads["n"] += 1
        if not getattr(first_read, "done", False):
            first_read.done = True
            barrier.wait(timeout=30)
        return value

    monkeypatch.setattr(InvoiceNumberCounter, "last_sequence", last_sequence)

    def allocate(n: int):
        return invoicing.issue_draft(lambda: DynamoUnitOfWork(moto_server), draft(n), now=NOW, prefix="PH")

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        issued = list(pool.map(allocate, range(WRITERS)))

    numbers = sorted(invoice.number for invoice in issued)
    assert numbers == [f"PH-2026-{n:06d}" for n in range(1, WRITERS + 1)]
    assert reads["n"] > WRITERS  # there was contention: losers read the counter again
    stored = DynamoUnitOfWork(moto_server).invoices.get_many([invoice.id for invoice in issued])
    assert sorted(i.number for i in stored.values()) == numbers
    assert original(DynamoUnitOfWork(moto_server).invoice_numbers, "dst_1", 2026) == WRITERS


def test_two_overlapping_billing_runs_issue_each_invoice_once_without_gaps(aws, dynamodb_isolation):
    from tests.integration.test_billing_run import PAYERS, four_payers

    world = build_world()
    four_payers(world)
    start = threading.Barrier(2)

    def run(_):
        start.wait(timeout=30)
        return world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(run, range(2)))

    invoices = [i for key in PAYERS for i in world.invoices_of(key)]
    assert sorted(i.number for i in invoices) == [f"PH-2024-{n:06d}" for n in range(1, 5)]
    assert sum(s.invoices_issued for s in summaries) == 4
    assert sorted(m.subject for m in world.mailer.sent) == sorted({m.subject for m in world.mailer.sent})
    assert len(world.mailer.sent) == 4
