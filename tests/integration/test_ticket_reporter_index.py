"""The one-off task that puts tickets saved before the reporter index on it (`python -m infra.jobs index_ticket_reporters`):
without it a report-only user would not see the tickets they reported before that deploy."""

from __future__ import annotations

from datetime import datetime, timezone

from domain import tickets as tk
from domain.policy import Principal
from domain.services import tickets as service
from infra.dynamo.models import TicketModel

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def _open(services, demo, actor: str, subject: str) -> tk.Ticket:
    principal = Principal.of(demo.users[actor])
    command = service.NewTicket(customer_id=demo.customers["hanse"].id, subject=subject, description="Drucker meldet Fehler")
    return service.open_portal_ticket(services.uow(), principal, command, now=NOW, mailer=services.mailer)


def _as_saved_before_the_index(ticket_id: str) -> None:
    item = TicketModel.get(ticket_id, consistent_read=True)
    item.update(actions=[TicketModel.reporter_key.remove()])


def _reported_by(services, demo, actor: str) -> list[str]:
    user = demo.users[actor]
    return [t.subject for t in services.uow().tickets.list_reported_by(user.organisation_id, user.id, status=None, limit=50, cursor=None).items]


def test_tickets_saved_before_the_reporter_index_are_put_on_it_once_and_nothing_else_changes(services, demo):
    printer = _open(services, demo, "hanse_it", "Drucker")
    closed = _open(services, demo, "hanse_it", "VPN")
    with services.uow() as uow:  # a closed ticket too: it is never saved again by a change
        ticket = uow.tickets.get(closed.id)
        for status in (tk.TicketStatus.IN_PROGRESS, tk.TicketStatus.RESOLVED, tk.TicketStatus.CLOSED):
            ticket.change_status(status, actor="usr_tech", now=NOW)
        uow.tickets.update(ticket)
        uow.commit()
    closed = services.uow().tickets.get(closed.id)
    for ticket in (printer, closed):
        _as_saved_before_the_index(ticket.id)
    assert "Drucker" not in _reported_by(services, demo, "hanse_it")
    before = services.uow().tickets.get(printer.id)

    summary = service.index_ticket_reporters(services.uow, page_limit=1)

    assert {"Drucker", "VPN"} <= set(_reported_by(services, demo, "hanse_it"))
    assert summary.indexed >= 2 and summary.conflicts == 0
    assert summary.read >= summary.indexed
    after = services.uow().tickets.get(printer.id)
    assert (after.subject, after.status, after.comments, after.history) == (before.subject, before.status, before.comments, before.history)
    assert after.version == before.version + 1
