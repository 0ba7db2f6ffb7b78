"""Referral attribution: last valid click within 90 days (day 90 counts), no self-referral; the clicks the cookie keeps."""

from datetime import date, datetime, timezone

import pytest

from domain.partner_programme import ProgrammePartner, TierChange, Tier
from domain.referrals import TRACKED_CLICKS, ReferralClick, SignUp, attribute_sign_up, track_click

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


def test_a_newest_click_through_the_signers_own_link_leaves_the_sign_up_to_the_earlier_valid_click():
    clicks = [ReferralClick.of(1001, utc("2024-01-01T10:00:00")), ReferralClick.of(1002, utc("2024-01-05T10:00:00"))]
    attribution = attribute_sign_up(sign_up("2024-01-10T10:00:00", signer_organisation_ids=frozenset({"ptn_b"})), clicks, PARTNERS)
    assert attribution.partner_id == "ptn_a" and attribution.clicked_at == utc("2024-01-01T10:00:00")


def test_an_earlier_click_past_its_own_90_days_does_not_count_when_the_newer_click_is_invalid():
    clicks = [ReferralClick.of(1001, utc("2024-01-01T10:00:00")), ReferralClick.of(1003, utc("2024-03-25T10:00:00"))]  # 1003 inactive
    assert attribute_sign_up(sign_up("2024-03-31T20:00:00"), clicks, PARTNERS).partner_id == "ptn_a"  # day 90 of the 1001 click
    assert attribute_sign_up(sign_up("2024-04-01T08:00:00"), clicks, PARTNERS) is None  # day 91: 1003's click does not revive it


# --- the clicks the referral cookie keeps ------------------------------------------------------


def click(number, at):
    return ReferralClick.of(number, utc(at))


def test_the_cookie_keeps_the_clicks_newest_first_and_each_partner_once_with_its_newest_click():
    tracked = track_click([], click(1001, "2024-01-01T10:00:00"))
    tracked = track_click(tracked, click(1002, "2024-01-05T10:00:00"))
    tracked = track_click(tracked, click(1001, "2024-01-07T10:00:00"))
    assert tracked == (click(1001, "2024-01-07T10:00:00"), click(1002, "2024-01-05T10:00:00"))


def test_the_cookie_keeps_at_most_five_clicks_and_forgets_the_oldest():
    tracked: tuple[ReferralClick, ...] = ()
    for day, number in enumerate([1001, 1002, 1003, 1004, 1005, 1006], start=1):
        tracked = track_click(tracked, click(number, f"2024-01-{day:02d}T10:00:00"))
    assert TRACKED_CLICKS == 5
    assert [c.partner_number for c in tracked] == [1006, 1005, 1004, 1003, 1002]  # 1001, clicked 2024-01-01, forgotten


def test_a_kept_click_is_dropped_at_the_next_click_once_its_90_days_are_over():
    first = click(1001, "2024-01-01T10:00:00")  # attributes sign-ups up to and including 2024-03-31
    assert track_click([first], click(1002, "2024-03-31T20:00:00"))[1] == first
    assert track_click([first], click(1002, "2024-04-01T08:00:00")) == (click(1002, "2024-04-01T08:00:00"),)


def test_a_new_click_in_the_same_second_as_a_kept_one_of_another_partner_comes_first_and_wins():
    kept = click(1001, "2024-01-01T10:00:00")
    tracked = track_click([kept], click(1002, "2024-01-01T10:00:00"))
    assert [c.partner_number for c in tracked] == [1002, 1001]
    assert attribute_sign_up(sign_up("2024-01-02T10:00:00"), list(reversed(tracked)), PARTNERS).partner_id == "ptn_b"
