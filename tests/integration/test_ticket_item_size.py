"""A ticket is one DynamoDB item (comments and history inside), and DynamoDB refuses items above 400 KB.

Text is stored as UTF-8 JSON (an umlaut is 2 bytes, not the 6 of ``\\u00e4``), items written before in the old
encoding read the same, and a change that would take the item past the budget is refused with ``TicketFull`` and
writes nothing, while a full ticket can still be resolved and closed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from domain import tickets as tk
from domain.policy import Principal
from domain.services import tickets as service
from infra.dynamo.attributes import item_size
from infra.dynamo.models import TicketModel
from infra.dynamo.ticket_repositories import TICKET_ITEM_BUDGET, TICKET_ITEM_LIMIT

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
GERMAN = "Fehlerprotokoll äöü " * 1000  # 20,000 characters (COMMENT_MAX), 3,000 of them umlauts
ASCII = "x" * 20_000


def _open(services, demo, actor: str = "hanse_it") -> tk.Ticket:
    from domain.services.tickets import NewTicket

    principal = Principal.of(demo.users[actor])
    command = NewTicket(customer_id=demo.customers["hanse"].id, subject="Log", description="Drucker meldet Fehler")
    return service.open_portal_ticket(services.uow(), principal, command, now=NOW, mailer=services.mailer)


def _comment(services, demo, ticket_id: str, body: str, actor: str = "hanse_it") -> tk.Ticket:
    return service.add_comment(services.uow(), Principal.of(demo.users[actor]), ticket_id, body=body, internal=False, now=NOW,
                               mailer=services.mailer)


def _raw_data(ticket_id: str) -> str:
    """The ``data`` attribute as DynamoDB holds it (the JSON text, undecoded)."""
    return TicketModel._get_connection().get_item(ticket_id, consistent_read=True)["Item"]["data"]["S"]


def _fill(services, demo, ticket_id: str, body: str) -> int:
    """Comment ``body`` until the ticket is full; the number of comments taken."""
    for taken in range(100):
        try:
            _comment(services, demo, ticket_id, body)
        except tk.TicketFull:
            return taken
    raise AssertionError("the ticket never filled up")


def test_umlauts_are_stored_as_utf8_not_as_ascii_escapes(services, demo):
    ticket = _open(services, demo)
    _comment(services, demo, ticket.id, "Grüße aus Lübeck: der Drucker läuft wieder.")
    data = _raw_data(ticket.id)
    assert "Grüße aus Lübeck: der Drucker läuft wieder." in data and "\\u00fc" not in data
    assert services.uow().tickets.get(ticket.id).comments[0].body == "Grüße aus Lübeck: der Drucker läuft wieder."


def test_a_ticket_stored_in_the_old_ascii_escaped_encoding_reads_the_same_and_is_written_compactly(services, demo):
    ticket = _comment(services, demo, _open(services, demo).id, "Grüße aus Lübeck")
    written = services.uow().tickets.get(ticket.id)
    # Rewrite the item as PynamoDB's JSONAttribute stored it before: json.dumps with its defaults.
    item = TicketModel.get(ticket.id, consistent_read=True)
    old = {name: value for name, value in item.serialize().items()}
    old["data"] = {"S": json.dumps(json.loads(old["data"]["S"]))}
    assert "Gr\\u00fc\\u00dfe aus L\\u00fcbeck" in old["data"]["S"]
    TicketModel._get_connection().put_item(ticket.id, attributes={k: v for k, v in old.items() if k != "id"})
    assert "\\u00fc" in _raw_data(ticket.id)

    stored = services.uow().tickets.get(ticket.id)
    assert stored == written
    assert stored.comments[0].body == "Grüße aus Lübeck"
    _comment(services, demo, ticket.id, "Danke, läuft.")
    data = _raw_data(ticket.id)
    assert "Grüße aus Lübeck" in data and "Danke, läuft." in data and "\\u00fc" not in data


@pytest.mark.parametrize(
    ("body", "fit"),
    [
        # Before: 11 German comments fit (the 12th failed with "Item size has exceeded the maximum allowed size",
        # and every later write to the ticket with it); ASCII 20, leaving about 2 KB for anything else.
        (GERMAN, 16),
        (ASCII, 18),
    ],
    ids=["german", "ascii"],
)
def test_comments_of_20000_characters_fit_until_the_budget_then_the_ticket_is_full(services, demo, body, fit):
    ticket = _open(services, demo)
    assert _fill(services, demo, ticket.id, body) == fit
    stored = services.uow().tickets.get(ticket.id)
    assert len(stored.comments) == fit
    assert item_size(TicketModel.get(ticket.id, consistent_read=True)) <= TICKET_ITEM_BUDGET


def test_a_refused_comment_says_what_to_do_and_writes_nothing(services, demo):
    ticket = _open(services, demo)
    _fill(services, demo, ticket.id, GERMAN)
    before = services.uow().tickets.get(ticket.id)
    with pytest.raises(tk.TicketFull) as refused:
        _comment(services, demo, ticket.id, GERMAN)
    assert refused.value.code.value == "CONFLICT" and refused.value.field == "ticketId"
    assert refused.value.message == f"Ticket {ticket.number} is full: its comments and history leave no room for this."
    assert ".txt or .log file" in refused.value.hint and f"follow-up ticket that mentions {ticket.number}" in refused.value.hint
    after = services.uow().tickets.get(ticket.id)
    assert after == before  # same version, comments and history


def test_a_full_ticket_takes_short_comments_and_can_still_be_resolved_and_closed(services, demo):
    ticket = _open(services, demo)
    _fill(services, demo, ticket.id, GERMAN)
    _comment(services, demo, ticket.id, "Ich hänge das restliche Protokoll als Datei an.")
    ops = Principal.of(demo.users["distributor"])
    for status in (tk.TicketStatus.RESOLVED, tk.TicketStatus.CLOSED):
        service.change_status(services.uow(), ops, ticket.id, status=status, note=None, now=NOW, mailer=services.mailer)
    closed = services.uow().tickets.get(ticket.id)
    assert closed.status is tk.TicketStatus.CLOSED and closed.comments[-1].body.startswith("Ich hänge")
    assert item_size(TicketModel.get(ticket.id, consistent_read=True)) <= TICKET_ITEM_LIMIT
