"""The referral cookie (signed partner number and click time) and the redirect target of a referral link.

The cookie is ``<partner number>.<click time, Unix seconds>.<HMAC-SHA256 hex>``, keyed with
``REFERRAL_SECRET``. Attribution trusts only the signed click time, never the browser's
Max-Age: a cookie kept or replayed past 90 days is still refused by the domain rule.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from domain.partner_programme import parse_partner_number
from domain.referrals import ATTRIBUTION_DAYS, ReferralClick

COOKIE_NAME = "ph_ref"
COOKIE_MAX_AGE_SECONDS = ATTRIBUTION_DAYS * 24 * 60 * 60
_COOKIE = re.compile(r"([0-9]{1,12})\.([0-9]{1,12})\.([0-9a-f]{64})")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")


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
