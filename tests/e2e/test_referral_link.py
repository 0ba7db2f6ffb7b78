"""GET /r?aff=<partner number>&to=<path>: signed, HttpOnly, Secure, SameSite=Lax cookie of the last clicks; never an open redirect."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.policy import Principal
from domain.referrals import click_attributable
from domain.referrals import ReferralClick
from infra.demo import enrol_demo_partner
from infra.referral_links import (
    COOKIE_NAME,
    cookie_expires_at,
    cookie_max_age_seconds,
    safe_redirect_path,
    sign_click,
    sign_clicks,
    verify_click,
    verify_clicks,
)
from tests.e2e.test_partner_programme_api import ACTIVE, NEW_CUSTOMER, SIGN_UP

PORTAL = "https://portal.partnerhub.example"


@pytest.fixture
def partner_number(demo, services, clock):
    ops = Principal.of(demo.users["distributor"])
    return enrol_demo_partner(services.uow(), services.documents, ops, demo.partners["nordit"].id, now=clock.now).partner_number


def visit(client, query: str):
    return client.get(f"/r?{query}", follow_redirects=False)


def test_a_referral_link_sets_the_signed_cookie_and_redirects_to_the_path_on_the_portal(client, services, clock, partner_number):
    response = visit(client, f"aff={partner_number}&to=/pricing?plan=business")
    assert response.status_code == 302 and response.headers["location"] == f"{PORTAL}/pricing?plan=business"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    # clicked 2026-11-23 10:00 Berlin: until the end of day 90, 2027-02-22 00:00 Berlin (90 days and 14 hours)
    assert "Max-Age=7826400" in cookie and "expires=Sun, 21 Feb 2027 23:00:00 GMT" in cookie
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    click = verify_click(services.settings.referral_secret, value)
    assert click.partner_number == partner_number and abs(click.clicked_at - clock.now) < timedelta(seconds=1)


def test_the_cookie_of_a_click_on_2024_01_01_still_reaches_a_sign_up_late_on_2024_03_31_day_90(client, clock, partner_number):
    clock.now = datetime(2024, 1, 1, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin
    cookie = visit(client, f"aff={partner_number}&to=/").headers["set-cookie"]
    # 2024-03-31 starts in winter time and ends in summer time: its end is 22:00 UTC, 90 days and 14 hours after the click
    assert "Max-Age=7826400" in cookie and "expires=Sun, 31 Mar 2024 22:00:00 GMT" in cookie
    sign_up_evening_of_day_90 = datetime(2024, 3, 31, 21, 30, tzinfo=timezone.utc)  # 23:30 in Berlin
    assert sign_up_evening_of_day_90 < clock.now + timedelta(seconds=7826400)
    assert click_attributable(clock.now, sign_up_evening_of_day_90)


@pytest.mark.parametrize(
    "clicked_at, expires_at",
    [
        ("2024-01-01T08:00:00", "2024-03-31T22:00:00"),  # day 90 ends in summer time (clocks went forward that night)
        ("2023-12-31T23:30:00", "2024-03-31T22:00:00"),  # 00:30 on 2024-01-01 in Berlin: day 1 is the Berlin date
        ("2024-01-01T22:59:59", "2024-03-31T22:00:00"),  # 23:59:59 in Berlin, still 2024-01-01
        ("2024-08-01T10:00:00", "2024-10-30T23:00:00"),  # day 90 is 2024-10-30, back in winter time
    ],
)
def test_the_cookie_expires_when_the_domain_rule_stops_attributing_at_the_end_of_berlin_day_90(clicked_at, expires_at):
    click = datetime.fromisoformat(clicked_at).replace(tzinfo=timezone.utc)
    expires = datetime.fromisoformat(expires_at).replace(tzinfo=timezone.utc)
    assert cookie_expires_at(click) == expires
    assert cookie_max_age_seconds(click) == (expires - click).total_seconds()
    assert click_attributable(click, expires - timedelta(seconds=1)) and not click_attributable(click, expires)


def test_the_max_age_of_a_click_between_two_seconds_is_rounded_up_to_reach_the_end_of_day_90():
    click = datetime(2024, 1, 1, 8, 0, 0, 400000, tzinfo=timezone.utc)
    assert cookie_max_age_seconds(click) == 7826400  # 7826399.6 seconds to 2024-03-31 22:00 UTC


def test_unknown_or_malformed_partner_numbers_redirect_without_a_cookie(client, partner_number):
    for aff in ["999999", "abc", "0", "-1", "+1", ""]:
        response = visit(client, f"aff={aff}&to=/")
        assert response.status_code == 302 and "set-cookie" not in response.headers, aff


def test_an_inactive_partner_sets_no_cookie(client, services, demo, partner_number):
    uow = services.uow()
    partner = uow.programme_partners.get(demo.partners["nordit"].id)
    with uow:
        uow.programme_partners.update(partner.deactivated())
        uow.commit()
    assert "set-cookie" not in visit(client, f"aff={partner_number}&to=/").headers


EVIL_TARGETS = [
    "//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "http:/evil", "evil.example",
    "/\tx", "javascript:alert(1)", "/ok\r\nLocation: https://evil", "/%2F%2Fevil.example",
]


def test_no_open_redirect(client, partner_number):
    from urllib.parse import quote

    for target in EVIL_TARGETS:
        response = visit(client, f"aff={partner_number}&to={quote(target, safe='')}")
        location = response.headers["location"]
        assert location == PORTAL + "/" or (location.startswith(PORTAL + "/") and "//" not in location[len(PORTAL):]), target


@pytest.mark.parametrize("target", ["//evil", "https://evil", "/\\evil", "\\evil", "", None, "relative", "/a\nb", *EVIL_TARGETS[:-1]])
def test_safe_redirect_path_keeps_only_own_paths(target):
    assert safe_redirect_path(target) == "/"


def test_a_forged_or_tampered_cookie_is_ignored():
    secret = "s3cret"
    value = sign_click(secret, 1001, datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert verify_click(secret, value).partner_number == 1001
    number, seconds, mac = value.split(".")
    assert verify_click(secret, f"1002.{seconds}.{mac}") is None
    assert verify_click(secret, f"{number}.{int(seconds) + 86400 * 30}.{mac}") is None  # a "fresher" click
    assert verify_click("other", value) is None and verify_click("", value) is None


def test_the_referral_link_through_an_api_gateway_v2_event_returns_the_cookie(services, demo, partner_number, monkeypatch):
    """HTTP APIs (payload 2.0) take cookies from the response's `cookies` list, which Mangum fills from Set-Cookie."""
    import handler
    from mangum import Mangum

    from resolvers.http import create_app
    from tests.e2e.test_lambda_handler import LambdaContext, http_api_event

    monkeypatch.setattr(handler, "app", create_app(services))
    event = http_api_event(None, token=None, method="GET", path="/r")
    event["rawQueryString"] = f"aff={partner_number}&to=/signup"
    response = Mangum(handler.app, lifespan="off")(event, LambdaContext())
    assert response["statusCode"] == 302 and response["headers"]["location"] == f"{PORTAL}/signup"
    (cookie,) = response["cookies"]
    assert cookie.startswith(f"{COOKIE_NAME}={partner_number}.") and "HttpOnly" in cookie and "Secure" in cookie


# --- the cookie keeps the last clicks, so a newest click that no longer counts falls back to an earlier one ---------


def utc(year, month, day, hour=9):
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def click_through(client, clock, number: int, at: datetime, cookie: str | None = None) -> str:
    """A visit of the link at ``at`` from a browser holding ``cookie``; the cookie value it then holds.

    The test client does not send the Secure cookie back to http://testserver, so the browser's cookie is sent by hand.
    """
    clock.now = at
    headers = {"cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
    response = client.get(f"/r?aff={number}&to=/", headers=headers, follow_redirects=False)
    return response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]


@pytest.fixture
def two_partners(demo, services, clock, partner_number):
    ops = Principal.of(demo.users["distributor"])
    return partner_number, enrol_demo_partner(services.uow(), services.documents, ops, demo.partners["suedcloud"].id, now=clock.now).partner_number


def sign_up(as_user, clock, at: datetime, cookie: str, name: str):
    clock.now = at
    result = as_user("distributor")(SIGN_UP, {"input": {**NEW_CUSTOMER, "name": name}, "cookie": cookie})["customerSignUp"]
    assert result["errors"] == []
    return result["referredByPartnerNumber"]


def suspend(as_user, demo, partner: str):
    assert as_user("distributor")(ACTIVE, {"id": demo.partners[partner].id, "active": False})["partnerProgrammeActiveSet"]["errors"] == []


def test_a_click_of_a_partner_suspended_before_the_sign_up_leaves_it_to_the_earlier_valid_click(as_user, client, clock, demo, two_partners):
    nordit, suedcloud = two_partners
    cookie = click_through(client, clock, nordit, utc(2024, 1, 1))
    cookie = click_through(client, clock, suedcloud, utc(2024, 1, 5), cookie)
    assert [c.partner_number for c in verify_clicks(client.app.state.services.settings.referral_secret, cookie)] == [suedcloud, nordit]
    suspend(as_user, demo, "suedcloud")
    assert sign_up(as_user, clock, utc(2024, 1, 10), cookie, "Neu GmbH") == nordit


def test_an_earlier_click_past_its_90_days_does_not_count_although_the_newest_click_is_invalid(as_user, client, clock, demo, two_partners):
    nordit, suedcloud = two_partners
    cookie = click_through(client, clock, nordit, utc(2024, 1, 1))
    cookie = click_through(client, clock, suedcloud, utc(2024, 3, 25), cookie)
    suspend(as_user, demo, "suedcloud")
    assert sign_up(as_user, clock, utc(2024, 3, 31, 20), cookie, "Tag 90 GmbH") == nordit  # 22:00 Berlin on day 90 of the click
    assert sign_up(as_user, clock, utc(2024, 4, 1, 8), cookie, "Tag 91 GmbH") is None


def test_the_cookie_lasts_until_the_end_of_day_90_of_its_newest_click(client, clock, two_partners):
    nordit, suedcloud = two_partners
    cookie = click_through(client, clock, nordit, utc(2024, 1, 1, 8))
    clock.now = utc(2024, 1, 5, 8)
    header = client.get(f"/r?aff={suedcloud}&to=/", headers={"cookie": f"{COOKIE_NAME}={cookie}"}, follow_redirects=False).headers["set-cookie"]
    assert "expires=Thu, 04 Apr 2024 22:00:00 GMT" in header  # day 90 of 2024-01-05 is 2024-04-04, in summer time


def test_a_sixth_partner_s_click_forgets_the_oldest_of_five_kept_clicks(client, clock, services, partner_number):
    secret = services.settings.referral_secret
    kept = [ReferralClick.of(number, utc(2024, 1, day)) for day, number in [(5, 905), (4, 904), (3, 903), (2, 902), (1, 901)]]
    cookie = click_through(client, clock, partner_number, utc(2024, 1, 6), sign_clicks(secret, kept))
    assert verify_clicks(secret, cookie) == (ReferralClick.of(partner_number, utc(2024, 1, 6)), *kept[:4])


def test_a_tampered_cookie_is_dropped_whole_at_the_next_click_and_at_sign_up(as_user, client, clock, services, two_partners):
    nordit, suedcloud = two_partners
    secret = services.settings.referral_secret
    genuine = sign_clicks(secret, [ReferralClick.of(suedcloud, utc(2024, 1, 5)), ReferralClick.of(nordit, utc(2024, 1, 1))])
    clicks, mac = genuine.rsplit(".", 1)
    newest, older = clicks.split("-")
    tampered = [
        f"{newest}-{suedcloud}.{older.split('.')[1]}.{mac}",  # the older click moved to the other partner
        f"{older}-{newest}.{mac}",  # reordered
        f"{newest}.{mac}",  # a click left out
        f"{clicks}-{nordit}.{int(utc(2024, 1, 9).timestamp())}.{mac}",  # a "fresher" click added
        genuine[:-1] + ("0" if genuine[-1] != "0" else "1"),
    ]
    assert verify_clicks(secret, genuine) and not any(verify_clicks(secret, value) for value in tampered)
    assert verify_clicks(secret, click_through(client, clock, nordit, utc(2024, 1, 6), tampered[0])) == (ReferralClick.of(nordit, utc(2024, 1, 6)),)
    assert sign_up(as_user, clock, utc(2024, 1, 10), tampered[0], "Neu GmbH") is None


def test_a_single_click_cookie_set_before_the_cookie_kept_several_clicks_is_still_read(as_user, client, clock, services, two_partners):
    import hashlib
    import hmac

    nordit, suedcloud = two_partners
    secret = services.settings.referral_secret
    payload = f"{nordit}.{int(utc(2024, 1, 1).timestamp())}"  # the earlier format: <number>.<seconds>.<hmac>
    earlier = f"{payload}.{hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}"
    assert verify_clicks(secret, earlier) == (ReferralClick.of(nordit, utc(2024, 1, 1)),)
    cookie = click_through(client, clock, suedcloud, utc(2024, 1, 5), earlier)
    assert verify_clicks(secret, cookie) == (ReferralClick.of(suedcloud, utc(2024, 1, 5)), ReferralClick.of(nordit, utc(2024, 1, 1)))
    assert sign_up(as_user, clock, utc(2024, 1, 10), earlier, "Neu GmbH") == nordit


def test_five_clicks_of_twelve_digit_partner_numbers_sign_to_a_cookie_far_below_4_kb():
    clicks = [ReferralClick.of(999_999_999_999 - n, datetime(2024, 1, 5 - n, tzinfo=timezone.utc)) for n in range(5)]
    value = sign_clicks("s3cret", clicks)
    assert len(f"{COOKIE_NAME}={value}") < 300 and verify_clicks("s3cret", value) == tuple(clicks)
    with pytest.raises(ValueError):
        sign_clicks("s3cret", [*clicks, ReferralClick.of(1, datetime(2023, 12, 31, tzinfo=timezone.utc))])
