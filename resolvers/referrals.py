"""The public referral link ``GET /r?aff=<partner number>&to=<path>``: set the signed cookie, redirect home."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse

from domain.partner_programme import parse_partner_number
from infra.referral_links import COOKIE_NAME, cookie_expires_at, cookie_max_age_seconds, safe_redirect_path, sign_click

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
    clicked_at = services.clock()
    response.set_cookie(  # until the end of Berlin day 90; Expires for clients that ignore Max-Age
        COOKIE_NAME,
        sign_click(settings.referral_secret, number, clicked_at),
        max_age=cookie_max_age_seconds(clicked_at),
        expires=cookie_expires_at(clicked_at),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response
