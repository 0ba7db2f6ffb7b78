"""Inbound e-mail: real MIME fixtures (tests/fixtures/emails) stored in S3 under inbound/, then the S3 event.

Demo data: it@hanse.example (Hannes IT, EXTENDED) and staff@hanse.example (Hilde Staff, REPORT_ONLY)
are users of Hanse Logistik AG, whose onboarding notifies it@hanse.example of new tickets.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from domain.tickets import TicketChannel, TicketStatus
from infra.inbound_email import Outcome, parse_email

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "emails"
RECEIVED = datetime(2026, 11, 23, 8, 12, 31, tzinfo=timezone.utc)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def s3_event(bucket: str, key: str, event_time: str = "2026-11-23T08:12:31.000Z") -> dict:
    return {
        "Records": [
            {
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-central-1", "eventTime": event_time,
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                       "object": {"key": key.replace(" ", "+"), "size": 1}},
            }
        ]
    }


@pytest.fixture
def deliver(services, demo, monkeypatch):
    """Store a fixture under inbound/<name> and run the Lambda entry point with its S3 event."""
    import handler

    monkeypatch.setattr(handler, "_services", lambda: services)

    def run(name: str, key: str | None = None, data: bytes | None = None) -> dict:
        key = key or f"inbound/{name}"
        services.documents.put(key, raw(name) if data is None else data, "message/rfc822")
        return handler.ingest_email(s3_event(services.settings.documents_bucket, key), None)

    return run


def outcome(result: dict) -> dict:
    (only,) = result["outcomes"]
    return only


def test_a_multipart_mail_with_a_screenshot_becomes_a_ticket_with_the_png_attached(deliver, services, demo):
    result = outcome(deliver("multipart_screenshot.eml"))
    assert result["outcome"] == Outcome.TICKET_CREATED.value
    ticket = services.uow().tickets.get(result["ticketId"])
    assert (ticket.number, ticket.channel, ticket.status, ticket.customer_id) == ("T-000001", TicketChannel.EMAIL, TicketStatus.NEW, demo.customers["hanse"].id)
    assert ticket.subject == "Drucker im Lager druckt nur leere Seiten"
    assert "druckt seit heute früh nur leere Seiten" in ticket.description
    assert ticket.received_at == RECEIVED
    (attachment,) = ticket.attachments
    assert (attachment.filename, attachment.content_type) == ("fehlermeldung.png", "image/png")
    assert services.documents.get(attachment.key) == parse_email(raw("multipart_screenshot.eml")).attachments[0].data
    assert services.documents.get("inbound/multipart_screenshot.eml") == raw("multipart_screenshot.eml")  # the raw mail stays


def test_the_sender_gets_the_ticket_number_and_the_received_timestamp(deliver, services):
    deliver("multipart_screenshot.eml")
    (receipt,) = services.mailer.to("it@hanse.example")  # the sender is also the onboarding contact: one mail only
    assert receipt.subject == "[#T-000001] Received: Drucker im Lager druckt nur leere Seiten"
    assert "registered as ticket T-000001" in receipt.body
    assert "2026-11-23 08:12 UTC (23.11.2026 09:12 Berlin time)" in receipt.body


def test_an_s3_event_delivered_twice_creates_one_ticket_and_one_receipt(deliver, services):
    first = outcome(deliver("multipart_screenshot.eml"))
    again = outcome(deliver("multipart_screenshot.eml"))
    assert again == first
    assert len(services.mailer.sent) == 1
    page = services.uow().tickets.list_for_customer(services.uow().tickets.get(first["ticketId"]).customer_id, status=None, limit=10, cursor=None)
    assert len(page.items) == 1


def test_the_same_message_id_under_another_key_is_a_duplicate(deliver, services):
    first = outcome(deliver("multipart_screenshot.eml"))
    second = outcome(deliver("multipart_screenshot.eml", key="inbound/ses-retry-2"))
    assert (second["outcome"], second["ticketId"]) == (Outcome.DUPLICATE.value, first["ticketId"])
    assert services.uow().inbound_emails.get("inbound/ses-retry-2").outcome == "DUPLICATE"


def test_a_reply_with_the_ticket_number_in_the_subject_becomes_a_comment(deliver, services):
    created = outcome(deliver("multipart_screenshot.eml"))
    with services.uow() as uow:
        ticket = uow.tickets.get(created["ticketId"])
        ticket.change_status(TicketStatus.WAITING_FOR_CUSTOMER, actor="usr_tech", now=RECEIVED)
        uow.tickets.update(ticket)
        uow.commit()
    services.mailer.sent.clear()
    result = outcome(deliver("reply_with_ticket_number.eml"))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, created["ticketId"])
    ticket = services.uow().tickets.get(created["ticketId"])
    (comment,) = ticket.comments
    assert comment.body.startswith("Nach dem Tausch der Tonerkartusche") and not comment.internal and not comment.by_staff
    assert ticket.status is TicketStatus.IN_PROGRESS  # the customer answered
    assert [m.subject for m in services.mailer.sent] == ["[#T-000001] Status in progress: Drucker im Lager druckt nur leere Seiten"]


def test_a_windows_1252_mail_with_encoded_word_subject_is_decoded(deliver, services):
    result = outcome(deliver("windows_1252_encoded_words.eml"))
    ticket = services.uow().tickets.get(result["ticketId"])
    assert ticket.subject == "Buchhaltung läuft nicht nach Update - dringend €-Beträge fehlen"
    assert "„Datenbank nicht gefunden“" in ticket.description and "1.200 €" in ticket.description
    assert ticket.reporter.name == "Hilde Stäff"


def test_an_unknown_sender_is_recorded_and_answered_by_nobody_even_with_a_ticket_number(deliver, services):
    first = outcome(deliver("multipart_screenshot.eml"))
    services.mailer.sent.clear()
    result = outcome(deliver("unknown_sender.eml"))
    assert (result["outcome"], result["ticketId"]) == (Outcome.UNKNOWN_SENDER.value, None)
    record = services.uow().inbound_emails.get("inbound/unknown_sender.eml")
    assert (record.sender, record.detail) == ("mallory@unknown-company.example", "No active user has this address.")
    assert services.mailer.sent == []
    assert services.uow().tickets.get(first["ticketId"]).comments == []  # the subject named T-000001
    assert services.documents.exists("inbound/unknown_sender.eml")


def reply(sender: str, subject: str, body: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@partnerhub.example\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 11:05:00 +0100\r\n"
        f"Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def add_status_contact(services, customer_id: str, address: str) -> None:
    """The customer chose ``address`` at onboarding for status-change notices; it has no portal login."""
    from dataclasses import replace

    with services.uow() as uow:
        customer = uow.organisations.get(customer_id)
        onboarding = replace(customer.onboarding, notify_on_ticket_status_change=(*customer.onboarding.notify_on_ticket_status_change, address))
        uow.organisations.update(replace(customer, onboarding=onboarding))
        uow.commit()


def set_status(services, ticket_id: str, status: TicketStatus) -> None:
    with services.uow() as uow:
        ticket = uow.tickets.get(ticket_id)
        ticket.change_status(status, actor="usr_tech", now=RECEIVED)
        uow.tickets.update(ticket)
        uow.commit()


def test_a_reply_by_an_onboarding_contact_without_login_becomes_a_comment_by_that_address(deliver, services, demo):
    add_status_contact(services, demo.customers["hanse"].id, "chef@hanse.example")
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.WAITING_FOR_CUSTOMER)
    services.mailer.sent.clear()
    data = reply('"Chef" <Chef@Hanse.example>', "AW: [#T-000001] Status waiting for customer: Drucker im Lager druckt nur leere Seiten",
                 "Bitte heute noch erledigen!", "chef-1@hanse.example")
    result = outcome(deliver("reply-chef.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, created["ticketId"])
    ticket = services.uow().tickets.get(created["ticketId"])
    (comment,) = ticket.comments
    assert (comment.author, comment.body, comment.by_staff, comment.internal) == ("chef@hanse.example", "Bitte heute noch erledigen!", False, False)
    assert ticket.status is TicketStatus.IN_PROGRESS  # the customer's side answered
    assert [(m.to, m.subject) for m in services.mailer.sent] == [
        (("it@hanse.example", "chef@hanse.example"), "[#T-000001] Status in progress: Drucker im Lager druckt nur leere Seiten")
    ]


def test_an_onboarding_contact_never_reaches_a_ticket_of_another_customer(deliver, services, demo):
    """chef@hanse.example is Hanse's contact; T-000001 is the Kanzlei's ticket: recorded, not commented, nobody answered."""
    add_status_contact(services, demo.customers["hanse"].id, "chef@hanse.example")
    kanzlei_mail = reply("Karl Kanzlei <office@kanzlei.example>", "Scanner offline", "Der Scanner ist offline.", "k-1@kanzlei.example")
    created = outcome(deliver("kanzlei.eml", data=kanzlei_mail))
    assert services.uow().tickets.get(created["ticketId"]).customer_id == demo.customers["kanzlei"].id
    services.mailer.sent.clear()
    result = outcome(deliver("reply-chef.eml", data=reply("chef@hanse.example", "AW: [#T-000001] Scanner offline", "Auch bei uns?", "chef-2@hanse.example")))
    assert (result["outcome"], result["ticketId"]) == (Outcome.UNKNOWN_SENDER.value, None)
    assert services.uow().inbound_emails.get("inbound/reply-chef.eml").detail == "No active user has this address."
    assert services.uow().tickets.get(created["ticketId"]).comments == []
    assert services.mailer.sent == []


def test_a_contact_reply_to_a_closed_ticket_is_recorded_with_the_reason(deliver, services, demo):
    add_status_contact(services, demo.customers["hanse"].id, "chef@hanse.example")
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.CLOSED)
    result = outcome(deliver("reply-chef.eml", data=reply("chef@hanse.example", "AW: [#T-000001] Status closed", "Danke!", "chef-3@hanse.example")))
    assert (result["outcome"], result["ticketId"]) == (Outcome.UNKNOWN_SENDER.value, None)
    detail = services.uow().inbound_emails.get("inbound/reply-chef.eml").detail
    assert "ticket contact of Hanse Logistik AG" in detail and "closed ticket T-000001" in detail
    assert services.uow().tickets.get(created["ticketId"]).comments == []


def test_a_mail_without_sender_is_recorded_as_unparsable(deliver, services):
    result = outcome(deliver("no_sender.eml"))
    assert result["outcome"] == Outcome.UNPARSABLE.value
    assert services.uow().inbound_emails.get("inbound/no_sender.eml").detail == "The message has no sender address (From)."


def test_a_word_attachment_is_refused_with_an_internal_note_and_the_ticket_is_still_created(deliver, services):
    result = outcome(deliver("word_attachment.eml"))
    ticket = services.uow().tickets.get(result["ticketId"])
    assert ticket.attachments == []
    (note,) = ticket.comments
    assert note.internal and "screenshot.docx" in note.body and "inbound/word_attachment.eml" in note.body
    assert "Word document" in services.uow().inbound_emails.get("inbound/word_attachment.eml").detail


def test_a_reply_to_a_closed_ticket_opens_a_new_ticket_that_mentions_it(deliver, services):
    created = outcome(deliver("multipart_screenshot.eml"))
    with services.uow() as uow:
        ticket = uow.tickets.get(created["ticketId"])
        ticket.change_status(TicketStatus.CLOSED, actor="usr_tech", now=RECEIVED)
        uow.tickets.update(ticket)
        uow.commit()
    result = outcome(deliver("reply_with_ticket_number.eml"))
    assert result["outcome"] == Outcome.TICKET_CREATED.value and result["ticketId"] != created["ticketId"]
    new = services.uow().tickets.get(result["ticketId"])
    assert new.number == "T-000002" and new.description.startswith("(Reply to the closed ticket T-000001.)")


def test_keys_outside_inbound_are_ignored(services, demo, monkeypatch):
    import handler

    monkeypatch.setattr(handler, "_services", lambda: services)
    assert handler.ingest_email(s3_event(services.settings.documents_bucket, "tickets/x/y.png"), None)["processed"] == 0


def _out_of_office() -> bytes:
    """The reply fixture as an out-of-office answer (RFC 3834), with its own Message-ID."""
    reply = raw("reply_with_ticket_number.eml")
    headers, _, body = reply.partition(b"\n\n") if b"\r\n\r\n" not in reply else reply.partition(b"\r\n\r\n")
    newline = b"\r\n" if b"\r\n" in headers else b"\n"
    headers = newline.join(line for line in headers.split(newline) if not line.lower().startswith(b"message-id:"))
    return headers + newline + b"Auto-Submitted: auto-replied" + newline + b"Message-ID: <ooo-1@hanse.example>" + newline * 2 + body


def test_an_out_of_office_reply_is_kept_but_reopens_nothing_and_notifies_nobody(deliver, services):
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.RESOLVED)
    services.mailer.sent.clear()
    result = outcome(deliver("out_of_office.eml", data=_out_of_office()))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, created["ticketId"])
    ticket = services.uow().tickets.get(created["ticketId"])
    assert len(ticket.comments) == 1 and ticket.status is TicketStatus.RESOLVED
    assert services.mailer.sent == []  # no status mail, which the out-of-office would answer again


def test_an_out_of_office_reply_to_a_closed_ticket_opens_no_new_ticket(deliver, services):
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.CLOSED)
    services.mailer.sent.clear()
    result = outcome(deliver("out_of_office.eml", data=_out_of_office()))
    assert (result["outcome"], result["ticketId"]) == (Outcome.AUTO_REPLY.value, created["ticketId"])
    assert "closed ticket T-000001: no new ticket" in services.uow().inbound_emails.get("inbound/out_of_office.eml").detail
    closed = services.uow().tickets.get(created["ticketId"])
    assert services.uow().tickets.get_by_number(closed.distributor_id, "T-000002") is None and closed.comments == []
    assert services.mailer.sent == []


# --- e-mails awaiting triage ------------------------------------------------------------------------
# An unknown sender's mail waits in the service desk's list (inbound_emails.triage-index, sparse) until staff make a
# ticket of it (InboundEmailProcessor.make_ticket_of) or dismiss it (domain.services.tickets.dismiss_email).

NINA = "inbound/unknown_sender_with_screenshot.eml"  # Nina Neumann, new at Hanse, no portal login, a PNG attached


def awaiting_keys(services) -> list[str]:
    return [record.key for record in services.uow().inbound_emails.list_awaiting_triage(limit=100, cursor=None).items]


def make_ticket_of(services, demo, key: str, customer: str = "hanse"):
    from domain.policy import Principal
    from infra.inbound_email import InboundEmailProcessor

    return InboundEmailProcessor(services).make_ticket_of(Principal.of(demo.users["distributor"]), key, demo.customers[customer].id, now=RECEIVED)


def test_only_an_unknown_senders_mail_awaits_triage_recorded_with_name_and_preview(deliver, services):
    deliver("multipart_screenshot.eml")  # TICKET_CREATED
    deliver("multipart_screenshot.eml", key="inbound/ses-retry-2")  # DUPLICATE
    deliver("no_sender.eml")  # UNPARSABLE
    deliver("unknown_sender.eml")
    assert awaiting_keys(services) == ["inbound/unknown_sender.eml"]
    record = services.uow().inbound_emails.get("inbound/unknown_sender.eml")
    assert (record.sender_name, record.preview) == ("Mallory", "Hi, I am the new IT manager. Please reply with the admin password.")
    assert services.uow().inbound_emails.get("inbound/multipart_screenshot.eml").preview is None  # only what triage needs


def test_a_partner_writing_to_the_support_address_awaits_triage(deliver, services):
    data = reply("Nina Nord <admin@nordit.example>", "Kunde Hanse: Drucker defekt", "Bitte bei Hanse nachsehen.", "nord-1@nordit.example")
    result = outcome(deliver("partner.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.UNKNOWN_SENDER.value, None)
    assert awaiting_keys(services) == ["inbound/partner.eml"]
    assert services.uow().inbound_emails.get("inbound/partner.eml").detail == "Only customer users open tickets by e-mail."
    assert services.mailer.sent == []


def test_a_dismissal_while_the_ticket_was_being_made_wins_and_no_ticket_is_written(deliver, services, demo, monkeypatch):
    """Two agents at once: the record's version makes the ticket's transaction fail, so ticket and triage go together."""
    from domain.errors import Conflict
    from domain.policy import Principal
    from domain.services.tickets import dismiss_email
    from infra.inbound_email import email_ticket_id

    deliver("unknown_sender_with_screenshot.eml")
    read_raw = services.documents.get

    def dismissed_meanwhile(key: str) -> bytes:
        if services.uow().inbound_emails.get(NINA).triage is None:
            dismiss_email(services.uow(), Principal.of(demo.users["distributor"]), NINA, reason="Doppelt gemeldet", now=RECEIVED)
        return read_raw(key)

    monkeypatch.setattr(services.documents, "get", dismissed_meanwhile)
    with pytest.raises(Conflict, match="was dismissed: Doppelt gemeldet"):
        make_ticket_of(services, demo, NINA)
    message_id = parse_email(raw("unknown_sender_with_screenshot.eml")).message_id
    assert services.uow().tickets.get(email_ticket_id(message_id, NINA)) is None
    assert awaiting_keys(services) == [] and services.mailer.sent == []


def test_a_crash_before_the_commit_leaves_the_mail_awaiting_triage_and_a_retry_makes_one_ticket(deliver, services, demo):
    from tests.crash import crash_after_commits

    deliver("unknown_sender_with_screenshot.eml")
    with crash_after_commits(0):
        make_ticket_of(services, demo, NINA)
    assert awaiting_keys(services) == [NINA] and services.mailer.sent == []
    made = make_ticket_of(services, demo, NINA)
    assert made.created and made.ticket.number == "T-000002"  # the crash lost T-000001: ticket numbers may have gaps
    assert awaiting_keys(services) == [] and len(services.mailer.to("n.neumann@hanse.example")) == 1


def test_the_sender_of_a_mail_made_a_ticket_of_replies_to_that_ticket_by_email(deliver, services, demo):
    deliver("unknown_sender_with_screenshot.eml")
    ticket = make_ticket_of(services, demo, NINA).ticket
    set_status(services, ticket.id, TicketStatus.WAITING_FOR_CUSTOMER)
    services.mailer.sent.clear()
    answer = reply("Nina Neumann <n.neumann@hanse.example>", "AW: [#T-000001] Received: Outlook startet nicht", "Jetzt geht es wieder.", "nina-2@hanse.example")
    result = outcome(deliver("reply-nina.eml", data=answer))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, ticket.id)
    commented = services.uow().tickets.get(ticket.id)
    (comment,) = commented.comments
    assert (comment.author, comment.body, comment.by_staff) == ("n.neumann@hanse.example", "Jetzt geht es wieder.", False)
    assert commented.status is TicketStatus.IN_PROGRESS
    # Only that ticket: another ticket of Hanse is not hers to comment on.
    other = outcome(deliver("multipart_screenshot.eml"))
    services.mailer.sent.clear()
    stray = reply("n.neumann@hanse.example", "AW: [#T-000002] Drucker im Lager", "Bei mir auch.", "nina-3@hanse.example")
    assert outcome(deliver("reply-nina-2.eml", data=stray))["outcome"] == Outcome.UNKNOWN_SENDER.value
    assert services.uow().tickets.get(other["ticketId"]).comments == [] and services.mailer.sent == []


def test_an_automatic_reply_made_a_ticket_of_gets_no_receipt(deliver, services, demo):
    auto = reply("Postmaster <postmaster@hanse.example>", "Undeliverable: Lieferavis", "Die Nachricht konnte nicht zugestellt werden.",
                 "bounce-1@hanse.example").replace(b"MIME-Version", b"Auto-Submitted: auto-replied\r\nMIME-Version")
    deliver("bounce.eml", data=auto)
    made = make_ticket_of(services, demo, "inbound/bounce.eml")
    assert made.created and made.ticket.reporter.email == "postmaster@hanse.example"
    assert services.mailer.to("postmaster@hanse.example") == []  # a receipt would start a mail loop
    assert [m.subject for m in services.mailer.to("it@hanse.example")] == [f"[#{made.ticket.number}] New ticket: Undeliverable: Lieferavis"]


def _alpen_ticket(services, demo) -> "tk.Ticket":
    """A portal ticket of Alpen (customer of SüdCloud) whose notices go to it@hanse.example, a Hanse user's address."""
    from domain.policy import Principal
    from domain.services import tickets as desk

    add_status_contact(services, demo.customers["alpen"].id, "it@hanse.example")
    ticket = desk.open_portal_ticket(services.uow(), Principal.of(demo.users["alpen_owner"]),
                                     desk.NewTicket(demo.customers["alpen"].id, "Kasse 3 Bon-Drucker defekt", "Umsatz gestern 4.812,40 EUR"),
                                     now=RECEIVED, mailer=services.mailer)
    set_status(services, ticket.id, TicketStatus.WAITING_FOR_CUSTOMER)
    services.mailer.sent.clear()
    return ticket


def test_a_contact_with_a_login_at_another_customer_replies_as_that_contact_not_as_its_own_customer(deliver, services, demo):
    ticket = _alpen_ticket(services, demo)
    data = reply("Hannes IT <it@hanse.example>", f"AW: [#{ticket.number}] Status waiting for customer: Kasse 3 Bon-Drucker defekt",
                 "Ich kümmere mich.\n\n> Umsatz gestern 4.812,40 EUR", "hannes-re-alpen@hanse.example")
    result = outcome(deliver("re-alpen.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, ticket.id)
    (comment,) = services.uow().tickets.get(ticket.id).comments
    assert comment.author == "it@hanse.example" and not comment.by_staff
    # Nothing of Alpen's ticket became a ticket of Hanse (which Hanse's partner NordIT would read).
    hanse = services.uow().tickets.list_for_customer(demo.customers["hanse"].id, status=None, limit=10, cursor=None).items
    assert hanse == []


def test_an_out_of_office_of_such_a_contact_opens_nothing_and_sends_nothing(deliver, services, demo):
    ticket = _alpen_ticket(services, demo)
    data = reply("Hannes IT <it@hanse.example>", f"Abwesenheitsnotiz: [#{ticket.number}] Status waiting for customer", "Bin im Urlaub.",
                 "ooo-2@hanse.example").replace(b"MIME-Version", b"Auto-Submitted: auto-replied\r\nMIME-Version")
    result = outcome(deliver("ooo-alpen.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, ticket.id)  # kept on the open ticket
    assert services.uow().tickets.get(ticket.id).status is TicketStatus.WAITING_FOR_CUSTOMER  # moved nothing
    assert services.uow().tickets.list_for_customer(demo.customers["hanse"].id, status=None, limit=10, cursor=None).items == []
    assert services.mailer.sent == []


def test_a_partner_technician_chosen_as_contact_replies_as_a_comment(deliver, services, demo):
    add_status_contact(services, demo.customers["hanse"].id, "admin@nordit.example")
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.WAITING_FOR_CUSTOMER)
    data = reply("Nina Nord <admin@nordit.example>", "AW: [#T-000001] Status waiting for customer", "VPN-Client neu installiert.", "nn-1@nordit.example")
    result = outcome(deliver("re-nordit.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, created["ticketId"])


def test_one_reply_stored_twice_by_ses_is_one_comment(deliver, services, demo):
    add_status_contact(services, demo.customers["hanse"].id, "chef@hanse.example")
    created = outcome(deliver("multipart_screenshot.eml"))
    data = reply("chef@hanse.example", "AW: [#T-000001] Received", "Bitte heute noch!", "chef-1@hanse.example")
    first, second = outcome(deliver("ses-1", data=data)), outcome(deliver("ses-2", data=data))
    assert (first["outcome"], second["outcome"]) == (Outcome.COMMENT_ADDED.value, Outcome.DUPLICATE.value)
    assert [c.body for c in services.uow().tickets.get(created["ticketId"]).comments] == ["Bitte heute noch!"]


def test_a_hotline_caller_without_login_replies_to_the_receipt_as_a_comment(deliver, services, demo):
    from domain.policy import Principal
    from domain.services import tickets as desk

    ticket = desk.open_hotline_ticket(services.uow(), Principal.of(demo.users["distributor"]),
                                      desk.NewHotlineTicket(demo.customers["hanse"].id, "Scanner", "Anruf 9:05", "Paul Lager",
                                                            caller_email="p.lager@hanse.example"), now=RECEIVED, mailer=services.mailer)
    assert [m.to for m in services.mailer.sent if m.subject.startswith(f"[#{ticket.number}] Received")] == [("p.lager@hanse.example",)]
    data = reply("Paul Lager <p.lager@hanse.example>", f"AW: [#{ticket.number}] Received: Scanner", "Modell: Fujitsu fi-7160.", "pl-1@hanse.example")
    result = outcome(deliver("re-hotline.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, ticket.id)
    assert [c.author for c in services.uow().tickets.get(ticket.id).comments] == ["p.lager@hanse.example"]


@pytest.mark.parametrize("header", ["Precedence: bulk", "Precedence: auto_reply", "X-Autorespond: yes", "Auto-Submitted: auto-generated"])
def test_older_autoresponder_signs_count_as_automatic_too(deliver, services, header):
    created = outcome(deliver("multipart_screenshot.eml"))
    set_status(services, created["ticketId"], TicketStatus.RESOLVED)
    services.mailer.sent.clear()
    data = reply("it@hanse.example", "Abwesend: [#T-000001] Status resolved", "Bin bis Montag weg.", "ooo-3@hanse.example")
    result = outcome(deliver("ooo-3.eml", data=data.replace(b"MIME-Version", header.encode() + b"\r\nMIME-Version")))
    assert result["outcome"] == Outcome.COMMENT_ADDED.value
    assert services.uow().tickets.get(created["ticketId"]).status is TicketStatus.RESOLVED and services.mailer.sent == []


def test_a_reply_to_a_hotline_receipt_sent_to_another_customers_user_stays_on_that_ticket(deliver, services, demo):
    from domain.policy import Principal
    from domain.services import tickets as desk

    # Alpen's owner calls and gives it@hanse.example (a Hanse user's address) for the receipt.
    ticket = desk.open_hotline_ticket(services.uow(), Principal.of(demo.users["distributor"]),
                                      desk.NewHotlineTicket(demo.customers["alpen"].id, "Kasse defekt Filiale 3", "Anruf", "Anton Alpen",
                                                            caller_email="it@hanse.example", caller_user_id=demo.users["alpen_owner"].id),
                                      now=RECEIVED, mailer=services.mailer)
    data = reply("Hannes IT <it@hanse.example>", f"AW: [#{ticket.number}] Received: Kasse defekt Filiale 3", "Bon-Drucker Modell X.",
                 "re-hotline-2@hanse.example")
    result = outcome(deliver("re-hotline-2.eml", data=data))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, ticket.id)
    assert services.uow().tickets.list_for_customer(demo.customers["hanse"].id, status=None, limit=10, cursor=None).items == []


# --- long replies, full tickets ------------------------------------------------------------------------------------
# A machine channel never refuses on shape: a reply longer than a comment may be is shortened (the raw mail stays in
# S3), and a reply that no longer fits into its ticket (TicketFull) opens a follow-up ticket. Before, both raised out
# of the Lambda: no comment, no record, and S3 retried the event for ever.

LOG_LINE = "Log: 2026-11-23 10:00:00 spooler error 0x0000011b\n"


def _long_reply(message_id: str = "long-reply-1@hanse.example", auto: bool = False) -> bytes:
    """The reply fixture's subject ([#T-000001]) from it@hanse.example, with 500 log lines: 25,500 characters."""
    body = "Nach dem Tausch der Tonerkartusche kommen weiter leere Seiten. Hier das Protokoll:\n\n" + LOG_LINE * 500
    data = reply("it@hanse.example", "AW: [#T-000001] Received: Drucker im Lager druckt nur leere Seiten", body, message_id)
    return data.replace(b"\r\n\r\n", b"\r\nAuto-Submitted: auto-replied\r\n\r\n", 1) if auto else data


def _fill_ticket(services, ticket_id: str) -> int:
    """Comments of 20,000 German characters until the ticket is full; how many it took."""
    from domain.tickets import TicketFull

    for taken in range(100):
        with services.uow() as uow:
            ticket = uow.tickets.get(ticket_id)
            ticket.add_comment(author="usr_tech", body="Fehlerprotokoll äöü " * 1000, now=RECEIVED, by_staff=True)
            try:
                uow.tickets.update(ticket)
            except TicketFull:
                return taken
            uow.commit()
    raise AssertionError("the ticket never filled up")


def test_a_reply_longer_than_a_comment_is_shortened_with_a_marker_and_recorded(deliver, services):
    from domain.tickets import COMMENT_MAX, TRUNCATION_MARK

    created = outcome(deliver("multipart_screenshot.eml"))
    result = outcome(deliver("long_reply.eml", data=_long_reply()))
    assert (result["outcome"], result["ticketId"]) == (Outcome.COMMENT_ADDED.value, created["ticketId"])
    (comment,) = services.uow().tickets.get(created["ticketId"]).comments
    assert len(comment.body) == COMMENT_MAX and comment.body.endswith(TRUNCATION_MARK)
    assert comment.body.startswith("Nach dem Tausch der Tonerkartusche") and LOG_LINE * 300 in comment.body
    assert services.documents.get("inbound/long_reply.eml") == _long_reply()  # the full text stays
    assert outcome(deliver("long_reply.eml", data=_long_reply())) == result  # the S3 event again: nothing twice
    assert len(services.uow().tickets.get(created["ticketId"]).comments) == 1


def test_a_reply_to_a_full_ticket_opens_a_follow_up_that_names_it_and_a_retry_does_nothing_twice(deliver, services, demo):
    created = outcome(deliver("multipart_screenshot.eml"))
    filled = _fill_ticket(services, created["ticketId"])
    services.mailer.sent.clear()
    result = outcome(deliver("long_reply.eml", data=_long_reply()))
    assert result["outcome"] == Outcome.TICKET_CREATED.value and result["ticketId"] != created["ticketId"]
    follow_up = services.uow().tickets.get(result["ticketId"])
    assert (follow_up.number, follow_up.customer_id, follow_up.channel) == ("T-000002", demo.customers["hanse"].id, TicketChannel.EMAIL)
    assert follow_up.description.startswith("(Follow-up of ticket T-000001, which is full: this reply could not be added there.)")
    assert (LOG_LINE * 500).strip() in follow_up.description  # whole: a description holds 50,000 characters
    assert (follow_up.reporter.user_id, follow_up.reporter.email) == (demo.users["hanse_it"].id, "it@hanse.example")
    record = services.uow().inbound_emails.get("inbound/long_reply.eml")
    assert record.detail == "The ticket T-000001 is full: the reply opened the follow-up ticket T-000002."
    full = services.uow().tickets.get(created["ticketId"])
    assert len(full.comments) == filled + 1
    assert full.comments[-1].body == "A reply by it@hanse.example did not fit into this ticket any more: it opened the follow-up ticket T-000002."
    assert [m.subject for m in services.mailer.to("it@hanse.example")] == ["[#T-000002] Received: AW: [#T-000001] Received: Drucker im Lager druckt nur leere Seiten"]

    assert outcome(deliver("long_reply.eml", data=_long_reply())) == result  # the S3 event again
    again = outcome(deliver("long_reply.eml", key="inbound/ses-retry-2", data=_long_reply()))  # the same mail, another key
    assert (again["outcome"], again["ticketId"]) == (Outcome.DUPLICATE.value, follow_up.id)
    assert services.uow().tickets.get_by_number(full.distributor_id, "T-000003") is None
    assert len(services.uow().tickets.get(created["ticketId"]).comments) == filled + 1
    assert len(services.mailer.sent) == 1


def test_an_out_of_office_to_a_full_ticket_opens_no_follow_up(deliver, services):
    created = outcome(deliver("multipart_screenshot.eml"))
    filled = _fill_ticket(services, created["ticketId"])
    services.mailer.sent.clear()
    result = outcome(deliver("ooo_long.eml", data=_long_reply("ooo-long@hanse.example", auto=True)))
    assert (result["outcome"], result["ticketId"]) == (Outcome.AUTO_REPLY.value, created["ticketId"])
    assert "full ticket T-000001: no follow-up ticket" in services.uow().inbound_emails.get("inbound/ooo_long.eml").detail
    full = services.uow().tickets.get(created["ticketId"])
    assert services.uow().tickets.get_by_number(full.distributor_id, "T-000002") is None and len(full.comments) == filled
    assert services.mailer.sent == []


def test_a_mail_with_so_many_refused_attachments_that_the_note_would_be_too_long_still_becomes_a_ticket(deliver, services):
    from email.message import EmailMessage

    from domain.tickets import COMMENT_MAX, TRUNCATION_MARK

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "it@hanse.example", "support@partnerhub.example", "Handbücher"
    mail["Message-ID"] = "<many-docs@hanse.example>"
    mail.set_content("Anbei alle Handbücher.")
    for i in range(120):  # each refusal is a line of about 200 characters: 24,000 in all
        mail.add_attachment(b"doc", maintype="application", subtype="msword", filename=f"Handbuch-{i:03d}-{'x' * 120}.doc")
    result = outcome(deliver("many_docs.eml", data=mail.as_bytes()))
    assert result["outcome"] == Outcome.TICKET_CREATED.value
    (note,) = services.uow().tickets.get(result["ticketId"]).comments
    assert note.internal and len(note.body) == COMMENT_MAX and note.body.endswith(TRUNCATION_MARK)
    assert note.body.startswith("Attachments not taken over (they remain in the raw message inbound/many_docs.eml):\n'Handbuch-000-")


# --- HTML bodies: linear in the markup, whatever it holds (review: 420 KB of "<style>" took 58 s of the 60 s) ----------


def _html_mail(sender: str, markup: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: support@partnerhub.example\r\nSubject: Drucker\r\nMessage-ID: <{message_id}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n").encode() + markup.encode()


def test_an_html_mail_becomes_text_without_markup_styles_scripts_or_comments(deliver, services):
    markup = ("<!DOCTYPE html><html><head><STYLE type='text/css'>p { color: red }</STYLE><script>if (a<b) x();</script>"
              "</head><body><p>Hallo&nbsp;Service &amp; Team,</p><!-- Outlook: <p>hidden</p> --><div>der Drucker "
              "<b>druckt</b> 2 < 3 Seiten.</div>Gr&uuml;&szlig;e<br/>Hannes<!-- unclosed comment <p>signature")
    result = outcome(deliver("html.eml", data=_html_mail("it@hanse.example", markup, "html-1@hanse.example")))
    ticket = services.uow().tickets.get(result["ticketId"])
    assert ticket.description == "Hallo\xa0Service & Team,\nder Drucker druckt 2 < 3 Seiten.\nGrüße\nHannes"


@pytest.mark.parametrize("unit", ["<style>", "<STYLE>", "<script>", "<!--", "<a", "<a href='x'", "<", "</", "<!x",
                                  "<style></style>", "<script>a<b</script>", "<p>Hi</p>"])
def test_html_to_text_looks_at_each_character_at_most_twice_whatever_the_markup(unit):
    """Machine-independent: the converter's searches never go back, so 20,000 of any unit (the review's unclosed
    <style>, <script>, comments, tags) cost at most twice the markup's length, and four times the markup as much
    work as four times as long; the old regexes searched the rest again from every unclosed one."""
    from infra.inbound_email import HtmlText

    small, large = HtmlText(unit * 5_000), HtmlText(unit * 20_000)
    for converted in (small, large):
        assert converted.examined <= 2 * len(converted.markup)
    assert large.examined <= 4 * (small.examined + len(unit))


def test_four_times_the_html_takes_well_under_sixteen_times_as_long():
    """The review's unclosed <style> tags after an ordinary body, timed as a ratio within this run (best of five, no
    absolute threshold): linear is about 4x; the old code took 15x (0.44 s → 6.7 s for 35 → 140 KB of "<style>")."""
    import timeit

    from infra.inbound_email import _html_to_text

    def best(n: int) -> float:
        markup = "<p><b>Hi</b></p>" * n + "<style>" * n
        timer = timeit.Timer(lambda: _html_to_text(markup))
        number, _ = timer.autorange()
        return min(timer.repeat(repeat=5, number=number)) / number

    assert best(20_000) < 8 * best(5_000)


def test_the_reviews_420_kb_mail_of_unclosed_style_tags_is_read_in_one_pass_and_recorded(deliver, services, monkeypatch):
    from infra import inbound_email

    seen = []

    class Spy(inbound_email.HtmlText):
        def __init__(self, markup: str) -> None:
            super().__init__(markup)
            seen.append(self)

    monkeypatch.setattr(inbound_email, "HtmlText", Spy)
    markup = "<p>Der Drucker druckt nicht.</p>" + "<style>" * 60_000
    result = outcome(deliver("style.eml", data=_html_mail("it@hanse.example", markup, "style-1@hanse.example")))
    assert result["outcome"] == Outcome.TICKET_CREATED.value
    assert services.uow().tickets.get(result["ticketId"]).description == "Der Drucker druckt nicht."
    # The same from any sender (the review's someone@example.org): before the sender check, now one pass as well.
    stranger = outcome(deliver("stranger.eml", data=_html_mail("someone@example.org", "<style>" * 60_000, "s-1@example.org")))
    assert stranger["outcome"] == Outcome.UNKNOWN_SENDER.value
    assert services.uow().inbound_emails.get("inbound/stranger.eml").awaiting_triage
    assert [len(c.markup) for c in seen] == [len(markup), 420_000]
    assert all(c.examined <= 2 * len(c.markup) for c in seen)


def test_html_text_is_kept_up_to_a_ticket_description_and_reading_stops_there():
    from domain.tickets import DESCRIPTION_MAX, TRUNCATION_MARK
    from infra.inbound_email import HTML_MAX_TAGS, HtmlText

    long_text = HtmlText("<p>Fehlerprotokoll Zeile</p>" * 10_000)  # 230,000 characters of text
    assert long_text.text.endswith(TRUNCATION_MARK) and len(long_text.text) == DESCRIPTION_MAX + len(TRUNCATION_MARK)
    assert long_text.examined < len(long_text.markup) / 4  # it stopped when the text was full
    many_tags = HtmlText("<b></b>" * HTML_MAX_TAGS + "Ende")
    assert many_tags.tags == HTML_MAX_TAGS and many_tags.text == TRUNCATION_MARK


# --- a mail that fails leaves its key behind ------------------------------------------------------


def test_an_unparsable_mail_is_recorded_and_logged_as_a_warning_with_its_key(deliver, services, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="partnerhub.inbound_email"):
        assert outcome(deliver("no_sender.eml"))["outcome"] == Outcome.UNPARSABLE.value
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["inbound e-mail inbound/no_sender.eml: unparsable: The message has no sender address (From)."]
    assert services.uow().inbound_emails.get("inbound/no_sender.eml").outcome == Outcome.UNPARSABLE.value


def test_a_mail_whose_processing_fails_is_logged_with_its_key_and_retried_by_lambda(deliver, services, monkeypatch, caplog):
    import logging

    from infra import inbound_email

    def crash(self, *args, **kwargs):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(inbound_email.InboundEmailProcessor, "_new_ticket", crash)
    with caplog.at_level(logging.INFO, logger="partnerhub.inbound_email"), pytest.raises(RuntimeError):
        deliver("multipart_screenshot.eml")
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == "inbound e-mail inbound/multipart_screenshot.eml: failed, no outcome recorded" and error.exc_info
    assert "inbound e-mail inbound/multipart_screenshot.eml: " in caplog.records[0].getMessage()  # logged before parsing
    assert services.uow().inbound_emails.get("inbound/multipart_screenshot.eml") is None  # the retry starts over


# --- refused attachments are told to the sender -------------------------------------------------------


def test_the_receipt_tells_the_sender_that_a_screenshot_inside_word_was_not_accepted(deliver, services):
    deliver("word_attachment.eml")
    (receipt,) = services.mailer.to("it@hanse.example")
    assert "registered as ticket T-000001" in receipt.body
    assert receipt.body.endswith(
        "\n\nThis attachment was not accepted: it is not on the ticket, so the technician does not have it.\n"
        "- 'screenshot.docx' is a Word document. Send screenshots as image files (PNG or JPEG), not inside Word documents.\n"
        "Please send it again as described, in a reply to this e-mail (keep [#T-000001] in the subject)."
    )


def test_the_receipt_names_only_the_refused_attachments_and_counts_beyond_ten(deliver, services):
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Hilde Staff <staff@hanse.example>", "support@partnerhub.example", "Fehler"
    mail["Message-ID"] = "<mixed-1@hanse.example>"
    mail.set_content("Screenshots im Anhang.")
    mail.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="fehler.png")
    for i in range(12):
        mail.add_attachment(b"doc", maintype="application", subtype="msword", filename=f"bild-{i:02d}.doc")
    mail.add_attachment(b"MZ", maintype="application", subtype="octet-stream", filename="tool.exe")
    result = outcome(deliver("mixed.eml", data=mail.as_bytes()))
    assert [a.filename for a in services.uow().tickets.get(result["ticketId"]).attachments] == ["fehler.png"]
    (receipt,) = services.mailer.to("staff@hanse.example")
    assert "These 13 attachments were not accepted: they are not on the ticket" in receipt.body
    assert "fehler.png" not in receipt.body
    listed = [line for line in receipt.body.splitlines() if line.startswith("- ")]
    assert listed[0] == "- 'bild-00.doc' is a Word document. Send screenshots as image files (PNG or JPEG), not inside Word documents."
    assert listed[9].startswith("- 'bild-09.doc'") and listed[10:] == ["- and 3 more attachments."]
    assert receipt.body.endswith("Please send them again as described, in a reply to this e-mail (keep [#T-000001] in the subject).")
    # The internal note and the record keep every refusal, with the reason for the .exe too.
    (note,) = services.uow().tickets.get(result["ticketId"]).comments
    assert "'bild-11.doc' is a Word document." in note.body and "'tool.exe' is not a file type we accept." in note.body


def test_a_receipt_without_refused_attachments_says_nothing_about_them(deliver, services):
    deliver("multipart_screenshot.eml")
    (receipt,) = services.mailer.to("it@hanse.example")
    assert "not accepted" not in receipt.body
