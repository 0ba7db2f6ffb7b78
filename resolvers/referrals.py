"""The public referral link ``GET /r?aff=<partner number>&to=<path>``: add the click to the signed cookie, redirect home."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse

from domain.partner_programme import parse_partner_number
from domain.referrals import ReferralClick, track_click
from infra.referral_links import (
    COOKIE_NAME,
    cookie_expires_at,
    cookie_max_age_seconds,
    safe_redirect_path,
    sign_clicks,
    verify_clicks,
)

log = logging.getLogger("partnerhub.referrals")


def _active_partner(services, number: int) -> bool:
    partner = services.uow().programme_partners.get_by_number(number)
    return partner is not None and partner.active


async def referral_link(request: Request) -> RedirectResponse:
    services = request.app.state.services
    settings = services.settings
    response = RedirectResponse(settings.portal_url + safe_redirect_path(request.query_params.get("to")), status_code=302)
    response.headers["Cache-Control"] = "no-store"  # every visit is a click; a cache must not replay the cookie
    response.headers["Referrer-Policy"] = "no-referrer"
    number = parse_partner_number(request.query_params.get("aff"))
    if number is None or not settings.referral_secret:
        return response
    if not await asyncio.to_thread(_active_partner, services, number):
        return response  # unknown or inactive partner numbers are ignored
    # The earlier clicks stay in the cookie: this one may no longer count at sign-up while an earlier one still does.
    earlier = verify_clicks(settings.referral_secret, request.cookies.get(COOKIE_NAME))
    clicks = track_click(earlier, ReferralClick.of(number, services.clock()))
    newest = clicks[0].clicked_at
    response.set_cookie(  # until the end of Berlin day 90 of the newest click; Expires for clients that ignore Max-Age
        COOKIE_NAME,
        sign_clicks(settings.referral_secret, clicks),
        max_age=cookie_max_age_seconds(newest),
        expires=cookie_expires_at(newest),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response
