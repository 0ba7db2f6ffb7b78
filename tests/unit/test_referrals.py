"""Referral attribution: last valid click within 90 days (day 90 counts), no self-referral."""

from datetime import date, datetime, timezone

import pytest

from domain.partner_programme import ProgrammePartner, TierChange, Tier
from domain.referrals import ReferralClick, SignUp, attribute_sign_up

UTC = timezone.utc


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def programme_partner(number, partner_id, active=True):
    return ProgrammePartner(partner_id, number, f"Partner {number}", (TierChange(Tier.REGISTERED, date(2023, 1, 1), "usr_d"),), active=active)


PARTNERS = {1001: programme_partner(1001, "ptn_a"), 1002: programme_partner(1002, "ptn_b"), 1003: programme_partner(1003, "ptn_c", active=False)}


def sign_up(at, **kwargs):
    return SignUp(customer_id="cus_new", signed_up_at=utc(at), **kwargs)


def test_click_on_2024_01_01_attributes_a_sign_up_on_2024_03_31():
    attribution = attribute_sign_up(sign_up("2024-03-31T20:00:00"), [ReferralClick.of(1001, utc("2024-01-01T10:00:00"))], PARTNERS)
    assert attribution is not None and attribution.partner_id == "ptn_a"


def test_click_on_2024_01_01_does_not_attribute_a_sign_up_on_2024_04_01():
    assert attribute_sign_up(sign_up("2024-04-01T08:00:00"), [ReferralClick.of(1001, utc("2024-01-01T10:00:00"))], PARTNERS) is None


def test_days_are_berlin_dates():
    # 2024-01-01 23:30 UTC is already 2024-01-02 in Berlin: attributable until 2024-04-01 (Berlin).
    assert attribute_sign_up(sign_up("2024-04-01T08:00:00"), [ReferralClick.of(1001, utc("2024-01-01T23:30:00"))], PARTNERS) is not None


def test_the_last_valid_click_wins():
    clicks = [ReferralClick.of(1001, utc("2024-01-01T10:00:00")), ReferralClick.of(1002, utc("2024-02-01T10:00:00"))]
    assert attribute_sign_up(sign_up("2024-03-01T10:00:00"), clicks, PARTNERS).partner_id == "ptn_b"


def test_an_inactive_or_unknown_partner_does_not_displace_an_earlier_valid_click():
    clicks = [ReferralClick.of(1001, utc("2024-01-01T10:00:00")), ReferralClick.of(1003, utc("2024-02-01T10:00:00")), ReferralClick.of(9999, utc("2024-02-02T10:00:00"))]
    assert attribute_sign_up(sign_up("2024-03-01T10:00:00"), clicks, PARTNERS).partner_id == "ptn_a"


def test_a_partner_earns_nothing_through_its_own_link():
    clicks = [ReferralClick.of(1001, utc("2024-01-01T10:00:00"))]
    assert attribute_sign_up(sign_up("2024-01-05T10:00:00", signer_organisation_ids=frozenset({"ptn_a"})), clicks, PARTNERS) is None


def test_a_click_after_the_sign_up_does_not_count():
    assert attribute_sign_up(sign_up("2024-01-05T10:00:00"), [ReferralClick.of(1001, utc("2024-01-05T11:00:00"))], PARTNERS) is None


def test_an_explicit_referral_code_counts_as_a_click_at_sign_up_and_wins():
    at = utc("2024-03-01T10:00:00")
    clicks = [ReferralClick.of(1002, utc("2024-02-01T10:00:00")), ReferralClick.from_referral_code(1001, at)]
    assert attribute_sign_up(sign_up("2024-03-01T10:00:00"), clicks, PARTNERS).partner_id == "ptn_a"
