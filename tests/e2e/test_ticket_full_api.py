"""A full ticket through GraphQL: the comment that no longer fits is refused with a typed error saying what to do
(instead of "Unexpected error"), and the ticket can still be resolved.

Before: the 12th comment of 20,000 German characters failed as an unexpected error (DynamoDB's "Item size has
exceeded the maximum allowed size"), and so did every later change, resolving included.
"""

from __future__ import annotations

CREATE = """mutation($input: TicketCreateInput!) { ticketCreate(input: $input) { ticket { id number } errors { code message } } }"""
COMMENT = """mutation($id: ID!, $body: String!) { ticketCommentAdd(ticketId: $id, body: $body) {
  ticket { id } errors { code message field hint } } }"""
STATUS = """mutation($id: ID!) { ticketStatusChange(ticketId: $id, status: RESOLVED) { ticket { status } errors { code message } } }"""
COMMENTS = "query($id: ID!) { ticket(id: $id) { comments { body } } }"

GERMAN = "Fehlerprotokoll äöü " * 1000  # 20,000 characters


def test_the_comment_that_does_not_fit_is_refused_with_what_to_do_and_the_ticket_can_be_resolved(as_user, demo):
    customer = as_user("hanse_it")
    ticket = customer(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": "Log", "description": "x"}})["ticketCreate"]["ticket"]
    for _ in range(16):
        assert customer(COMMENT, {"id": ticket["id"], "body": GERMAN})["ticketCommentAdd"]["errors"] == []
    response = customer.post(COMMENT, {"id": ticket["id"], "body": GERMAN}).json()
    assert "errors" not in response
    (error,) = response["data"]["ticketCommentAdd"]["errors"]
    assert error == {
        "code": "CONFLICT",
        "message": f"Ticket {ticket['number']} is full: its comments and history leave no room for this.",
        "field": "ticketId",
        "hint": "Attach long text (a log, a mail thread) as a .txt or .log file, "
                f"or open a follow-up ticket that mentions {ticket['number']}.",
    }
    assert len(customer(COMMENTS, {"id": ticket["id"]})["ticket"]["comments"]) == 16
    resolved = as_user("distributor")(STATUS, {"id": ticket["id"]})["ticketStatusChange"]
    assert resolved == {"ticket": {"status": "RESOLVED"}, "errors": []}
