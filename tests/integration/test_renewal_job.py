"""The renewal job: renews what is due on the run date, reads nothing else, and can run twice or resume.

Demo catalogue: Business Standard P1Y/MONTHLY costs EUR 10.50 until 2023-03-31 and EUR 11.66
(+11%) from 2023-04-01, so terms renewed in 2024 take the new price.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.calendar import CATCH_UP_DAYS
from domain.catalogue import M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, Billing, Term
from domain.policy import Principal
from domain.services import subscriptions as subs
from domain.subscriptions import SetAutoRenew, SubscriptionStatus
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.crash import crash_after_commits
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.request_counter import count_requests


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# 2024-01-15 23:30 in Berlin (CET): when the daily job runs.
RUN_AT = utc("2024-01-15T22:30:00")


@pytest.fixture
def book(aws):
    """Orders a set of subscriptions for Hanse (demo data) at given instants; returns name -> id."""
    from infra.demo import seed

    data = seed(DynamoUnitOfWork(), utc("2023-01-01T09:00:00"))
    sales = Principal.of(data.users["nordit_sales"])
    customer_id = data.customers["hanse"].id

    def order(started: str, *, term=Term.P1Y, billing=Billing.MONTHLY, product=M365_BUSINESS_STANDARD, quantity=10) -> str:
        outcome = subs.order_subscription(
            DynamoUnitOfWork(), sales, subs.SubscriptionOrder(customer_id, product, term, billing, quantity), now=utc(started)
        )
        return outcome.new_subscription.id

    ids = {
        "annual_due": order("2023-01-15T10:00:00"),
        "annual_tomorrow": order("2023-01-16T10:00:00"),
        "annual_no_renew": order("2023-01-15T08:00:00"),
        "monthly_due": order("2023-12-15T09:00:00", term=Term.P1M, product=M365_BUSINESS_BASIC),
        "annual_due_after_run": order("2023-01-15T22:50:00"),  # 23:50 Berlin: ends after the 23:30 run
    }
    subs.change_subscription(DynamoUnitOfWork(), sales, ids["annual_no_renew"], SetAutoRenew(False), now=utc("2023-02-01T09:00:00"))
    return ids


def state(ids: dict[str, str]) -> dict[str, tuple]:
    found = DynamoUnitOfWork().subscriptions.get_many(ids.values())
    return {
        name: (s.status.value, s.term_index, str(s.unit_price.amount), s.quantity, s.term_ends_at.isoformat(), len(s.history))
        for name, s in ((name, found[i]) for name, i in ids.items())
    }


def run(run_date: date, now: datetime = RUN_AT, **kwargs):
    return subs.renew_due_subscriptions(DynamoUnitOfWork, run_date=run_date, now=now, **kwargs)


def test_renews_what_ends_on_the_run_date_at_the_new_price_and_ends_what_should_not_renew(book):
    summary = run(date(2024, 1, 15))
    assert (summary.renewed, summary.expired) == (2, 1)
    after = state(book)
    assert after["annual_due"][:5] == ("ACTIVE", 1, "11.66", 10, "2025-01-15T10:00:00+00:00")
    assert after["annual_no_renew"][0] == "EXPIRED"
    assert after["monthly_due"][:2] == ("ACTIVE", 1)
    assert after["annual_tomorrow"][:2] == ("ACTIVE", 0)
    assert after["annual_due_after_run"][:2] == ("ACTIVE", 0)


def test_reads_only_due_subscriptions(book):
    with count_requests() as count:
        run(date(2024, 1, 15))
    # one catalogue read; one Query page for renewals and one for monthly cycles per day of the run date and the 7
    # days it catches up on (CATCH_UP_DAYS), empty ones included; 3 due items read (no cycle starts on these days)
    assert count.operations["Query"] == 2 * (1 + CATCH_UP_DAYS)
    assert count.items_read == 1 + 3
    assert count.operations["Scan"] == 0


def test_running_twice_on_the_same_day_changes_nothing_the_second_time(book):
    run(date(2024, 1, 15))
    first = state(book)
    again = run(date(2024, 1, 15))
    assert (again.renewed, again.expired, again.charges) == (0, 0, 0)
    assert state(book) == first


def test_the_next_day_catches_a_term_that_ended_after_the_previous_run(book):
    run(date(2024, 1, 15))
    summary = run(date(2024, 1, 16), now=utc("2024-01-16T22:30:00"))
    after = state(book)
    assert after["annual_due_after_run"][:2] == ("ACTIVE", 1)
    assert after["annual_tomorrow"][:2] == ("ACTIVE", 1)
    assert summary.renewed == 2


def test_renewal_books_the_first_charge_of_the_new_term_once(book):
    run(date(2024, 1, 15))
    run(date(2024, 1, 15))
    charges = DynamoUnitOfWork().charges.list_for_subscription(book["annual_due"]).items
    renewal_charges = [c for c in charges if c.period_start == date(2024, 1, 15)]
    assert [(c.kind.value, str(c.amount.amount)) for c in renewal_charges] == [("RECURRING", "116.60")]


@pytest.mark.parametrize("crash_after", [0, 1, 2])
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_one(book, crash_after):
    with crash_after_commits(crash_after):
        run(date(2024, 1, 15))
    run(date(2024, 1, 15))
    after = state(book)
    assert after["annual_due"][:3] == ("ACTIVE", 1, "11.66")
    assert after["monthly_due"][:2] == ("ACTIVE", 1)
    assert after["annual_no_renew"][0] == "EXPIRED"
    assert after["annual_tomorrow"][:2] == ("ACTIVE", 0)
    # each subscription was renewed exactly once: one RENEWED/EXPIRED event each
    history = DynamoUnitOfWork().subscriptions.get(book["annual_due"]).history
    assert [e.kind.value for e in history].count("RENEWED") == 1


@pytest.mark.parametrize("operation", ["Query", "TransactWriteItems", "GetItem"])
def test_throttled_reads_and_renewals_are_retried_and_land_once(book, throttle, operation):
    """DynamoDB refuses two due-index pages (or renewals, or catalogue reads); botocore retries them."""
    plan = throttle(operation, times=2)
    summary = run(date(2024, 1, 15))
    assert plan["refused"] == 2
    assert (summary.renewed, summary.expired) == (2, 1)
    after = state(book)
    assert after["annual_due"][:5] == ("ACTIVE", 1, "11.66", 10, "2025-01-15T10:00:00+00:00")
    assert after["annual_no_renew"][0] == "EXPIRED"
    assert after["annual_tomorrow"][:2] == ("ACTIVE", 0)
    history = DynamoUnitOfWork().subscriptions.get(book["annual_due"]).history
    assert [e.kind.value for e in history].count("RENEWED") == 1
    charges = DynamoUnitOfWork().charges.list_for_subscription(book["annual_due"]).items
    assert [str(c.amount.amount) for c in charges if c.period_start == date(2024, 1, 15)] == ["116.60"]


def test_scheduled_job_entry_point_uses_the_event_time_for_its_run_date(book, monkeypatch):
    import handler

    monkeypatch.setattr(handler._services(), "clock", lambda: RUN_AT)
    result = handler.renew_subscriptions({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-01-15T22:30:00Z", "detail": {}}, None)
    assert result["run_date"] == "2024-01-15" and result["renewed"] == 2 and result["expired"] == 1


def test_back_fill_for_a_named_date(book, monkeypatch):
    import handler

    monkeypatch.setattr(handler._services(), "clock", lambda: utc("2024-01-20T08:00:00"))
    result = handler.renew_subscriptions({"run_date": "2024-01-15"}, None)
    assert result["renewed"] == 3  # the 23:50 one is due by now as well
    assert state(book)["annual_no_renew"][0] == SubscriptionStatus.EXPIRED.value


def test_after_an_outage_of_up_to_a_week_the_next_run_catches_up_on_renewals_and_months(book):
    # The job did not run from 2023-02-15 to 2023-02-21: the next run books the cycles of 02-15 and 02-16 it missed.
    late = run(date(2023, 2, 22), now=utc("2023-02-22T22:30:00"))
    assert late.cycles_charged == 4  # annual_due, annual_no_renew, annual_due_after_run (02-15), annual_tomorrow (02-16)
    uow = DynamoUnitOfWork()
    starts = sorted(c.period_start for name in ("annual_due", "annual_tomorrow")
                    for c in uow.charges.list_for_subscription(book[name]).items if c.period_start.month == 2)
    assert starts == [date(2023, 2, 15), date(2023, 2, 16)]
    # Renewals likewise: nothing ran from 2024-01-15 to 01-19; the run of 01-20 renews and ends what fell due.
    summary = run(date(2024, 1, 20), now=utc("2024-01-20T22:30:00"))
    assert (summary.renewed, summary.expired) == (4, 1)  # the three annual terms, the monthly one; annual_no_renew ends
    assert state(book)["annual_tomorrow"][:2] == ("ACTIVE", 1)
    # Beyond CATCH_UP_DAYS a run reads nothing older: a run of 2024-03-01 finds no renewal of January.
    assert run(date(2024, 3, 1), now=utc("2024-03-01T22:30:00")).renewed == 0


def test_the_daily_job_books_each_monthly_cycle_of_an_annual_term_once_and_reads_only_due_ones(book):
    # annual_due was bought 2023-01-15 10:00 UTC (P1Y, billed monthly, 10 seats at EUR 10.50): its 2nd cycle starts
    # 2023-02-15 10:00 UTC, annual_no_renew's at 08:00 the same day (auto-renew off still pays its months).
    # annual_tomorrow's starts a day later, annual_due_after_run's at 23:50 Berlin, after the run: both untouched.
    with count_requests() as count:
        first = run(date(2023, 2, 15), now=utc("2023-02-15T22:30:00"))
    assert (first.cycles_charged, first.charges, first.renewed) == (2, 2, 0)
    uow = DynamoUnitOfWork()
    charges = uow.charges.list_for_subscription(book["annual_due"]).items
    cycle = [c for c in charges if c.period_start == date(2023, 2, 15)]
    assert len(cycle) == 1 and str(cycle[0].amount.amount) == "105.00" and cycle[0].period_end == date(2023, 3, 15)
    assert uow.charges.list_for_subscription(book["annual_tomorrow"]).items[-1].period_start == date(2023, 1, 16)
    # catalogue, 8 renewal and 8 cycle partitions, one transaction per due subscription; nothing else is read
    assert count.operations["TransactWriteItems"] == 2
    assert count.operations["Query"] == 2 * (1 + CATCH_UP_DAYS) and count.operations["Scan"] == 0
    assert count.items_read == 1 + 2  # the catalogue and the two due subscriptions

    again = run(date(2023, 2, 15), now=utc("2023-02-15T22:45:00"))
    assert (again.cycles_charged, again.charges) == (0, 0)
    assert len(DynamoUnitOfWork().charges.list_for_subscription(book["annual_due"]).items) == len(charges)
    # the next day books annual_tomorrow (cycle from 2023-02-16 10:00) and catches up annual_due_after_run, whose
    # cycle began after the previous run (23:50 Berlin on the 15th)
    next_day = run(date(2023, 2, 16), now=utc("2023-02-16T22:30:00"))
    assert (next_day.cycles_charged, next_day.charges) == (2, 2)
    assert run(date(2023, 2, 16), now=utc("2023-02-16T22:40:00")).cycles_charged == 0


def replace_catalogue(change) -> None:
    uow = DynamoUnitOfWork()
    with uow:
        uow.catalogue.save(change(uow.catalogue.get()))
        uow.commit()


def test_a_subscription_whose_product_lost_its_price_fails_alone_and_renews_once_when_priced_again(book, monkeypatch):
    """Business Basic loses its prices: monthly_due (P1M, ends 2024-01-15 09:00 UTC, between annual_no_renew at 08:00
    and annual_due at 10:00 in the due partition) cannot renew. The others are processed; it is left as it was,
    reported and raised; once priced again it renews at EUR 6.79 (5.10 + 11 % = 5.66, monthly term + 20 %), once."""
    import handler
    from domain.catalogue import Catalogue, demo_catalogue
    from domain.services.job_runs import ItemsFailed

    monkeypatch.setattr(handler._services(), "clock", lambda: RUN_AT)
    before = state(book)
    replace_catalogue(lambda c: Catalogue(c.products, tuple(e for e in c.price_list if e.product_id != M365_BUSINESS_BASIC)))
    poison = book["monthly_due"]

    with pytest.raises(ItemsFailed) as raised:
        handler.renew_subscriptions({"run_date": "2024-01-15"}, None)
    summary = raised.value.summary
    assert (summary["renewed"], summary["expired"], summary["failed"]) == (1, 1, [poison])
    assert poison in str(raised.value) and "renew_subscriptions for 2024-01-15" in str(raised.value)
    after = state(book)
    assert after["annual_due"][:5] == ("ACTIVE", 1, "11.66", 10, "2025-01-15T10:00:00+00:00")
    assert after["annual_no_renew"][0] == "EXPIRED"
    assert after["monthly_due"] == before["monthly_due"]  # nothing written: term, price, history as they were
    assert [c.period_start for c in DynamoUnitOfWork().charges.list_for_subscription(poison).items] == [date(2023, 12, 15)]

    replace_catalogue(lambda c: demo_catalogue())  # the distributor publishes the price again
    again = handler.renew_subscriptions({"run_date": "2024-01-15"}, None)
    assert (again["renewed"], again["expired"], again["failed"]) == (1, 0, [])
    assert handler.renew_subscriptions({"run_date": "2024-01-15"}, None)["renewed"] == 0
    assert state(book)["monthly_due"][:3] == ("ACTIVE", 1, "6.79")
    renewal = [c for c in DynamoUnitOfWork().charges.list_for_subscription(poison).items if c.period_start == date(2024, 1, 15)]
    assert [str(c.amount.amount) for c in renewal] == ["67.90"]  # 10 seats × 6.79, once
    history = DynamoUnitOfWork().subscriptions.get(poison).history
    assert [e.kind.value for e in history].count("RENEWED") == 1
