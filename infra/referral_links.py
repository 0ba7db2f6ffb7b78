"""The referral cookie (signed partner number and click time) and the redirect target of a referral link.

The cookie is ``<partner number>.<click time, Unix seconds>.<HMAC-SHA256 hex>``, keyed with
``REFERRAL_SECRET``. It lives until the end of the click's last attributable Berlin day
(day 90 counts: a click at any time on 2024-01-01 lasts until 2024-04-01 00:00 Berlin), so
the browser still sends it with a sign-up late on day 90. Attribution trusts only the signed
click time, never the browser's Max-Age: a cookie kept or replayed longer is still refused
by the domain rule (``domain.referrals.click_attributable``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlsplit

from domain.calendar import berlin_instant, ensure_utc
from domain.partner_programme import parse_partner_number
from domain.referrals import ReferralClick, last_attributable_day

COOKIE_NAME = "ph_ref"
_COOKIE = re.compile(r"([0-9]{1,12})\.([0-9]{1,12})\.([0-9a-f]{64})")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")


def cookie_expires_at(clicked_at: datetime) -> datetime:
    """The end of the last Berlin day a sign-up is attributed to the click: midnight in Berlin after day 90, in UTC.

    Clicked 2024-01-01 09:00 Berlin: day 90 is 2024-03-31, which starts in winter time and ends in summer time, so the
    cookie expires 2024-03-31 22:00 UTC (a fixed 24 hours per day would be an hour off).
    """
    day_after = last_attributable_day(clicked_at) + timedelta(days=1)
    return berlin_instant(datetime.combine(day_after, time()))


def cookie_max_age_seconds(clicked_at: datetime) -> int:
    """Max-Age for a cookie set at ``clicked_at``: whole seconds up to ``cookie_expires_at``, rounded up so that the
    cookie never ends before day 90 does."""
    return math.ceil((cookie_expires_at(clicked_at) - ensure_utc(clicked_at)).total_seconds())


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_click(secret: str, partner_number: int, clicked_at: datetime) -> str:
    if not secret:
        raise ValueError("no referral secret configured")
    payload = f"{partner_number}.{int(clicked_at.timestamp())}"
    return f"{payload}.{_mac(secret, payload)}"


def verify_click(secret: str, value: str | None) -> ReferralClick | None:
    """The click a cookie value proves, or ``None`` when it is malformed, forged or no secret is set."""
    if not secret or not value:
        return None
    match = _COOKIE.fullmatch(value.strip())
    if match is None:
        return None
    number_text, seconds, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, f"{number_text}.{seconds}")):
        return None
    number = parse_partner_number(number_text)
    if number is None:
        return None
    return ReferralClick.of(number, datetime.fromtimestamp(int(seconds), tz=timezone.utc))


def safe_redirect_path(target: str | None) -> str:
    """A path on our own site, or ``/``: never another host (``//evil``, ``https://evil``, ``/\\evil``)."""
    if not target or "\\" in target or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return "/"
    if not target.startswith("/") or target.startswith("//") or not _SAFE_PATH.fullmatch(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
