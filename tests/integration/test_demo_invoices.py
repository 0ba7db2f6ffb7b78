"""`make dev` shows invoices: the demo set issues a few, gap-free, to the right payers."""

from infra.demo import seed, seed_invoices
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.conftest import NOW


def test_demo_invoices_are_issued_to_their_payers_with_consecutive_numbers(aws):
    data = seed(DynamoUnitOfWork(), NOW)
    invoices = seed_invoices(DynamoUnitOfWork, data, NOW)
    assert [i.number for i in invoices] == ["PH-2026-000001", "PH-2026-000002", "PH-2026-000003", "PH-2026-000004"]
    assert [i.payer_id for i in invoices] == [
        data.customers["kanzlei"].id, data.customers["direkt"].id, data.customers["kanzlei"].id, data.partners["nordit"].id,
    ]
    assert [i.issue_date for i in invoices] == sorted(i.issue_date for i in invoices)
    stored = DynamoUnitOfWork().invoices.get_many(i.id for i in invoices)
    assert [stored[i.id].status.value for i in invoices] == ["PAID", "ISSUED", "ISSUED", "ISSUED"]
    assert DynamoUnitOfWork().invoices.list_undelivered(invoices[2].issue_date, limit=10, cursor=None).items == []
