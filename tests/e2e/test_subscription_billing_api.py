"""CSP terms and charges through GraphQL at the edges: Berlin midnight, the hours before the nightly booking,
refusals when auto-renew is off. Prices: Microsoft 365 Business Standard, EUR 10.50 per seat and month
(annual term, billed monthly) until 2023-03-31; the monthly term is 20% dearer (EUR 12.60), EUR 13.99 from
2023-04-01."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.services.subscriptions import renew_due_subscriptions
from tests.e2e.test_subscriptions_api import INCREASE, ORDER, REDUCE, csp_ready, order  # noqa: F401 (csp_ready: fixture)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def test_a_monthly_term_bought_just_after_midnight_in_berlin_renews_on_the_berlin_day_of_month(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = datetime(2023, 3, 1, 0, 30, tzinfo=BERLIN)  # still 2023-02-28 by UTC
    ordered = order(api, csp_ready, term="P1M")
    assert ordered["errors"] == []
    ends = datetime.fromisoformat(ordered["subscription"]["termEndsAt"])
    # Anchored on the 1st (Berlin), not the 28th (UTC): renews 2023-04-01 00:30 Berlin, at the April price.
    assert ends.astimezone(BERLIN) == datetime(2023, 4, 1, 0, 30, tzinfo=BERLIN)
    assert ordered["charges"][0]["periodEnd"] == "2023-04-01"
    preview = api("""query($id: ID!) { subscription(id: $id) { priceAfterNextRenewal { amount } } }""",
                  {"id": ordered["subscription"]["id"]})["subscription"]
    assert preview["priceAfterNextRenewal"]["amount"] == "13.99"


def test_seats_removed_before_the_nightly_booking_are_charged_for_the_month_then_credited(as_user, clock, csp_ready, services):
    api = as_user("nordit_sales")
    clock.now = datetime(2023, 1, 15, 10, tzinfo=UTC)
    sub_id = order(api, csp_ready)["subscription"]["id"]
    renew_due_subscriptions(services.uow, run_date=date(2023, 2, 15), now=datetime(2023, 2, 15, 22, 30, tzinfo=UTC))
    clock.now = datetime(2023, 3, 10, 10, tzinfo=UTC)
    assert api(INCREASE, {"id": sub_id, "seats": 5})["subscriptionSeatsIncrease"]["errors"] == []
    clock.now = datetime(2023, 3, 15, 12, tzinfo=UTC)  # month 3 began at 10:00 UTC; the job runs at 22:30 UTC
    reduced = api(REDUCE, {"id": sub_id, "seats": 5})["subscriptionSeatsReduce"]
    assert reduced["errors"] == [] and reduced["subscription"]["quantity"] == 10
    assert [(c["kind"], c["amount"]["amount"]) for c in reduced["charges"]] == [("RECURRING", "157.50"), ("CREDIT", "-52.50")]
    summary = renew_due_subscriptions(services.uow, run_date=date(2023, 3, 15), now=datetime(2023, 3, 15, 22, 30, tzinfo=UTC))
    assert summary.as_dict()["cycles_charged"] == 0
    march = [c for c in services.uow().charges.list_for_subscription(sub_id).items if c.period_start == date(2023, 3, 15)]
    assert sorted((c.kind.value, c.quantity, c.amount.amount) for c in march) == [
        ("CREDIT", 5, Decimal("-52.50")), ("RECURRING", 15, Decimal("157.50"))]  # 105.00 for the 10 seats kept


def test_a_refusal_with_auto_renew_off_offers_only_what_can_be_done(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = datetime(2023, 1, 15, 10, tzinfo=UTC)
    ordered = api(ORDER, {"input": {"customerId": csp_ready, "productId": "prd_m365_business_standard", "term": "P1Y",
                                    "billing": "MONTHLY", "quantity": 10, "autoRenew": False}})["subscriptionOrder"]
    clock.now = datetime(2023, 2, 1, 10, tzinfo=UTC)
    refused = api(REDUCE, {"id": ordered["subscription"]["id"], "seats": 1})["subscriptionSeatsReduce"]
    assert refused["errors"][0]["code"] == "CANCELLATION_WINDOW_CLOSED"
    assert refused["window"]["nextWindowOpensAt"] is None
    assert refused["window"]["alternatives"] == [
        "Let the subscription end at 2024-01-15 10:00 UTC: auto-renew is off, nothing else to do.",
        "Turn auto-renew on (subscriptionAutoRenewSet), then schedule the change for the renewal at 2024-01-15 10:00 UTC "
        "(subscriptionRenewalChangeSchedule).",
    ]


def test_a_refusal_names_the_renewal_and_the_seats_that_can_still_go(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = datetime(2023, 1, 15, 10, tzinfo=UTC)
    sub_id = order(api, csp_ready)["subscription"]["id"]
    clock.now = datetime(2023, 2, 1, 10, tzinfo=UTC)
    api(INCREASE, {"id": sub_id, "seats": 2})
    refused = api(REDUCE, {"id": sub_id, "seats": 3})["subscriptionSeatsReduce"]
    assert refused["window"]["reducibleSeatsNow"] == 2
    assert refused["window"]["alternatives"] == [
        "Schedule the new quantity for the renewal at 2024-01-15 10:00 UTC (subscriptionRenewalChangeSchedule).",
        "Turn auto-renew off so the subscription ends at 2024-01-15 10:00 UTC (subscriptionAutoRenewSet).",
        "Remove up to 2 seat(s) now, the ones still inside their window (subscriptionSeatsReduce).",
    ]
