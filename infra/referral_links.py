"""The referral cookie (the signed last clicks: partner number and click time) and the redirect target of a referral link.

The cookie is ``<click>-<click>-….<HMAC-SHA256 hex>``, each click ``<partner number>.<click time, Unix seconds>``,
newest first, at most ``TRACKED_CLICKS`` (``domain.referrals.track_click`` decides which), the MAC keyed with
``REFERRAL_SECRET`` over everything before its dot. A cookie of one click is exactly the earlier single-click format
``<partner number>.<seconds>.<mac>``, so cookies set before the change are still read. The cookie lives until the end
of the newest click's last attributable Berlin day (day 90 counts: a click at any time on 2024-01-01 lasts until
2024-04-01 00:00 Berlin), so the browser still sends it with a sign-up late on day 90. Attribution trusts only the
signed click times, never the browser's Max-Age: a click kept or replayed longer is still refused by the domain rule
(``domain.referrals.click_attributable``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime, time, timedelta, timezone
from typing import Sequence
from urllib.parse import urlsplit

from domain.calendar import berlin_instant, ensure_utc
from domain.partner_programme import parse_partner_number
from domain.referrals import TRACKED_CLICKS, ReferralClick, last_attributable_day

COOKIE_NAME = "ph_ref"
_CLICK_SEPARATOR = "-"  # a cookie-octet that needs no quoting (RFC 6265), unlike "," or ";"
_CLICK = r"[0-9]{1,12}\.[0-9]{1,12}"
_COOKIE = re.compile(rf"({_CLICK}(?:{_CLICK_SEPARATOR}{_CLICK}){{0,{TRACKED_CLICKS - 1}}})\.([0-9a-f]{{64}})")
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


def sign_clicks(secret: str, clicks: Sequence[ReferralClick]) -> str:
    """The cookie value for ``clicks``, newest first as ``track_click`` returns them."""
    if not secret:
        raise ValueError("no referral secret configured")
    if not 1 <= len(clicks) <= TRACKED_CLICKS:
        raise ValueError(f"a referral cookie holds 1 to {TRACKED_CLICKS} clicks, not {len(clicks)}")
    payload = _CLICK_SEPARATOR.join(f"{c.partner_number}.{int(c.clicked_at.timestamp())}" for c in clicks)
    return f"{payload}.{_mac(secret, payload)}"


def sign_click(secret: str, partner_number: int, clicked_at: datetime) -> str:
    return sign_clicks(secret, [ReferralClick.of(partner_number, clicked_at)])


def verify_clicks(secret: str, value: str | None) -> tuple[ReferralClick, ...]:
    """The clicks a cookie value proves, in its order (newest first); none when it is malformed, forged or no secret
    is set: a cookie is trusted whole or not at all."""
    if not secret or not value:
        return ()
    match = _COOKIE.fullmatch(value.strip())
    if match is None:
        return ()
    payload, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return ()
    clicks = []
    for click in payload.split(_CLICK_SEPARATOR):
        number_text, seconds = click.split(".")
        number = parse_partner_number(number_text)
        if number is None:
            return ()
        clicks.append(ReferralClick.of(number, datetime.fromtimestamp(int(seconds), tz=timezone.utc)))
    return tuple(clicks)


def verify_click(secret: str, value: str | None) -> ReferralClick | None:
    """The newest click a cookie value proves, or ``None``."""
    clicks = verify_clicks(secret, value)
    return clicks[0] if clicks else None


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
