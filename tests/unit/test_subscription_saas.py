"""Reseller SaaS subscriptions (e-mail signature product style)."""

import itertools
from datetime import date, datetime, timezone

import pytest

from domain.catalogue import M365_BUSINESS_STANDARD, SIGNATURES_FOR_M365, demo_catalogue
from domain.errors import Conflict, PreconditionFailed, ValidationFailed
from domain.subscriptions import (
    SaasCustomerAccess,
    SaasInvitationStatus,
    SaasStatus,
    SubscriptionEventKind,
    new_saas_subscription,
)

UTC = timezone.utc
CATALOGUE = demo_catalogue()
SIGNATURES = CATALOGUE.product(SIGNATURES_FOR_M365)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def create(**overrides):
    arguments = dict(
        partner_id="ptn_1",
        product=SIGNATURES,
        customer_company_name="Müller GmbH",
        users=25,
        now=utc(2024, 1, 31, 10),
        actor_id="usr_partner",
        id_factory=counting_ids(),
    )
    arguments.update(overrides)
    return new_saas_subscription(**arguments)


def test_the_next_payment_date_shown_moves_on_with_the_calendar_from_the_anchor():
    sub = create()  # 2024-01-31; nothing stored moves after creation
    seen = {day: sub.next_payment_on(date.fromisoformat(day)) for day in ("2024-01-31", "2024-02-29", "2024-03-01", "2024-05-01")}
    assert seen == {"2024-01-31": date(2024, 2, 29), "2024-02-29": date(2024, 2, 29), "2024-03-01": date(2024, 3, 31),
                    "2024-05-01": date(2024, 5, 31)}
    sub.deactivate(now=utc(2024, 2, 10), actor_id="usr_partner")
    assert sub.next_payment_on(date(2024, 5, 1)) == date(2024, 2, 29)  # inactive: nothing falls due


def test_a_new_saas_subscription_is_active_and_next_paid_a_month_later():
    sub = create()
    assert (sub.status, sub.users, sub.customer_company_name) == (SaasStatus.ACTIVE, 25, "Müller GmbH")
    assert sub.next_payment_date == date(2024, 2, 29)
    assert sub.history[0].kind is SubscriptionEventKind.CREATED


def test_payment_dates_are_anchored_on_the_creation_date():
    sub = create()
    dates = []
    for pay_day in (date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)):
        sub.charge_next_month(CATALOGUE, today=pay_day, now=datetime(pay_day.year, pay_day.month, pay_day.day, 12, tzinfo=UTC))
        dates.append(sub.next_payment_date)
    assert dates == [date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]


def test_charging_a_month_twice_on_one_day_charges_and_moves_it_once():
    sub = create()
    assert sub.charge_next_month(CATALOGUE, today=date(2024, 2, 29), now=utc(2024, 2, 29, 12)) is not None
    assert sub.charge_next_month(CATALOGUE, today=date(2024, 2, 29), now=utc(2024, 2, 29, 13)) is None
    assert sub.next_payment_date == date(2024, 3, 31)


def test_no_month_is_charged_before_its_payment_date():
    sub = create()
    assert sub.charge_next_month(CATALOGUE, today=date(2024, 2, 28), now=utc(2024, 2, 28, 12)) is None
    assert sub.next_payment_date == date(2024, 2, 29)


def test_an_inactive_subscription_is_not_charged_and_reactivation_starts_a_new_month_that_day():
    sub = create()
    sub.deactivate(now=utc(2024, 2, 10), actor_id="usr_partner")
    assert sub.charge_next_month(CATALOGUE, today=date(2024, 3, 1), now=utc(2024, 3, 1)) is None
    sub.activate(now=utc(2024, 4, 5), actor_id="usr_partner")
    assert sub.status is SaasStatus.ACTIVE
    assert (sub.next_payment_date, sub.billing_anchor_date) == (date(2024, 4, 5), date(2024, 4, 5))  # due at once


def test_activating_an_active_subscription_is_refused_and_changes_nothing():
    sub = create()
    with pytest.raises(Conflict, match="active already"):
        sub.activate(now=utc(2024, 2, 1), actor_id="usr_partner")
    assert (sub.status, sub.next_payment_date, len(sub.history)) == (SaasStatus.ACTIVE, date(2024, 2, 29), 1)


def test_deactivating_an_inactive_subscription_is_refused_and_changes_nothing():
    sub = create()
    sub.deactivate(now=utc(2024, 2, 10), actor_id="usr_partner")
    with pytest.raises(Conflict, match="inactive already"):
        sub.deactivate(now=utc(2024, 2, 11), actor_id="usr_partner")
    assert (sub.status, len(sub.history)) == (SaasStatus.INACTIVE, 2)


def test_reactivating_on_the_creation_day_keeps_the_paid_up_next_payment_date():
    """Created 2024-01-31 with the first month paid: deactivated and reactivated that day, nothing falls due before
    2024-02-29 (it used to become due on 2024-01-31 again)."""
    sub = create()
    sub.deactivate(now=utc(2024, 1, 31, 11), actor_id="usr_partner")
    event = sub.activate(now=utc(2024, 1, 31, 12), actor_id="usr_partner")
    assert sub.next_payment_date == date(2024, 2, 29)
    assert event.details == {"next_payment_date": "2024-02-29"}


def test_reactivating_up_to_the_paid_up_date_keeps_it_and_after_it_a_new_month_is_due_that_day():
    sub = create()
    sub.deactivate(now=utc(2024, 2, 10), actor_id="usr_partner")
    sub.activate(now=utc(2024, 2, 29, 9), actor_id="usr_partner")  # the paid-up date itself: due today, as it was
    assert sub.next_payment_date == date(2024, 2, 29)
    sub.deactivate(now=utc(2024, 3, 2), actor_id="usr_partner")
    sub.activate(now=utc(2024, 3, 3), actor_id="usr_partner")  # 2024-02-29 has passed: a new month from today
    assert sub.next_payment_date == date(2024, 3, 3)


def test_changing_users_to_the_same_number_is_refused():
    sub = create()
    with pytest.raises(Conflict) as refused:
        sub.change_users(25, now=utc(2024, 2, 1), actor_id="usr_partner")
    assert refused.value.field == "users" and "25 users already" in refused.value.message
    assert len(sub.history) == 1


def test_an_invitation_is_pending_until_its_sending_is_recorded():
    sub = create(invite_contact_name="Anna Müller", invite_email="anna@mueller-gmbh.de")
    assert sub.invitation.status is SaasInvitationStatus.PENDING
    failed = sub.record_invitation_delivery(sent=False, now=utc(2024, 1, 31, 10), actor_id="usr_partner")
    assert (sub.invitation.status, sub.invitation.failed_at, sub.invitation.sent_at) == (SaasInvitationStatus.FAILED, utc(2024, 1, 31, 10), None)
    sent = sub.record_invitation_delivery(sent=True, now=utc(2024, 2, 1, 8), actor_id="usr_partner")
    assert (sub.invitation.status, sub.invitation.sent_at) == (SaasInvitationStatus.SENT, utc(2024, 2, 1, 8))
    assert [failed.kind, sent.kind] == [SubscriptionEventKind.INVITATION_NOT_DELIVERED, SubscriptionEventKind.INVITATION_SENT]
    assert sent.details == {"email": "anna@mueller-gmbh.de"}


def test_an_invitation_is_sent_again_only_if_there_is_one_and_the_subscription_is_active():
    with pytest.raises(PreconditionFailed, match="no invitation"):
        create().assert_invitation_can_be_sent()
    sub = create(invite_contact_name="Anna Müller", invite_email="anna@mueller-gmbh.de")
    assert sub.assert_invitation_can_be_sent() is sub.invitation
    sub.deactivate(now=utc(2024, 2, 10), actor_id="usr_partner")
    with pytest.raises(Conflict, match="inactive"):
        sub.assert_invitation_can_be_sent()


@pytest.mark.parametrize("name", ["", "   ", None])
def test_the_customer_company_name_is_required(name):
    with pytest.raises(ValidationFailed) as refused:
        create(customer_company_name=name)
    assert refused.value.field == "customerCompanyName"


@pytest.mark.parametrize("users", [0, -3, True, 2.5])
def test_the_number_of_users_is_a_positive_whole_number(users):
    with pytest.raises(ValidationFailed) as refused:
        create(users=users)
    assert refused.value.field == "users"


def test_changing_the_number_of_users_is_recorded():
    sub = create()
    event = sub.change_users(30, now=utc(2024, 2, 1), actor_id="usr_partner")
    assert sub.users == 30
    assert (event.kind, event.actor_id, event.details) == (
        SubscriptionEventKind.USERS_CHANGED,
        "usr_partner",
        {"users": "30", "previous_users": "25"},
    )


def test_changing_users_to_zero_is_refused():
    sub = create()
    with pytest.raises(ValidationFailed):
        sub.change_users(0, now=utc(2024, 2, 1), actor_id="usr_partner")


def test_only_reseller_saas_products_can_be_subscribed_this_way():
    with pytest.raises(ValidationFailed):
        create(product=CATALOGUE.product(M365_BUSINESS_STANDARD))


def test_inviting_the_customer_grants_design_management_but_never_billing():
    sub = create(invite_contact_name="Anna Müller", invite_email="anna@Mueller-GmbH.de")
    assert sub.invitation.contact_name == "Anna Müller"
    assert sub.invitation.email == "anna@mueller-gmbh.de"
    assert sub.invitation.grants == frozenset({SaasCustomerAccess.DESIGN_MANAGEMENT})
    assert SaasCustomerAccess.BILLING not in sub.invitation.grants


def test_an_invitation_needs_the_contact_name():
    with pytest.raises(ValidationFailed) as refused:
        create(invite_email="anna@mueller-gmbh.de")
    assert refused.value.field == "invitation.contactName"


def test_an_invitation_needs_the_contact_email():
    with pytest.raises(ValidationFailed) as refused:
        create(invite_contact_name="Anna Müller")
    assert refused.value.field == "invitation.email"


def test_an_invitation_needs_a_valid_email():
    with pytest.raises(ValidationFailed) as refused:
        create(invite_contact_name="Anna Müller", invite_email="anna at mueller")
    assert refused.value.field == "invitation.email"


def test_without_an_invitation_the_reseller_manages_the_designs():
    assert create().invitation is None
