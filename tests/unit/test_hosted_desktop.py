"""Hosted desktop (terminal server, cloud desktop): only plans whose licence terms carry the right may run there."""

from datetime import datetime, timezone

import pytest

from domain.catalogue import Billing, NotEligible, Product, ProductCategory, ProductKind, Term
from domain.errors import ErrorCode
from domain.subscriptions import ScheduledChange, SetHostedDesktop, SubscriptionEventKind, apply_change, open_subscription
from tests.unit.test_subscription_rules import counting_ids, fixed_prices

UTC = timezone.utc
NOW = datetime(2024, 3, 4, 10, tzinfo=UTC)
APPS = Product("prd_apps", "Microsoft 365 Apps for business", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE,
               upgrade_targets=frozenset({"prd_standard"}), allows_hosted_desktop=True)
STANDARD = Product("prd_standard", "Microsoft 365 Business Standard", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE)


def order(product: Product, *, hosted_desktop: bool = False):
    return open_subscription(customer_id="cus_1", partner_id="ptn_1", product=product, term=Term.P1Y, billing=Billing.MONTHLY,
                             quantity=5, now=NOW, actor_id="usr_partner", price_lookup=fixed_prices(), id_factory=counting_ids(),
                             hosted_desktop=hosted_desktop).new_subscription


def test_a_plan_with_the_right_may_be_ordered_for_a_hosted_desktop_and_one_without_may_not():
    assert order(APPS, hosted_desktop=True).hosted_desktop is True
    with pytest.raises(NotEligible) as refused:
        order(STANDARD, hosted_desktop=True)
    assert refused.value.code is ErrorCode.NOT_ELIGIBLE and "Business Premium" in refused.value.hint


def test_assigning_and_taking_off_is_recorded_and_refused_for_a_plan_without_the_right():
    apps = order(APPS)
    outcome = apply_change(apps, SetHostedDesktop(True, APPS), now=NOW, actor_id="usr_partner", price_lookup=fixed_prices())
    assert outcome.changed and apps.hosted_desktop and apps.history[-1].kind is SubscriptionEventKind.HOSTED_DESKTOP_CHANGED
    assert not apply_change(apps, SetHostedDesktop(True, APPS), now=NOW, actor_id="u", price_lookup=fixed_prices()).changed
    standard = order(STANDARD)
    with pytest.raises(NotEligible):
        apply_change(standard, SetHostedDesktop(True, STANDARD), now=NOW, actor_id="u", price_lookup=fixed_prices())
    assert standard.hosted_desktop is False
    apply_change(apps, SetHostedDesktop(False, APPS), now=NOW, actor_id="u", price_lookup=fixed_prices())
    assert apps.hosted_desktop is False


def test_a_hosted_subscription_keeps_the_right_through_upgrades_and_scheduled_switches():
    apps = order(APPS, hosted_desktop=True)
    with pytest.raises(NotEligible) as refused:
        apps.upgrade(from_product=APPS, to_product=STANDARD, now=NOW, actor_id="u", price_lookup=fixed_prices())
    assert refused.value.field == "targetProductId" and "subscriptionHostedDesktopSet" in refused.value.hint
    with pytest.raises(NotEligible):
        apps.schedule_change(ScheduledChange(product_id=STANDARD.id), product=STANDARD, now=NOW, actor_id="u", price_lookup=fixed_prices())
    assert apps.scheduled_change is None and apps.quantity == 5
    # Off the hosted desktop, both are allowed again; the upgraded subscription inherits the flag.
    apps.set_hosted_desktop(False, product=APPS, now=NOW, actor_id="u")
    upgraded = apps.upgrade(from_product=APPS, to_product=STANDARD, now=NOW, actor_id="u", price_lookup=fixed_prices()).new_subscription
    assert upgraded.hosted_desktop is False


def test_assigning_is_refused_while_a_switch_to_a_plan_without_the_right_is_scheduled():
    apps = order(APPS)
    apps.schedule_change(ScheduledChange(product_id=STANDARD.id), product=STANDARD, now=NOW, actor_id="u", price_lookup=fixed_prices())
    with pytest.raises(NotEligible) as refused:
        apps.set_hosted_desktop(True, product=APPS, scheduled_product=STANDARD, now=NOW, actor_id="u")
    assert refused.value.field == "scheduledChange.productId" and apps.hosted_desktop is False
