"""The confirmation e-mail of a tenant link is sent after the request is stored; a failure is shown on the request."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.tenants import MicrosoftTenant, TenantState, link_confirmed, link_email_failed, link_requested

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def pending(token: str = "code-1", at: datetime = T0) -> MicrosoftTenant:
    return link_requested(MicrosoftTenant(), "kanzlei-weber.de", "office@kanzlei.example", token, at)


def test_a_failed_confirmation_mail_is_shown_on_the_pending_link():
    failed = link_email_failed(pending(), "code-1", T0)
    assert failed.state is TenantState.LINK_PENDING and failed.link_email_failed_at == T0


def test_requesting_the_link_again_clears_the_failure():
    failed = link_email_failed(pending(), "code-1", T0)
    again = link_requested(failed, "kanzlei-weber.de", "office@kanzlei.example", "code-2", T0 + timedelta(hours=1))
    assert again.link_email_failed_at is None


def test_a_failure_of_an_earlier_request_or_a_confirmed_link_changes_nothing():
    newer = pending("code-2", T0 + timedelta(minutes=5))
    assert link_email_failed(newer, "code-1", T0) == newer
    confirmed = link_confirmed(pending(), "code-1", T0)
    assert link_email_failed(confirmed, "code-1", T0) == confirmed
