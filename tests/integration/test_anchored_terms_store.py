"""Stored CSP subscriptions whose dates are anchored on the start day: the renewal and cycle indexes follow the anchor
after a term-length change, imported legacy subscriptions are next due after the import, and subscriptions stored
before the month offset was kept still load and renew."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest

from domain.catalogue import M365_BUSINESS_BASIC, O365_E3_LEGACY, Billing, Term
from domain.money import Money
from domain.policy import Principal
from domain.services import subscriptions as subs
from domain.subscriptions import ScheduleChange, ScheduledChange, import_legacy_subscription
from infra.dynamo.unit_of_work import DynamoUnitOfWork


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def world(aws):
    from infra.demo import seed

    data = seed(DynamoUnitOfWork(), utc(2023, 1, 1, 9))
    return Principal.of(data.users["nordit_sales"]), data.customers["hanse"].id, data.partners["nordit"].id


def due_cycle_ids(day: date) -> list[str]:
    page = DynamoUnitOfWork().subscriptions.list_due_cycles(day, subs.end_of_berlin_day(day), limit=50, cursor=None)
    return [s.id for s in page.items]


def due_renewal_ids(day: date) -> list[str]:
    page = DynamoUnitOfWork().subscriptions.list_due_for_renewal(day, subs.end_of_berlin_day(day), limit=50, cursor=None)
    return [s.id for s in page.items]


def run(day: date, now: datetime):
    return subs.renew_due_subscriptions(DynamoUnitOfWork, run_date=day, now=now)


def test_after_a_term_length_change_the_indexes_and_the_job_follow_the_original_anchor(world):
    sales, customer_id, _ = world
    # P1M bought 2024-01-31 10:00 UTC (11:00 Berlin), P1Y scheduled for the renewal of 2024-02-29
    sub_id = subs.order_subscription(
        DynamoUnitOfWork(), sales, subs.SubscriptionOrder(customer_id, M365_BUSINESS_BASIC, Term.P1M, Billing.MONTHLY, 5),
        now=utc(2024, 1, 31, 10),
    ).new_subscription.id
    subs.change_subscription(DynamoUnitOfWork(), sales, sub_id, ScheduleChange(ScheduledChange(term=Term.P1Y)), now=utc(2024, 2, 1, 9))
    assert run(date(2024, 2, 29), utc(2024, 2, 29, 22, 30)).renewed == 1

    stored = DynamoUnitOfWork().subscriptions.get(sub_id)
    assert (stored.term, stored.term_anchor_at, stored.term_ends_at) == (Term.P1Y, utc(2024, 1, 31, 10), utc(2025, 2, 28, 10))
    assert due_cycle_ids(date(2024, 3, 29)) == [] and due_cycle_ids(date(2024, 3, 31)) == [sub_id]
    assert due_renewal_ids(date(2025, 2, 28)) == [sub_id]

    assert run(date(2024, 3, 29), utc(2024, 3, 29, 22, 30)).cycles_charged == 0
    assert run(date(2024, 3, 31), utc(2024, 3, 31, 21, 30)).cycles_charged == 1
    charges = DynamoUnitOfWork().charges.list_for_subscription(sub_id).items
    assert [(c.period_start, c.period_end) for c in charges if c.period_start.month == 3] == [(date(2024, 3, 31), date(2024, 4, 30))]
    assert due_cycle_ids(date(2024, 4, 30)) == [sub_id]


def test_an_imported_legacy_subscription_is_first_due_in_the_cycle_after_the_import(world):
    _, customer_id, partner_id = world
    uow = DynamoUnitOfWork()
    with uow:
        legacy = import_legacy_subscription(
            customer_id=customer_id, partner_id=partner_id, product=uow.catalogue.get().product(O365_E3_LEGACY),
            term=Term.P1Y, billing=Billing.MONTHLY, quantity=10, unit_price=Money.of("19.70"),
            started_at=utc(2021, 6, 10, 8), auto_renew=True, now=utc(2026, 11, 23, 9), actor_id="usr_distributor",
        ).new_subscription
        uow.subscriptions.add(legacy)
        uow.commit()
    assert due_cycle_ids(date(2026, 7, 10)) == [] and due_cycle_ids(date(2026, 12, 10)) == [legacy.id]
    assert run(date(2026, 11, 23), utc(2026, 11, 23, 22, 30)).cycles_charged == 0
    assert run(date(2026, 12, 10), utc(2026, 12, 10, 22, 30)).cycles_charged == 1
    charges = DynamoUnitOfWork().charges.list_for_subscription(legacy.id).items
    assert [(c.period_start, str(c.amount.amount)) for c in charges] == [(date(2026, 12, 10), "197.00")]


def test_a_subscription_stored_re_anchored_on_its_renewal_before_the_offset_was_kept_still_loads_and_renews(world):
    from infra.dynamo.models import SubscriptionModel

    sales, customer_id, _ = world
    sub_id = subs.order_subscription(
        DynamoUnitOfWork(), sales, subs.SubscriptionOrder(customer_id, M365_BUSINESS_BASIC, Term.P1M, Billing.MONTHLY, 5),
        now=utc(2024, 1, 31, 10),
    ).new_subscription.id
    # What the old code stored after a P1M → P1Y change at the renewal of 2024-02-29: the renewal as the anchor, term 0,
    # no offset (the index keys from those dates).
    uow = DynamoUnitOfWork()
    with uow:
        ordered = uow.subscriptions.get(sub_id)
        uow.subscriptions.update(dataclasses.replace(ordered, term=Term.P1Y, term_anchor_at=utc(2024, 2, 29, 10), term_index=0))
        uow.commit()
    item = SubscriptionModel.get(sub_id)
    item.data = {key: value for key, value in item.data.items() if key != "term_month_offset"}
    item.save()
    assert due_renewal_ids(date(2025, 2, 28)) == [sub_id]

    stored = DynamoUnitOfWork().subscriptions.get(sub_id)
    assert (stored.term_month_offset, stored.term_ends_at) == (0, utc(2025, 2, 28, 10))
    assert stored.billing_cycles()[1].start_date == date(2024, 3, 29)  # as it was billed so far
    assert run(date(2025, 2, 28), utc(2025, 2, 28, 22, 30)).renewed == 1
    assert DynamoUnitOfWork().subscriptions.get(sub_id).term_ends_at == utc(2026, 2, 28, 10)
