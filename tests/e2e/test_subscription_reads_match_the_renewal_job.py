"""While a renewal is due but the daily job has not run, a read shows exactly what the job will store: the same
function renews (a copy, for the read), so a scheduled product switch the customer may no longer have is dropped on
the read as it will be by the job, and a write meeting the due renewal first does the same.

Kanzlei (customer of NordIT) orders Microsoft 365 Business Basic, monthly term, 10 seats, on 2026-10-15 09:00 UTC
(11:00 Berlin, summer time): EUR 6.79 (5.66 + 20%); the term ends 2026-11-15 11:00 Berlin = 10:00 UTC and the next
one 2026-12-15 10:00 UTC. Microsoft 365 A3 (education) costs EUR 2.50 annual term, so 3.00 monthly term. The read
is on 2026-11-16 08:00 UTC, before the job runs that day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.catalogue import DEFENDER_FOR_OFFICE_365_P1, M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, demo_catalogue
from domain.services import subscriptions as subs
from tests.e2e.conftest import Clock
from tests.e2e.test_subscription_switch_rules_api import edu_catalogue, grant_education, revoke_eligibility  # noqa: F401
from tests.e2e.test_subscriptions_api import csp_ready, order  # noqa: F401  (fixture)
from tests.unit.test_subscription_switch_access import EDU_A3

SHOWN = """query($id: ID!, $c: ID!) {
  subscription(id: $id) { ...shown }
  subscriptions(customerId: $c, first: 50) { nodes { id ...shown } } }
fragment shown on Subscription { status product { id } quantity unitPrice { amount } termEndsAt reducibleSeats nextWindowOpensAt
  priceAfterNextRenewal { amount } scheduledChange { productId quantity } seatLots { quantity addedAt cancellationWindowClosesAt windowOpen }
  history { kind at details { key value } } }"""
SCHEDULE = """mutation($id: ID!, $p: ID, $q: Int) { subscriptionRenewalChangeSchedule(input: {subscriptionId: $id, productId: $p,
  quantity: $q}) { errors { code field message } } }"""
AUTO_RENEW_OFF = """mutation($id: ID!) { subscriptionAutoRenewSet(input: {subscriptionId: $id, enabled: false}) { errors { code } } }"""
CANCEL = """mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) { errors { code } } }"""
INCREASE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: $seats}) {
  subscription { product { id } quantity unitPrice { amount } history { kind details { key value } } } errors { code message } } }"""

READ_AT = "2026-11-16T08:00:00"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return Clock(utc("2026-10-15T09:00:00"))


def retire_education_product(services):
    """The distributor loads a catalogue without the education product (it was retired)."""
    uow = services.uow()
    with uow:
        uow.catalogue.get()
        uow.catalogue.save(demo_catalogue())
        uow.commit()


def nothing_scheduled(api, as_user, services, customer_id, sub_id):
    """A plain renewal."""


def switch_still_eligible(api, as_user, services, customer_id, sub_id):
    grant_education(as_user, customer_id)
    assert api(SCHEDULE, {"id": sub_id, "p": EDU_A3, "q": 12})["subscriptionRenewalChangeSchedule"]["errors"] == []


def switch_eligibility_withdrawn(api, as_user, services, customer_id, sub_id):
    switch_still_eligible(api, as_user, services, customer_id, sub_id)
    revoke_eligibility(services, customer_id)


def switch_product_retired(api, as_user, services, customer_id, sub_id):
    switch_still_eligible(api, as_user, services, customer_id, sub_id)
    retire_education_product(services)


def switch_to_add_on_base_cancelled(api, as_user, services, customer_id, sub_id):
    standard = order(api, customer_id, product=M365_BUSINESS_STANDARD, term="P1M", quantity=2)["subscription"]
    assert api(SCHEDULE, {"id": sub_id, "p": DEFENDER_FOR_OFFICE_365_P1})["subscriptionRenewalChangeSchedule"]["errors"] == []
    assert api(CANCEL, {"id": standard["id"]})["subscriptionCancel"]["errors"] == []  # inside its 7-day window


def ends_at_term_end(api, as_user, services, customer_id, sub_id):
    assert api(AUTO_RENEW_OFF, {"id": sub_id})["subscriptionAutoRenewSet"]["errors"] == []


def details(event) -> dict:
    return {kv["key"]: kv["value"] for kv in event["details"]}


# (set-up, product, quantity, unit price, last events) as the read before the job and the state after it show them
CASES = {
    "plain renewal": (nothing_scheduled, M365_BUSINESS_BASIC, 10, "6.79", ["CREATED", "RENEWED"]),
    "switch still eligible": (switch_still_eligible, EDU_A3, 12, "3.00", ["CHANGE_SCHEDULED", "RENEWED"]),
    "switch, eligibility withdrawn": (switch_eligibility_withdrawn, M365_BUSINESS_BASIC, 12, "6.79",
                                      ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED"]),
    "switch, product retired": (switch_product_retired, M365_BUSINESS_BASIC, 12, "6.79",
                                ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED"]),
    "switch to an add-on, base cancelled": (switch_to_add_on_base_cancelled, M365_BUSINESS_BASIC, 10, "6.79",
                                            ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED"]),
    "ends at term end": (ends_at_term_end, M365_BUSINESS_BASIC, 0, "6.79", ["AUTO_RENEW_CHANGED", "EXPIRED"]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_read_while_the_renewal_is_due_shows_what_the_renewal_job_then_stores(as_user, services, csp_ready, edu_catalogue, clock, case):
    set_up, product, quantity, price, last_events = CASES[case]
    api = as_user("nordit_sales")
    sub_id = order(api, csp_ready, product=M365_BUSINESS_BASIC, term="P1M", quantity=10)["subscription"]["id"]
    clock.now = utc("2026-10-16T09:00:00")
    set_up(api, as_user, services, csp_ready, sub_id)

    clock.now = utc(READ_AT)  # the term ended 2026-11-15 10:00 UTC; the job has not run
    before = api(SHOWN, {"id": sub_id, "c": csp_ready})
    assert services.uow().subscriptions.get(sub_id).term_index == 0  # a read writes nothing
    subs.renew_due_subscriptions(services.uow, run_date=date(2026, 11, 16), now=clock.now)
    after = api(SHOWN, {"id": sub_id, "c": csp_ready})

    assert before == after
    shown = before["subscription"]
    assert [node for node in before["subscriptions"]["nodes"] if node["id"] == sub_id] == [{"id": sub_id, **shown}]
    assert (shown["product"]["id"], shown["quantity"], shown["unitPrice"]["amount"]) == (product, quantity, price)
    assert [event["kind"] for event in shown["history"]][-2:] == last_events
    assert shown["scheduledChange"] is None
    if last_events[-1] == "RENEWED":
        assert (shown["status"], shown["termEndsAt"], shown["reducibleSeats"]) == ("ACTIVE", "2026-12-15T10:00:00+00:00", quantity)
        assert shown["seatLots"] == [{"quantity": quantity, "addedAt": "2026-11-15T10:00:00+00:00",
                                      "cancellationWindowClosesAt": "2026-11-22T10:00:00+00:00", "windowOpen": True}]
    else:
        assert (shown["status"], shown["termEndsAt"], shown["nextWindowOpensAt"], shown["seatLots"]) == (
            "EXPIRED", "2026-11-15T10:00:00+00:00", None, [])
    if last_events[0] == "SCHEDULED_PRODUCT_SWITCH_DROPPED":
        assert shown["history"][-2]["at"] == "2026-11-15T10:00:00+00:00"


def test_the_reasons_a_read_gives_for_a_dropped_switch_are_the_jobs(as_user, services, csp_ready, edu_catalogue, clock):
    api = as_user("nordit_sales")
    withdrawn = order(api, csp_ready, product=M365_BUSINESS_BASIC, term="P1M", quantity=10)["subscription"]["id"]
    switch_eligibility_withdrawn(api, as_user, services, csp_ready, withdrawn)
    clock.now = utc(READ_AT)
    dropped = details(api(SHOWN, {"id": withdrawn, "c": csp_ready})["subscription"]["history"][-2])
    assert (dropped["dropped_product_id"], dropped["scheduled_quantity"]) == (EDU_A3, "12")
    assert dropped["reason"] == "The customer has no education eligibility for Microsoft 365 A3 (education)."

    retire_education_product(services)
    dropped = details(api(SHOWN, {"id": withdrawn, "c": csp_ready})["subscription"]["history"][-2])
    assert dropped["reason"] == f"The product {EDU_A3} scheduled for the renewal is no longer offered."
    summary = subs.renew_due_subscriptions(services.uow, run_date=date(2026, 11, 16), now=clock.now)
    assert summary.as_dict()["product_switches_dropped"] == [withdrawn]


def test_a_seat_change_while_the_renewal_is_due_drops_a_switch_to_a_retired_product_as_the_job_would(
    as_user, services, csp_ready, edu_catalogue, clock,
):
    api = as_user("nordit_sales")
    sub_id = order(api, csp_ready, product=M365_BUSINESS_BASIC, term="P1M", quantity=10)["subscription"]["id"]
    switch_product_retired(api, as_user, services, csp_ready, sub_id)
    clock.now = utc(READ_AT)
    changed = api(INCREASE, {"id": sub_id, "seats": 1})["subscriptionSeatsIncrease"]
    assert changed["errors"] == []
    sub = changed["subscription"]
    assert (sub["product"]["id"], sub["quantity"], sub["unitPrice"]["amount"]) == (M365_BUSINESS_BASIC, 13, "6.79")
    assert [event["kind"] for event in sub["history"]][-3:] == ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED", "SEATS_ADDED"]
