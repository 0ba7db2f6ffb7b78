"""A ledger write that loses a race is read again and repeated; only a commission that is booked counts as booked."""

from __future__ import annotations

from datetime import date

from domain.commissions import CommissionStatus
from domain.money import Money
from domain.services import commissions as commission_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.crash import collide_first_commit
from tests.integration.test_partner_programme_store import TERMS, paid_invoice, sign_up, utc, world  # noqa: F401  (world: fixture)


def test_a_commission_whose_first_commit_collides_is_booked_on_the_repeat_not_reported_as_booked_already(world, monkeypatch):
    _, ops, nordit = world
    customer, _ = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-01-05T10:00:00")
    invoice, event = paid_invoice(customer.id)  # net 1000.00, paid 2024-02-10
    collide_first_commit(monkeypatch)  # e.g. a ledger entry's version moved meanwhile
    booked = commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    assert [(c.status, c.amount, c.approval_date) for c in booked] == [(CommissionStatus.PENDING, Money.of("100.00"), date(2024, 5, 10))]
    assert [c.id for c in DynamoUnitOfWork().commissions.list_for_invoice(invoice.id)] == [booked[0].id]
