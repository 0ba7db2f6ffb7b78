"""Upgrades to a higher product, and the "what if" preview."""

import itertools
from datetime import datetime, timezone

import pytest

from domain.catalogue import (
    M365_BUSINESS_BASIC,
    M365_BUSINESS_PREMIUM,
    M365_BUSINESS_STANDARD,
    Billing,
    Term,
    demo_catalogue,
)
from domain.errors import ValidationFailed
from domain.money import Money
from domain.subscriptions import (
    CancellationWindowClosed,
    CancelSubscription,
    ChargeKind,
    EndReason,
    IncreaseSeats,
    ReduceSeats,
    ScheduleChange,
    ScheduledChange,
    SetAutoRenew,
    SetQuantity,
    SubscriptionEventKind,
    SubscriptionStatus,
    UpgradeSeats,
    open_subscription,
    preview_change,
    recurring_charge_for_cycle,
)

UTC = timezone.utc
CATALOGUE = demo_catalogue()  # includes the +11% EUR change from 2023-04-01
BASIC = CATALOGUE.product(M365_BUSINESS_BASIC)  # 5.10 / seat / month, 5.66 from 2023-04-01
STANDARD = CATALOGUE.product(M365_BUSINESS_STANDARD)  # 10.50, 11.66 from 2023-04-01
PREMIUM = CATALOGUE.product(M365_BUSINESS_PREMIUM)  # 18.60, 20.65 from 2023-04-01


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def subscribe(product=BASIC, *, at=utc(2023, 1, 15, 10), quantity=10, ids=None):
    return open_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=product,
        term=Term.P1Y,
        billing=Billing.MONTHLY,
        quantity=quantity,
        now=at,
        actor_id="usr_partner",
        price_lookup=CATALOGUE,
        id_factory=ids or counting_ids(),
    ).new_subscription


def upgrade(sub, *, seats=None, at=utc(2023, 3, 1, 10), to=PREMIUM, ids=None):
    return sub.upgrade(
        from_product=BASIC,
        to_product=to,
        seats=seats,
        now=at,
        actor_id="usr_partner",
        price_lookup=CATALOGUE,
        id_factory=ids,
    )


# --- upgrades -----------------------------------------------------------------------------


def test_upgrading_all_seats_ends_the_parent_as_upgraded_and_moves_the_seats():
    sub = subscribe()
    outcome = upgrade(sub)
    new = outcome.new_subscription
    assert (sub.status, sub.end_reason, sub.quantity) == (SubscriptionStatus.CANCELLED, EndReason.UPGRADED, 0)
    assert (new.product_id, new.quantity, new.parent_subscription_id) == (PREMIUM.id, 10, sub.id)
    assert new.status is SubscriptionStatus.ACTIVE
    assert outcome.events[0].kind is SubscriptionEventKind.UPGRADED
    assert new.history[0].details["upgraded_from"] == sub.id


def test_the_upgraded_subscription_inherits_the_parents_term_end():
    sub = subscribe()
    new = upgrade(sub, seats=4).new_subscription
    assert new.term_ends_at == sub.term_ends_at == utc(2024, 1, 15, 10)
    assert new.started_at == utc(2023, 3, 1, 10)


def test_the_upgraded_subscription_takes_the_price_list_price_on_the_upgrade_date():
    sub = subscribe()
    new = upgrade(sub, seats=4, at=utc(2023, 4, 3, 10)).new_subscription
    assert new.unit_price == Money.of("20.65")
    assert sub.unit_price == Money.of("5.10")


def test_upgrading_some_seats_leaves_the_rest_on_the_parent():
    sub = subscribe()
    outcome = upgrade(sub, seats=4)
    assert (sub.quantity, outcome.new_subscription.quantity) == (6, 4)
    assert sub.status is SubscriptionStatus.ACTIVE


def test_upgrade_charges_the_pro_rata_difference_as_a_credit_and_a_charge():
    sub = subscribe()
    outcome = upgrade(sub, seats=4)
    credit, charge = outcome.charges
    # cycle 2023-02-15..03-15 has 28 days, 14 left: 5.10 × 4 × 14/28 = 10.20; 18.60 × 4 × 14/28 = 37.20
    assert (credit.kind, credit.subscription_id, credit.amount) == (ChargeKind.CREDIT, sub.id, Money.of("-10.20"))
    assert (charge.kind, charge.subscription_id, charge.amount) == (
        ChargeKind.PRORATA_INCREASE,
        outcome.new_subscription.id,
        Money.of("37.20"),
    )
    assert outcome.net_amount == Money.of("27.00")


def test_moved_seats_keep_their_lots_and_cancellation_windows():
    sub = subscribe()
    sub.increase_seats(3, now=utc(2023, 3, 1, 10), actor_id="usr_partner")
    new = upgrade(sub, seats=3, at=utc(2023, 3, 2, 10)).new_subscription
    assert [(lot.quantity, lot.added_at) for lot in new.seat_lots] == [(3, utc(2023, 3, 1, 10))]
    new.reduce_seats(1, now=utc(2023, 3, 5), actor_id="usr_partner")
    with pytest.raises(CancellationWindowClosed):
        new.reduce_seats(1, now=utc(2023, 3, 8, 10), actor_id="usr_partner")


def test_upgrading_is_allowed_after_the_cancellation_window():
    sub = subscribe()
    outcome = upgrade(sub, seats=2, at=utc(2023, 9, 1))
    assert outcome.new_subscription.quantity == 2


def test_upgrading_to_a_product_that_is_not_higher_is_refused():
    sub = subscribe(STANDARD)
    with pytest.raises(ValidationFailed) as refused:
        sub.upgrade(
            from_product=STANDARD,
            to_product=BASIC,
            now=utc(2023, 3, 1),
            actor_id="usr_partner",
            price_lookup=CATALOGUE,
        )
    assert refused.value.field == "targetProductId"
    assert M365_BUSINESS_PREMIUM in refused.value.hint
    assert sub.quantity == 10


def test_upgrading_more_seats_than_held_is_refused():
    sub = subscribe()
    with pytest.raises(ValidationFailed):
        upgrade(sub, seats=11)


def test_upgrade_from_the_wrong_product_is_refused():
    sub = subscribe(STANDARD)
    with pytest.raises(ValidationFailed):
        upgrade(sub)  # says BASIC, but the subscription is Business Standard


def test_upgrade_deletes_the_scheduled_change_of_the_parent():
    sub = subscribe()
    sub.schedule_change(
        ScheduledChange(quantity=5), now=utc(2023, 2, 1), actor_id="usr_partner", price_lookup=CATALOGUE
    )
    outcome = upgrade(sub, seats=2)
    assert outcome.scheduled_change_deleted
    assert sub.scheduled_change is None


def test_the_upgraded_subscription_is_billed_recurringly_from_its_first_full_cycle():
    sub = subscribe()
    new = upgrade(sub, seats=4).new_subscription
    assert recurring_charge_for_cycle(new, 1) is None  # 2023-02-15..03-15: charged pro rata at the upgrade
    march = recurring_charge_for_cycle(new, 2)
    assert (march.quantity, march.amount) == (4, Money.of("74.40"))


# --- preview ------------------------------------------------------------------------------


def test_preview_of_an_allowed_reduction_shows_the_credit_and_changes_nothing():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, ReduceSeats(2), utc(2023, 1, 20, 10), CATALOGUE)
    assert preview.allowed and preview.refusal is None
    assert preview.amount == Money.of("-17.61")  # 10.50 × 2 × 26/31 = 17.612…
    assert preview.cancellation_window_deadlines == (utc(2023, 1, 22, 10),)
    assert preview.quantity_after == 8
    assert sub.quantity == 10 and len(sub.history) == 1


def test_preview_of_a_refused_reduction_names_the_next_window():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, ReduceSeats(2), utc(2023, 1, 22, 10, 1), CATALOGUE)
    assert not preview.allowed
    assert isinstance(preview.refusal, CancellationWindowClosed)
    assert preview.next_window_opens_at == utc(2024, 1, 15, 10)
    assert preview.amount is None
    assert preview.quantity_after == 10


def test_preview_says_a_mid_term_increase_would_delete_the_scheduled_change():
    sub = subscribe(STANDARD)
    sub.schedule_change(
        ScheduledChange(quantity=8), now=utc(2023, 2, 1), actor_id="usr_partner", price_lookup=CATALOGUE
    )
    preview = preview_change(sub, IncreaseSeats(1), utc(2023, 2, 2), CATALOGUE)
    assert preview.scheduled_change_would_be_deleted
    assert sub.scheduled_change == ScheduledChange(quantity=8)


def test_preview_shows_the_price_after_the_next_renewal_including_announced_changes():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, IncreaseSeats(1), utc(2023, 2, 1), CATALOGUE)
    assert preview.next_renewal_at == utc(2024, 1, 15, 10)
    assert preview.price_after_next_renewal == Money.of("11.66")
    assert preview.amount == Money.of("4.74")  # cycle 2023-01-15..02-15, 14 days left: 10.50 × 14/31 = 4.741…
    assert preview.cancellation_window_deadlines == (utc(2023, 2, 8),)


def test_preview_of_a_scheduled_billing_change_prices_the_renewal_accordingly():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, ScheduleChange(ScheduledChange(billing=Billing.ANNUAL)), utc(2023, 2, 1), CATALOGUE)
    assert preview.allowed and preview.amount is None
    assert preview.price_after_next_renewal == Money.of("139.86")


def test_preview_of_turning_auto_renew_off_shows_no_next_renewal():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, SetAutoRenew(False), utc(2023, 2, 1), CATALOGUE)
    assert preview.next_renewal_at is None
    assert preview.next_window_opens_at is None
    assert preview.price_after_next_renewal is None
    assert sub.auto_renew


def test_preview_of_a_cancellation_inside_the_window_lists_every_lot_deadline():
    sub = subscribe(STANDARD)
    sub.increase_seats(2, now=utc(2023, 1, 17, 10), actor_id="usr_partner")
    preview = preview_change(sub, CancelSubscription(), utc(2023, 1, 18, 10), CATALOGUE)
    assert preview.cancellation_window_deadlines == (utc(2023, 1, 22, 10), utc(2023, 1, 24, 10))
    assert preview.amount == Money.of("-113.81")  # 10.50 × 12 × 28/31 = 113.806…
    assert preview.quantity_after == 0
    assert sub.status is SubscriptionStatus.ACTIVE


def test_preview_of_an_upgrade_shows_the_net_difference():
    sub = subscribe()
    preview = preview_change(sub, UpgradeSeats(BASIC, PREMIUM, 4), utc(2023, 3, 1, 10), CATALOGUE)
    assert preview.amount == Money.of("27.00")
    assert sub.quantity == 10


def test_preview_of_quantity_zero_is_refused_with_the_hint_to_cancel():
    sub = subscribe(STANDARD)
    preview = preview_change(sub, SetQuantity(0), utc(2023, 1, 16), CATALOGUE)
    assert not preview.allowed
    assert "Cancel" in preview.refusal.hint


@pytest.mark.parametrize(
    "change, at",
    [
        (ReduceSeats(3), utc(2023, 1, 19, 10)),
        (IncreaseSeats(4), utc(2023, 7, 3, 12)),
        (SetQuantity(7), utc(2023, 1, 21)),
        (CancelSubscription(), utc(2023, 1, 15, 12)),
    ],
)
def test_preview_and_the_real_change_agree(change, at):
    sub = subscribe(STANDARD)
    preview = preview_change(sub, change, at, CATALOGUE)
    outcome = {
        ReduceSeats: lambda: sub.reduce_seats(change.seats, now=at, actor_id="usr_partner"),
        IncreaseSeats: lambda: sub.increase_seats(change.seats, now=at, actor_id="usr_partner"),
        SetQuantity: lambda: sub.change_quantity(change.quantity, now=at, actor_id="usr_partner"),
        CancelSubscription: lambda: sub.cancel(now=at, actor_id="usr_partner"),
    }[type(change)]()
    assert preview.amount == outcome.net_amount
    assert preview.quantity_after == sub.quantity
