"""Referral tracking and attribution, and the partner's referrals overview.

A visit through a partner's link records a ``ReferralClick`` (partner number, click
instant; the signed cookie carries it). When a customer signs up, ``attribute_sign_up``
picks the partner.

Decided here, where ``DOMAIN.md`` leaves room:

* **The 90 days** are counted in Berlin calendar dates and day 90 counts: a click at any
  time on 2024-01-01 attributes sign-ups up to and including 2024-03-31
  (``sign-up date − click date ≤ 90 days``), not on 2024-04-01.
* **Last valid click wins.** Clicks that cannot count are skipped, so they never displace
  an earlier valid click: an unknown or inactive partner number, a partner's own link
  (the signing-up organisation is the partner, or the person signing up is a user of the
  partner), a click older than 90 days, or a click after the sign-up (beyond a few
  minutes' clock tolerance between servers).
* **The cookie keeps the last few clicks**, not just the last one (``track_click``): up to
  ``TRACKED_CLICKS``, newest first, one per partner (its newest click), so that a later
  click which no longer counts at sign-up (that partner was suspended meanwhile, or it is
  the signer's own) falls back to the earlier valid one. Clicks whose 90 days are over are
  dropped when the next click is recorded; a sixth partner's click forgets the oldest.
* **An explicit referral code** typed in at sign-up counts as a click at the sign-up
  instant, so it wins over an older cookie: the customer told us who referred them.
* **The referrals overview** shows each referred customer's subscriptions with the
  recurring commission each yields per billing cycle at the partner's rate today (the
  real commission is made per paid invoice, at the rate of its invoice date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Iterable, Mapping

from domain.calendar import berlin_date, ensure_utc
from domain.catalogue import Billing
from domain.commissions import CommissionTotals
from domain.money import Money, round_cents
from domain.partner_programme import ProgrammePartner, ProgrammeTerms, require_partner_number

ATTRIBUTION_DAYS = 90
CLOCK_TOLERANCE = timedelta(minutes=5)  # a click signed by one server, a sign-up timed by another
# Clicks the referral cookie remembers: enough to fall back past a few clicks that no longer count, and at about
# 25 characters each the signed cookie stays near 200 bytes, far below the browsers' 4 KB per cookie.
TRACKED_CLICKS = 5


@dataclass(frozen=True)
class ReferralClick:
    partner_number: int
    clicked_at: datetime  # UTC

    @classmethod
    def of(cls, partner_number: int, clicked_at: datetime) -> "ReferralClick":
        return cls(require_partner_number(partner_number), ensure_utc(clicked_at))

    @classmethod
    def from_referral_code(cls, partner_number: int, signed_up_at: datetime) -> "ReferralClick":
        """A partner number entered at sign-up: as if clicked at that very moment."""
        return cls.of(partner_number, signed_up_at)


def last_attributable_day(clicked_at: datetime) -> date:
    """The last Berlin date on which a sign-up is still attributed to this click (day 90 counts)."""
    return berlin_date(clicked_at) + timedelta(days=ATTRIBUTION_DAYS)


def click_attributable(clicked_at: datetime, signed_up_at: datetime) -> bool:
    """Whether a click at ``clicked_at`` may be credited with a sign-up at ``signed_up_at``."""
    clicked_at, signed_up_at = ensure_utc(clicked_at), ensure_utc(signed_up_at)
    if clicked_at > signed_up_at + CLOCK_TOLERANCE:
        return False
    return berlin_date(signed_up_at) <= last_attributable_day(clicked_at)


def track_click(tracked: Iterable[ReferralClick], click: ReferralClick) -> tuple[ReferralClick, ...]:
    """The clicks to keep after ``click`` joins those already ``tracked``.

    Newest first (the new click first among clicks of the same instant), one per partner (its newest click), at most
    ``TRACKED_CLICKS``; a tracked click whose last attributable day is before the new click's date can never count
    again and is dropped.
    """
    today = berlin_date(click.clicked_at)
    candidates = [click, *(c for c in tracked if last_attributable_day(c.clicked_at) >= today)]
    kept: dict[int, ReferralClick] = {}
    for candidate in sorted(candidates, key=lambda c: c.clicked_at, reverse=True):  # stable: the new click stays first
        kept.setdefault(candidate.partner_number, candidate)
    return tuple(kept.values())[:TRACKED_CLICKS]


@dataclass(frozen=True)
class SignUp:
    customer_id: str  # the organisation being created
    signed_up_at: datetime
    # Organisations the person signing up already belongs to (the principal's, or those of an
    # existing user with the same e-mail): a partner's own staff cannot earn through its link.
    signer_organisation_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Attribution:
    customer_id: str
    partner_id: str
    partner_number: int
    clicked_at: datetime
    attributed_at: datetime

    @property
    def referred_on(self) -> date:
        return berlin_date(self.attributed_at)


def is_self_referral(partner: ProgrammePartner, sign_up: SignUp) -> bool:
    return partner.partner_id == sign_up.customer_id or partner.partner_id in sign_up.signer_organisation_ids


def attribute_sign_up(
    sign_up: SignUp,
    clicks: Iterable[ReferralClick],
    partners_by_number: Mapping[int, ProgrammePartner],
) -> Attribution | None:
    """The partner of the last valid click, or ``None`` when no click counts."""
    # Latest first; between clicks of the same instant, the one given last wins.
    ordered = sorted(enumerate(clicks), key=lambda pair: (pair[1].clicked_at, pair[0]), reverse=True)
    for _, click in ordered:
        partner = partners_by_number.get(click.partner_number)
        if partner is None or not partner.active or is_self_referral(partner, sign_up):
            continue
        if not click_attributable(click.clicked_at, sign_up.signed_up_at):
            continue
        return Attribution(
            customer_id=sign_up.customer_id,
            partner_id=partner.partner_id,
            partner_number=partner.partner_number,
            clicked_at=click.clicked_at,
            attributed_at=ensure_utc(sign_up.signed_up_at),
        )
    return None


# --- the referrals overview ---------------------------------------------------------------


@dataclass(frozen=True)
class ReferredSubscription:
    """What a referred customer has booked: the product or tariff and its net price per billing cycle."""

    product_name: str
    price: Money
    billing_cycle: Billing
    earns_commission: bool = True  # False when the partner pays it or sells it itself


@dataclass(frozen=True)
class ReferredCustomer:
    customer_id: str
    customer_name: str
    referred_on: date
    subscriptions: tuple[ReferredSubscription, ...] = ()


@dataclass(frozen=True)
class ReferralLine:
    product_name: str
    price: Money
    billing_cycle: Billing
    recurring_commission: Money  # per billing cycle, at today's rate


@dataclass(frozen=True)
class ReferredCustomerOverview:
    customer_id: str
    customer_name: str
    referred_on: date
    lines: tuple[ReferralLine, ...]


@dataclass(frozen=True)
class ReferralsOverview:
    partner_id: str
    customers: tuple[ReferredCustomerOverview, ...]
    totals: CommissionTotals


def referrals_overview(
    partner: ProgrammePartner,
    referred: Iterable[ReferredCustomer],
    totals: CommissionTotals,
    terms: ProgrammeTerms,
    today: date,
) -> ReferralsOverview:
    rates = partner.rates_at(today, terms)
    percent = rates.commission_percent if rates else Decimal(0)

    def line(subscription: ReferredSubscription) -> ReferralLine:
        share = percent if subscription.earns_commission else Decimal(0)
        commission = Money(round_cents(subscription.price.amount * share / 100), subscription.price.currency)
        return ReferralLine(
            product_name=subscription.product_name,
            price=subscription.price.rounded(),
            billing_cycle=subscription.billing_cycle,
            recurring_commission=commission,
        )

    customers = tuple(
        ReferredCustomerOverview(
            customer_id=customer.customer_id,
            customer_name=customer.customer_name,
            referred_on=customer.referred_on,
            lines=tuple(line(s) for s in customer.subscriptions),
        )
        # Newest referral first; then by name, so the order is stable.
        for customer in sorted(referred, key=lambda c: (-c.referred_on.toordinal(), c.customer_name.casefold(), c.customer_id))
    )
    return ReferralsOverview(partner_id=partner.partner_id, customers=customers, totals=totals)
