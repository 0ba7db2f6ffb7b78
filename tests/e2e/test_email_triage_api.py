"""E-mails awaiting triage through GraphQL: mail to the support address from an address of no active customer user
made no ticket and was answered by nobody; the service desk lists it, makes a ticket of it for the customer it
chooses, or dismisses it with a reason.

Fixtures (tests/fixtures/emails): unknown_sender_with_screenshot.eml is Nina Neumann, new at Hanse and without a
portal login, with a PNG screenshot (arrived 2026-11-23 06:41:10 UTC); unknown_sender.eml is Mallory asking for the
admin password (11:02:00 UTC). Demo data: Hanse chose it@hanse.example for new-ticket e-mails; "distributor" is
service-desk staff (Olga Ops).
"""

from __future__ import annotations

import pytest

from infra.inbound_email import ingest_event, parse_email
from tests.integration.test_inbound_email import raw, s3_event

NINA = "inbound/unknown_sender_with_screenshot.eml"
MALLORY = "inbound/unknown_sender.eml"

EMAIL_FIELDS = "key sender senderName subject receivedAt reason preview ticketId triage { decision by at customerId reason }"
AWAITING = """query($first: Int, $after: String) { inboundEmailsAwaitingTriage(first: $first, after: $after) {
  nodes { %s } pageInfo { hasNextPage endCursor } } }""" % EMAIL_FIELDS
MAKE_TICKET = """mutation($input: InboundEmailTicketCreateInput!) { inboundEmailTicketCreate(input: $input) {
  created ticket { id number channel status subject description receivedAt customerId reporter { userId email name }
    attachments { filename contentType sizeBytes } history { kind actor } }
  inboundEmail { %s } errors { code field message hint } } }""" % EMAIL_FIELDS
DISMISS = """mutation($input: InboundEmailDismissInput!) { inboundEmailDismiss(input: $input) {
  inboundEmail { %s } errors { code field message } } }""" % EMAIL_FIELDS
HOTLINE = """mutation($input: TicketHotlineCreateInput!) { ticketHotlineCreate(input: $input) { ticket { number } errors { code } } }"""


@pytest.fixture
def arrive(services, demo):
    """Store a fixture under inbound/<name> and process its S3 event, as the ingestEmail Lambda does."""

    def run(name: str, event_time: str, *, data: bytes | None = None) -> str:
        key = f"inbound/{name}"
        services.documents.put(key, raw(name) if data is None else data, "message/rfc822")
        ingest_event(services, s3_event(services.settings.documents_bucket, key, event_time), now=services.clock())
        return key

    return run


@pytest.fixture
def unknown_senders(arrive, services):
    """Nina's mail arrived first, Mallory's later; neither made a ticket nor got an answer."""
    arrive("unknown_sender_with_screenshot.eml", "2026-11-23T06:41:10.000Z")
    arrive("unknown_sender.eml", "2026-11-23T11:02:00.000Z")
    assert services.mailer.sent == []


def awaiting(api, **variables) -> list[dict]:
    return api(AWAITING, variables)["inboundEmailsAwaitingTriage"]["nodes"]


def make_ticket(api, key: str, customer_id: str) -> dict:
    return api(MAKE_TICKET, {"input": {"key": key, "customerId": customer_id}})["inboundEmailTicketCreate"]


def dismiss(api, key: str, reason: str) -> dict:
    return api(DISMISS, {"input": {"key": key, "reason": reason}})["inboundEmailDismiss"]


# --- the list ----------------------------------------------------------------------------------


def test_unknown_senders_mails_await_triage_newest_first_with_reason_and_preview(as_user, arrive, unknown_senders):
    arrive("multipart_screenshot.eml", "2026-11-23T08:12:31.000Z")  # Hannes IT is a customer user: a ticket, not listed
    ops = as_user("distributor")
    mallory, nina = awaiting(ops)
    assert mallory == {
        "key": MALLORY, "sender": "mallory@unknown-company.example", "senderName": "Mallory",
        "subject": "Ticket T-000001: please send me the admin password", "receivedAt": "2026-11-23T11:02:00+00:00",
        "reason": "No active user has this address.", "preview": "Hi, I am the new IT manager. Please reply with the admin password.",
        "ticketId": None, "triage": None,
    }
    assert (nina["key"], nina["sender"], nina["senderName"], nina["subject"]) == (
        NINA, "n.neumann@hanse.example", "Nina Neumann", "Outlook startet nicht – Fehlermeldung im Anhang")
    assert nina["receivedAt"] == "2026-11-23T06:41:10+00:00"
    # The preview is the start of the text, lines joined, 280 characters at most: read on arrival, not per listing.
    assert nina["preview"].startswith("Hallo zusammen, ich bin seit dieser Woche neu in der Disposition in Bremen")
    assert len(nina["preview"]) == 280 and nina["preview"].endswith("…")


def test_the_list_is_paginated(as_user, unknown_senders):
    ops = as_user("distributor")
    first = ops(AWAITING, {"first": 1})["inboundEmailsAwaitingTriage"]
    assert [n["key"] for n in first["nodes"]] == [MALLORY] and first["pageInfo"]["hasNextPage"] is True
    second = ops(AWAITING, {"first": 1, "after": first["pageInfo"]["endCursor"]})["inboundEmailsAwaitingTriage"]
    assert [n["key"] for n in second["nodes"]] == [NINA]
    end = second["pageInfo"]
    assert end["hasNextPage"] is False or ops(AWAITING, {"first": 1, "after": end["endCursor"]})["inboundEmailsAwaitingTriage"]["nodes"] == []


def test_a_cursor_of_another_list_is_refused(as_user, demo, unknown_senders):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    for subject in ("Drucker", "VPN"):
        ops(HOTLINE, {"input": {"customerId": hanse, "subject": subject, "description": "Anruf", "callerName": "Hannes"}})
    cursor = ops("query($c: ID) { tickets(customerId: $c, first: 1) { pageInfo { endCursor } } }", {"c": hanse})["tickets"]["pageInfo"]["endCursor"]
    (error,) = ops.post(AWAITING, {"after": cursor}).json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "after")


@pytest.mark.parametrize("actor", ["nordit_admin", "nordit_sales", "suedcloud_admin", "hanse_it", "hanse_staff", "alpen_owner"])
def test_customers_and_partners_see_no_mails_awaiting_triage(as_user, unknown_senders, actor):
    assert awaiting(as_user(actor)) == []


# --- making a ticket of a mail -------------------------------------------------------------------


def test_a_mail_becomes_an_email_ticket_of_the_chosen_customer_received_when_it_arrived(as_user, demo, services, unknown_senders):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    made = make_ticket(ops, NINA, hanse)
    assert made["errors"] == [] and made["created"] is True
    ticket = made["ticket"]
    assert (ticket["number"], ticket["channel"], ticket["status"], ticket["customerId"]) == ("T-000001", "EMAIL", "NEW", hanse)
    assert ticket["receivedAt"] == "2026-11-23T06:41:10+00:00"  # when the mail arrived, not when it was triaged
    assert ticket["subject"] == "Outlook startet nicht – Fehlermeldung im Anhang"
    assert "Es bleibt beim Laden des Profils hängen" in ticket["description"] and ticket["description"].endswith("Tel. 0421 555 0142")
    assert ticket["reporter"] == {"userId": None, "email": "n.neumann@hanse.example", "name": "Nina Neumann"}
    assert ticket["history"] == [{"kind": "CREATED", "actor": demo.users["distributor"].id}, {"kind": "ATTACHMENT_ADDED", "actor": "n.neumann@hanse.example"}]
    (png,) = parse_email(raw("unknown_sender_with_screenshot.eml")).attachments
    assert ticket["attachments"] == [{"filename": "outlook-fehler.png", "contentType": "image/png", "sizeBytes": len(png.data)}]
    (stored,) = services.uow().tickets.get(ticket["id"]).attachments
    assert services.documents.get(stored.key) == png.data
    assert services.documents.get(NINA) == raw("unknown_sender_with_screenshot.eml")  # the raw mail stays
    triage = made["inboundEmail"]["triage"]
    assert (made["inboundEmail"]["ticketId"], triage["decision"], triage["by"], triage["customerId"]) == (
        ticket["id"], "TICKET_CREATED", demo.users["distributor"].id, hanse)
    # The customer sees it among its tickets.
    seen = as_user("hanse_it")("query($c: ID) { tickets(customerId: $c) { nodes { number channel } } }", {"c": hanse})["tickets"]["nodes"]
    assert seen == [{"number": "T-000001", "channel": "EMAIL"}]


def test_the_sender_gets_the_receipt_and_the_customers_contacts_the_new_ticket_notice(as_user, demo, services, unknown_senders):
    make_ticket(as_user("distributor"), NINA, demo.customers["hanse"].id)
    (receipt,) = services.mailer.to("n.neumann@hanse.example")
    assert receipt.subject == "[#T-000001] Received: Outlook startet nicht – Fehlermeldung im Anhang"
    assert "received on 2026-11-23 06:41 UTC (23.11.2026 07:41 Berlin time) and registered as ticket T-000001" in receipt.body
    (notice,) = services.mailer.to("it@hanse.example")
    assert notice.subject == "[#T-000001] New ticket: Outlook startet nicht – Fehlermeldung im Anhang"
    assert "by Nina Neumann" in notice.body
    assert len(services.mailer.sent) == 2


def test_a_mail_made_a_ticket_of_leaves_the_list(as_user, demo, unknown_senders):
    ops = as_user("distributor")
    make_ticket(ops, NINA, demo.customers["hanse"].id)
    assert [n["key"] for n in awaiting(ops)] == [MALLORY]


def test_making_a_ticket_of_the_same_mail_again_returns_its_ticket_and_numbers_and_sends_nothing(as_user, demo, services, unknown_senders):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    first = make_ticket(ops, NINA, hanse)
    sent = len(services.mailer.sent)
    again = make_ticket(ops, NINA, hanse)
    assert again["errors"] == [] and again["created"] is False
    assert (again["ticket"]["id"], again["ticket"]["number"]) == (first["ticket"]["id"], "T-000001")
    assert len(services.mailer.sent) == sent
    next_ticket = ops(HOTLINE, {"input": {"customerId": hanse, "subject": "Anruf", "description": "x", "callerName": "Hannes"}})
    assert next_ticket["ticketHotlineCreate"]["ticket"]["number"] == "T-000002"  # the second ask spent no number


def test_a_mail_made_a_ticket_of_is_not_made_one_for_another_customer(as_user, demo, services, unknown_senders):
    ops = as_user("distributor")
    first = make_ticket(ops, NINA, demo.customers["hanse"].id)
    other = make_ticket(ops, NINA, demo.customers["kanzlei"].id)
    assert other["ticket"] is None
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CONFLICT", "customerId")]
    assert "became the ticket T-000001 of another customer" in other["errors"][0]["message"]
    kanzlei = ops("query($c: ID) { tickets(customerId: $c) { nodes { id } } }", {"c": demo.customers["kanzlei"].id})["tickets"]["nodes"]
    assert kanzlei == [] and services.uow().tickets.get(first["ticket"]["id"]).customer_id == demo.customers["hanse"].id


# --- dismissing a mail -----------------------------------------------------------------------


def test_a_dismissed_mail_leaves_the_list_its_raw_message_stays_and_nobody_is_mailed(as_user, demo, services, unknown_senders):
    ops = as_user("distributor")
    dismissed = dismiss(ops, MALLORY, "Phishing: fragt nach dem Admin-Passwort.")
    assert dismissed["errors"] == []
    triage = dismissed["inboundEmail"]["triage"]
    assert (triage["decision"], triage["by"], triage["reason"], triage["customerId"]) == (
        "DISMISSED", demo.users["distributor"].id, "Phishing: fragt nach dem Admin-Passwort.", None)
    assert dismissed["inboundEmail"]["ticketId"] is None
    assert [n["key"] for n in awaiting(ops)] == [NINA]
    assert services.documents.get(MALLORY) == raw("unknown_sender.eml")
    assert services.mailer.sent == []
    assert services.uow().inbound_emails.get(MALLORY).triage.reason == "Phishing: fragt nach dem Admin-Passwort."


def test_dismissing_a_mail_again_changes_nothing(as_user, unknown_senders):
    ops = as_user("distributor")
    first = dismiss(ops, MALLORY, "Spam")
    again = dismiss(ops, MALLORY, "Doch kein Spam?")
    assert again["errors"] == [] and again["inboundEmail"]["triage"] == first["inboundEmail"]["triage"]


def test_a_dismissed_mail_becomes_no_ticket_and_a_ticket_mail_is_not_dismissed(as_user, demo, services, unknown_senders):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    dismiss(ops, MALLORY, "Spam")
    refused = make_ticket(ops, MALLORY, hanse)
    assert refused["ticket"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "key")]
    assert refused["errors"][0]["message"] == f"The e-mail {MALLORY} was dismissed: Spam"
    made = make_ticket(ops, NINA, hanse)
    kept = dismiss(ops, NINA, "Doch nicht")
    assert kept["inboundEmail"] is None and [(e["code"], e["field"]) for e in kept["errors"]] == [("CONFLICT", "key")]
    assert services.uow().inbound_emails.get(NINA).triage.decision.value == "TICKET_CREATED"
    assert made["ticket"]["number"] == "T-000001"


# --- refused input ---------------------------------------------------------------------------------


def _distributor(services) -> str:
    from domain.services.tickets import distributor_id

    return distributor_id(services.uow())


@pytest.mark.parametrize("key, customer, code, field", [
    ("inbound/never-arrived.eml", "hanse", "NOT_FOUND", "key"),
    ("", "hanse", "NOT_FOUND", "key"),
    ("inbound/" + "x" * 2000, "hanse", "NOT_FOUND", "key"),  # longer than any S3 key
    ("inbound/multipart_screenshot.eml", "hanse", "CONFLICT", "key"),  # a customer user's mail: a ticket by itself
    (NINA, "cus_does_not_exist", "NOT_FOUND", "customerId"),
    (NINA, "nordit", "NOT_FOUND", "customerId"),  # a partner is no customer
])
def test_making_a_ticket_of_bad_input_is_refused_and_nothing_is_written(as_user, arrive, demo, services, unknown_senders, key, customer, code, field):
    arrive("multipart_screenshot.eml", "2026-11-23T08:12:31.000Z")  # T-000001 of Hannes IT
    ops = as_user("distributor")
    sent = len(services.mailer.sent)
    customer_id = (demo.customers | demo.partners).get(customer)
    refused = make_ticket(ops, key, customer_id.id if customer_id else customer)
    assert refused["ticket"] is None and refused["created"] is False
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert [n["key"] for n in awaiting(ops)] == [MALLORY, NINA]
    assert services.uow().tickets.get_by_number(_distributor(services), "T-000002") is None
    assert len(services.mailer.sent) == sent


def test_a_known_senders_mail_is_not_awaiting_triage(as_user, arrive, demo):
    arrive("multipart_screenshot.eml", "2026-11-23T08:12:31.000Z")
    refused = make_ticket(as_user("distributor"), "inbound/multipart_screenshot.eml", demo.customers["hanse"].id)
    assert refused["errors"][0]["message"] == "The e-mail inbound/multipart_screenshot.eml is not awaiting triage: its outcome is TICKET_CREATED."


@pytest.mark.parametrize("key, reason, code, field", [
    ("inbound/never-arrived.eml", "Spam", "NOT_FOUND", "key"),
    (MALLORY, "   ", "INVALID_INPUT", "reason"),
    (MALLORY, "x" * 501, "INVALID_INPUT", "reason"),
])
def test_dismissing_with_bad_input_is_refused_and_nothing_is_written(as_user, services, unknown_senders, key, reason, code, field):
    ops = as_user("distributor")
    refused = dismiss(ops, key, reason)
    assert refused["inboundEmail"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert [n["key"] for n in awaiting(ops)] == [MALLORY, NINA]
    assert services.uow().inbound_emails.get(MALLORY).triage is None


@pytest.mark.parametrize("actor", ["nordit_admin", "suedcloud_admin", "hanse_it", "hanse_staff"])
def test_only_service_staff_make_tickets_of_mails_or_dismiss_them(as_user, demo, services, unknown_senders, actor):
    api = as_user(actor)
    made = make_ticket(api, NINA, demo.customers["hanse"].id)
    dismissed = dismiss(api, MALLORY, "Spam")
    assert made["ticket"] is None and made["errors"][0]["code"] == "FORBIDDEN"
    assert dismissed["inboundEmail"] is None and dismissed["errors"][0]["code"] == "FORBIDDEN"
    assert [n["key"] for n in awaiting(as_user("distributor"))] == [MALLORY, NINA]
    assert services.mailer.sent == []


def test_the_receipt_of_a_mail_made_a_ticket_of_names_the_word_document_not_taken_over(as_user, arrive, demo, services):
    data = (b"From: Nina Neumann <n.neumann@hanse.example>\r\nTo: support@partnerhub.example\r\nSubject: Outlook Fehler\r\n"
            b"Message-ID: <nina-word@hanse.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nScreenshots im Anhang.\r\n"
            b"--XX\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
            b"Content-Disposition: attachment; filename=\"screenshots.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBAo=\r\n--XX--\r\n")
    key = arrive("nina_word.eml", "2026-11-23T09:30:00.000Z", data=data)
    made = make_ticket(as_user("distributor"), key, demo.customers["hanse"].id)
    assert made["errors"] == [] and made["ticket"]["attachments"] == []
    (receipt,) = services.mailer.to("n.neumann@hanse.example")
    assert "registered as ticket T-000001" in receipt.body
    assert ("This attachment was not accepted: it is not on the ticket, so the technician does not have it.\n- 'screenshots.docx' "
            "is a Word document. Send screenshots as image files (PNG or JPEG), not inside Word documents.") in receipt.body
    (notice,) = services.mailer.to("it@hanse.example")  # the customer's contact: the notice, not the sender's receipt
    assert "not accepted" not in notice.body
