"""Every refusal of a CSP change says what to do instead, and what it names is an operation accepted at that moment.

Annual term billed monthly, 10 seats bought 2023-01-15 10:00 UTC: the window closed 2023-01-22 10:00, the next renewal is
2024-01-15 10:00.
"""

from datetime import datetime, timezone

import pytest

from domain.catalogue import demo_catalogue, M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, Billing, Term
from domain.errors import ValidationFailed
from domain.subscriptions import CancellationWindowClosed, ProductAccess, ScheduledChange, open_subscription, CspReadiness, TenantState

UTC = timezone.utc
CATALOGUE = demo_catalogue()
BOUGHT = datetime(2023, 1, 15, 10, tzinfo=UTC)
LATE = datetime(2023, 3, 1, 9, tzinfo=UTC)  # every window closed


def subscription(*, auto_renew=True):
    return open_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(M365_BUSINESS_STANDARD), term=Term.P1Y,
        billing=Billing.MONTHLY, quantity=10, now=BOUGHT, actor_id="usr_1", price_lookup=CATALOGUE, auto_renew=auto_renew,
    ).new_subscription


def refusal(operation):
    with pytest.raises((ValidationFailed, CancellationWindowClosed)) as refused:
        operation()
    return refused.value


@pytest.mark.parametrize("remove_all", [
    lambda s: s.reduce_seats(10, now=LATE, actor_id="usr_1"),
    lambda s: s.change_quantity(0, now=LATE, actor_id="usr_1"),
])
def test_removing_every_seat_outside_the_window_points_to_auto_renew_not_to_the_refused_cancellation(remove_all):
    sub = subscription()
    hint = refusal(lambda: remove_all(sub)).hint
    assert "subscriptionCancel" not in hint and "Cancel the subscription" not in hint
    assert "turn auto-renew off (subscriptionAutoRenewSet)" in hint and "2024-01-15 10:00 UTC" in hint
    refusal(lambda: sub.cancel(now=LATE, actor_id="usr_1"))  # what the old hint said to do: refused
    assert sub.set_auto_renew(False, now=LATE, actor_id="usr_1").changed  # what the hint says: accepted


def test_removing_every_seat_inside_the_window_points_to_the_cancellation():
    sub = subscription()
    inside = datetime(2023, 1, 20, 9, tzinfo=UTC)
    hint = refusal(lambda: sub.reduce_seats(10, now=inside, actor_id="usr_1")).hint
    assert hint.startswith("Cancel the subscription instead (subscriptionCancel), possible until 2023-01-22 10:00 UTC")
    assert sub.cancel(now=inside, actor_id="usr_1").changed


def test_removing_every_seat_with_auto_renew_off_says_it_ends_anyway():
    sub = subscription(auto_renew=False)
    hint = refusal(lambda: sub.reduce_seats(10, now=LATE, actor_id="usr_1")).hint
    assert hint.startswith("Auto-renew is off, so it ends at 2024-01-15 10:00 UTC; nothing else to do")


def test_a_refused_cancellation_never_offers_to_schedule_it():
    sub = subscription()
    refused = refusal(lambda: sub.cancel(now=LATE, actor_id="usr_1"))
    assert refused.hint == ("Turn auto-renew off (subscriptionAutoRenewSet) so the subscription ends at 2024-01-15 10:00 UTC "
                            "instead of renewing.")
    assert refused.alternatives == (
        "Turn auto-renew off so the subscription ends at 2024-01-15 10:00 UTC (subscriptionAutoRenewSet).",
        "Schedule fewer seats for the renewal at 2024-01-15 10:00 UTC (subscriptionRenewalChangeSchedule).",
    )


def test_a_refused_cancellation_with_auto_renew_off_has_nothing_to_schedule_or_turn_off():
    sub = subscription(auto_renew=False)
    refused = refusal(lambda: sub.cancel(now=LATE, actor_id="usr_1"))
    assert refused.hint == "Nothing to do: auto-renew is off, so the subscription ends at 2024-01-15 10:00 UTC."
    assert refused.alternatives == ("Let the subscription end at 2024-01-15 10:00 UTC: auto-renew is off, nothing else to do.",)


def test_a_refused_cancellation_names_the_seats_that_can_still_go():
    sub = subscription()
    sub.increase_seats(2, now=LATE, actor_id="usr_1")
    refused = refusal(lambda: sub.cancel(now=datetime(2023, 3, 2, 9, tzinfo=UTC), actor_id="usr_1"))
    assert refused.hint.endswith("Up to 2 seat(s) can be removed now (subscriptionSeatsReduce).")


def test_scheduling_zero_seats_points_to_turning_auto_renew_off():
    sub = subscription()
    refused = refusal(lambda: sub.schedule_change(ScheduledChange(quantity=0), now=LATE, actor_id="usr_1", price_lookup=CATALOGUE))
    assert refused.field == "scheduledChange.quantity"
    assert refused.hint == "To end it at the renewal at 2024-01-15 10:00 UTC, turn auto-renew off (subscriptionAutoRenewSet)."
    assert sub.set_auto_renew(False, now=LATE, actor_id="usr_1").changed


def ready() -> ProductAccess:
    return ProductAccess(CspReadiness("1234567", "ms-1", TenantState.CREATED, "kunde.onmicrosoft.com", BOUGHT))


def downgrade(sub, access=None):
    return refusal(lambda: sub.upgrade(
        from_product=CATALOGUE.product(M365_BUSINESS_STANDARD), to_product=CATALOGUE.product(M365_BUSINESS_BASIC), now=LATE,
        actor_id="usr_1", price_lookup=CATALOGUE, access=access or ready(),
    ))


def test_a_downgrade_through_the_upgrade_offers_the_switch_at_the_renewal():
    sub = subscription()
    hint = downgrade(sub).hint
    assert hint.startswith(
        "During a term Microsoft allows upgrades only: schedule the switch to Microsoft 365 Business Basic for the renewal at "
        "2024-01-15 10:00 UTC (subscriptionRenewalChangeSchedule with productId prd_m365_business_basic).")
    assert hint.endswith("Upgrades of Microsoft 365 Business Standard: prd_m365_business_premium, prd_o365_e3.")
    scheduled = sub.schedule_change(ScheduledChange(product_id=M365_BUSINESS_BASIC), now=LATE, actor_id="usr_1",
                                    price_lookup=CATALOGUE, product=CATALOGUE.product(M365_BUSINESS_BASIC), access=ready())
    assert scheduled.changed


def test_a_downgrade_with_auto_renew_off_says_to_turn_it_on_first():
    assert "turn auto-renew on (subscriptionAutoRenewSet), then schedule the switch" in downgrade(subscription(auto_renew=False)).hint


def test_no_switch_is_offered_to_a_product_the_customer_may_not_have():
    no_agreement = ProductAccess(CspReadiness("1234567", "ms-1", TenantState.CREATED, "kunde.onmicrosoft.com", None))
    assert downgrade(subscription(), no_agreement).hint == "Upgrades of Microsoft 365 Business Standard: prd_m365_business_premium, prd_o365_e3."
