"""Reseller SaaS subscriptions are billed to the selling partner: the first month at creation, added users pro rata
at once, and each later month by the daily job on its payment date (missed runs caught up, month by month, never a
month twice, only due subscriptions read); the next billing run puts the charges on the partner's invoice.

NordIT sells e-mail signatures (EUR 1.25 per user and month) to Hafenbar KG (only a company name: not on the
platform), created 2026-11-23 with 12 users, and to its customer Kanzlei (who pays its own CSP invoices: customer
pays), created 2026-11-30 with 4 users.
"""

from __future__ import annotations

from datetime import date

import pytest

from domain.organisations import BillingMode
from domain.services import subscriptions as subs
from domain.services.invoices import document_key
from domain.subscriptions import SaasStatus
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.crash import crash_after_commits
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.integration.billing_world import build_world, pdf_text, utc
from tests.request_counter import count_requests

SIGNATURES = "prd_signatures_m365"


@pytest.fixture
def world(aws):
    return build_world("2026-11-01T09:00:00")


def create(world, company: str, users: int, at: str, *, customer: str | None = None) -> str:
    command = subs.NewSaasSubscription(SIGNATURES, company, users, customer_id=world.customer(customer) if customer else None)
    return subs.create_saas_subscription(DynamoUnitOfWork(), world.mailer, world.sales, command, now=utc(at)).id


def change(world, subscription_id: str, change, at: str):
    return subs.change_saas_subscription(DynamoUnitOfWork(), world.sales, subscription_id, change, now=utc(at))


def job(day: date, page_limit: int = 50):
    """The daily job as scheduled: 01:00 UTC on the run date."""
    return subs.bill_saas_subscriptions(DynamoUnitOfWork, run_date=day, now=utc(f"{day.isoformat()}T01:00:00"), page_limit=page_limit)


def charges(subscription_id: str) -> list[tuple[str, str, str, int, str]]:
    found = DynamoUnitOfWork().charges.list_for_subscription(subscription_id).items
    return sorted((c.period_start.isoformat(), c.period_end.isoformat(), c.kind.value, c.quantity, str(c.amount.amount)) for c in found)


def stored(subscription_id: str):
    return DynamoUnitOfWork().saas_subscriptions.get(subscription_id)


@pytest.fixture
def hafenbar(world) -> str:
    return create(world, "Hafenbar KG", 12, "2026-11-23T10:00:00")


@pytest.fixture
def kanzlei(world) -> str:
    return create(world, "Kanzlei Recht & Partner", 4, "2026-11-30T10:00:00", customer="kanzlei")


def test_the_first_month_is_charged_at_creation_and_each_later_month_on_its_payment_date(world, hafenbar):
    assert charges(hafenbar) == [("2026-11-23", "2026-12-23", "RECURRING", 12, "15.00")]
    change(world, hafenbar, subs.ChangeSaasUsers(15), "2026-12-08T10:00:00")  # +3 users for 15 of 30 days
    assert (job(date(2026, 12, 22)).months_charged, stored(hafenbar).next_payment_date) == (0, date(2026, 12, 23))
    december = job(date(2026, 12, 23))
    assert (december.subscriptions, december.months_charged, december.conflicts) == (1, 1, 0)
    assert charges(hafenbar) == [
        ("2026-11-23", "2026-12-23", "RECURRING", 12, "15.00"),
        ("2026-12-08", "2026-12-23", "PRORATA_INCREASE", 3, "1.88"),
        ("2026-12-23", "2027-01-23", "RECURRING", 15, "18.75"),
    ]
    assert stored(hafenbar).next_payment_date == date(2027, 1, 23)
    assert job(date(2026, 12, 23)).subscriptions == 0  # again that day: nothing is due any more, nothing is read


def test_missed_runs_are_caught_up_month_by_month_and_a_rerun_charges_nothing_twice(world, hafenbar, kanzlei):
    caught_up = job(date(2027, 3, 1))  # the runs since 2026-12-23 did not happen
    assert (caught_up.subscriptions, caught_up.months_charged) == (2, 3 + 3)
    assert [period for period, _, kind, _, _ in charges(hafenbar) if kind == "RECURRING"] == ["2026-11-23", "2026-12-23", "2027-01-23", "2027-02-23"]
    assert [period for period, _, _, _, _ in charges(kanzlei)] == ["2026-11-30", "2026-12-30", "2027-01-30", "2027-02-28"]
    assert (stored(hafenbar).next_payment_date, stored(kanzlei).next_payment_date) == (date(2027, 3, 23), date(2027, 3, 30))
    again = job(date(2027, 3, 1))
    assert (again.subscriptions, again.months_charged) == (0, 0)
    assert len(charges(hafenbar)) == 4 and len(charges(kanzlei)) == 4


@pytest.mark.parametrize("crash_after", [0, 1, 2])
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_one(world, hafenbar, kanzlei, crash_after):
    with crash_after_commits(crash_after):
        job(date(2027, 1, 25), page_limit=1)  # three months: Hafenbar's December and January, Kanzlei's December
    resumed = job(date(2027, 1, 25))
    assert resumed.months_charged == 3 - crash_after
    assert [p for p, _, _, _, _ in charges(hafenbar)] == ["2026-11-23", "2026-12-23", "2027-01-23"]
    assert [p for p, _, _, _, _ in charges(kanzlei)] == ["2026-11-30", "2026-12-30"]
    assert job(date(2027, 1, 25)).months_charged == 0


def test_a_change_on_the_payment_date_before_the_job_charges_the_month_once_as_it_was(world, hafenbar):
    change(world, hafenbar, subs.ChangeSaasUsers(20), "2026-12-23T00:30:00")  # 01:30 in Berlin, before the job
    assert job(date(2026, 12, 23)).subscriptions == 0
    assert charges(hafenbar)[1:] == [
        ("2026-12-23", "2027-01-23", "PRORATA_INCREASE", 8, "10.00"),
        ("2026-12-23", "2027-01-23", "RECURRING", 12, "15.00"),
    ]


def test_an_inactive_subscription_is_never_read_and_reactivation_charges_a_new_month_at_once(world, hafenbar):
    change(world, hafenbar, subs.DeactivateSaas(), "2026-12-01T10:00:00")
    assert job(date(2027, 1, 1)).subscriptions == 0
    reactivated = change(world, hafenbar, subs.ActivateSaas(), "2027-01-02T10:00:00")
    assert (reactivated.status, reactivated.next_payment_date) == (SaasStatus.ACTIVE, date(2027, 2, 2))
    assert charges(hafenbar) == [("2026-11-23", "2026-12-23", "RECURRING", 12, "15.00"), ("2027-01-02", "2027-02-02", "RECURRING", 12, "15.00")]
    assert job(date(2027, 2, 1)).subscriptions == 0 and job(date(2027, 2, 2)).months_charged == 1


def test_reads_only_due_subscriptions_in_pages(world, hafenbar, kanzlei):
    create(world, "Später GmbH", 3, "2026-12-20T10:00:00")  # due 2027-01-20
    change(world, create(world, "Ruhend AG", 3, "2026-11-02T10:00:00"), subs.DeactivateSaas(), "2026-11-03T10:00:00")  # inactive
    with count_requests() as count:
        summary = job(date(2027, 1, 5), page_limit=1)  # due: Hafenbar (12-23), Kanzlei (12-30)
    assert (summary.subscriptions, summary.months_charged) == (2, 2)
    assert count.operations["Scan"] == 0
    # payment-index pages of 1: two due subscriptions and an empty last page; the catalogue once; a transaction a month
    assert (count.operations["Query"], count.operations["GetItem"], count.operations["TransactWriteItems"]) == (3, 1, 2)
    assert count.requests == 6 and count.items_read == 2 + 1
    with count_requests() as quiet:
        job(date(2027, 1, 6))
    assert (quiet.requests, quiet.items_read) == (1, 0)  # a day without due months: one empty Query


def test_the_next_billing_run_invoices_the_partner_whatever_the_customers_billing_mode(world, hafenbar, kanzlei):
    kanzlei_customer = DynamoUnitOfWork().organisations.get(world.customer("kanzlei"))
    assert kanzlei_customer.link_to(world.partner("nordit")).billing_mode is BillingMode.CUSTOMER_PAYS
    first = world.run(date(2026, 11, 30), utc("2026-11-30T22:00:00"))  # reads the days before too: Hafenbar's month
    assert (first.invoices_issued, first.charges_billed, first.skipped) == (2, 2, [])
    assert world.invoices_of("kanzlei") == []  # the reseller keeps billing
    invoices = {i.customer_id: i for i in world.invoices_of("nordit")}
    nordit = world.partner("nordit")
    assert set(invoices) == {nordit, world.customer("kanzlei")}  # one per customer; Hafenbar is only a company name
    (hafenbar_line,) = invoices[nordit].lines
    assert (str(hafenbar_line.net_amount.amount), hafenbar_line.quantity, hafenbar_line.discount_percent) == ("15.00", 12, 0)
    assert (hafenbar_line.period_start, hafenbar_line.period_end) == (date(2026, 11, 23), date(2026, 12, 23))
    assert "Hafenbar KG" in hafenbar_line.description and "Email Signatures for Microsoft 365" in hafenbar_line.description
    assert all(i.payer_id == nordit and i.billing_mode is BillingMode.PARTNER_PAYS for i in invoices.values())
    assert DynamoUnitOfWork().cashbacks.get(invoices[world.customer("kanzlei")].id) is None
    text = pdf_text(world.documents.get(document_key(invoices[nordit])))
    assert "Hafenbar KG" in text and "23.11.2026" in text

    job(date(2026, 12, 23))
    second = world.run(date(2026, 12, 23), utc("2026-12-23T22:00:00"))
    assert (second.invoices_issued, second.charges_billed) == (1, 1)
    assert [str(i.net_total.amount) for i in world.invoices_of("nordit")][-1] == "15.00"
    assert world.run(date(2026, 12, 24), utc("2026-12-24T22:00:00")).invoices_issued == 0  # billed once


@pytest.mark.parametrize("operation", ["Query", "GetItem", "TransactWriteItems"])
def test_throttled_reads_and_charges_are_retried_and_charge_each_month_once(world, hafenbar, kanzlei, throttle, operation):
    plan = throttle(operation, times=2)
    summary = job(date(2027, 1, 25))
    assert plan["refused"] == 2
    assert (summary.months_charged, summary.conflicts) == (3, 0)
    assert len(charges(hafenbar)) == 3 and len(charges(kanzlei)) == 2


def test_subscriptions_saved_before_the_payment_index_are_put_on_it_once(world, hafenbar):
    from infra.dynamo.models import SaasSubscriptionModel

    item = SaasSubscriptionModel.get(hafenbar)  # as the repository saved it before the index existed
    item.payment_shard = item.payment_due_key = None
    item.save()
    inactive = create(world, "Ruhend AG", 3, "2026-11-02T10:00:00")
    change(world, inactive, subs.DeactivateSaas(), "2026-11-03T10:00:00")
    assert job(date(2026, 12, 23)).subscriptions == 0  # not on the index: never charged
    summary = subs.index_saas_subscriptions(DynamoUnitOfWork, page_limit=1)
    assert (summary.read, summary.indexed, summary.conflicts) == (2, 1, 0)
    assert job(date(2026, 12, 23)).months_charged == 1 and stored(hafenbar).next_payment_date == date(2027, 1, 23)
    assert subs.index_saas_subscriptions(DynamoUnitOfWork).indexed == 1 and job(date(2026, 12, 23)).months_charged == 0


def test_a_subscription_whose_product_lost_its_price_fails_alone_and_is_charged_once_when_priced_again(world, hafenbar, kanzlei, monkeypatch):
    """Werft GmbH takes 5 users of the Google Workspace signatures on 2026-11-25 (EUR 6.25 a month); that product then
    loses its price. The run of 2027-01-25 charges Hafenbar's December and January and Kanzlei's December; Werft's
    months (due 12-25, between them on the index) are not charged, it is left as it was, reported and raised. Priced
    again, the next run charges its December and January, once each."""
    import handler
    from domain.catalogue import SIGNATURES_FOR_GOOGLE_WORKSPACE, Catalogue, demo_catalogue
    from domain.services.job_runs import ItemsFailed
    from tests.integration.test_renewal_job import replace_catalogue

    command = subs.NewSaasSubscription(SIGNATURES_FOR_GOOGLE_WORKSPACE, "Werft GmbH", 5)
    werft = subs.create_saas_subscription(DynamoUnitOfWork(), world.mailer, world.sales, command, now=utc("2026-11-25T10:00:00")).id
    replace_catalogue(lambda c: Catalogue(c.products, tuple(e for e in c.price_list if e.product_id != SIGNATURES_FOR_GOOGLE_WORKSPACE)))
    before = stored(werft)
    monkeypatch.setattr(handler._services(), "clock", lambda: utc("2027-01-25T01:00:00"))

    with pytest.raises(ItemsFailed) as raised:
        handler.bill_saas_subscriptions({"run_date": "2027-01-25"}, None)
    summary = raised.value.summary
    assert (summary["subscriptions"], summary["months_charged"], summary["failed"]) == (3, 3, [werft])
    assert werft in str(raised.value)
    assert len(charges(hafenbar)) == 3 and len(charges(kanzlei)) == 2
    assert stored(werft) == before and charges(werft) == [("2026-11-25", "2026-12-25", "RECURRING", 5, "6.25")]

    replace_catalogue(lambda c: demo_catalogue())
    again = handler.bill_saas_subscriptions({"run_date": "2027-01-25"}, None)
    assert (again["subscriptions"], again["months_charged"], again["failed"]) == (1, 2, [])
    assert handler.bill_saas_subscriptions({"run_date": "2027-01-25"}, None)["months_charged"] == 0
    assert charges(werft) == [
        ("2026-11-25", "2026-12-25", "RECURRING", 5, "6.25"),
        ("2026-12-25", "2027-01-25", "RECURRING", 5, "6.25"),
        ("2027-01-25", "2027-02-25", "RECURRING", 5, "6.25"),
    ]
    assert len(charges(hafenbar)) == 3 and len(charges(kanzlei)) == 2
