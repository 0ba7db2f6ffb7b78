"""Tickets: numbers, subjects of replies, status workflow, comments and internal notes, attachments,
time entries, service reports, notifications and who may see what (domain only, no AWS)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain import tickets as tk
from domain.errors import ErrorCode, ValidationFailed
from domain.money import Money
from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    CustomerOnboarding,
    OrganisationKind,
    PartnerPermission,
    PermissionLevel,
    Role,
    new_organisation,
)
from domain.policy import Principal

UTC = timezone.utc
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
S = tk.TicketStatus


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def customer(onboarding: CustomerOnboarding | None = None, *, partner=None, access=AccessLevel.FULL):
    org = new_organisation(
        id="cus_hanse", kind=OrganisationKind.CUSTOMER, name="Hanse Logistik AG",
        address=Address.create("Marktplatz 3", "20095", "Hamburg"), billing_email="rechnung@hanse.example", now=NOW,
        onboarding=onboarding or CustomerOnboarding.create(
            service_report_email="it@hanse.example", notify_on_new_ticket=("it@hanse.example", "chef@hanse.example"),
            notify_on_ticket_status_change=("it@hanse.example",),
        ),
    )
    if partner is not None:
        org = org.with_link(partner, access, BillingMode.PARTNER_PAYS, NOW, "usr_ops")
    return org


def partner_org(pid="ptn_nordit"):
    return new_organisation(
        id=pid, kind=OrganisationKind.PARTNER, name="NordIT", address=Address.create("Industriestr. 7", "20095", "Hamburg"),
        billing_email="billing@nordit.example", now=NOW,
    )


STAFF = Principal("usr_tech", "dst_cloud", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
EXTENDED = Principal("usr_it", "cus_hanse", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
REPORT_ONLY = Principal("usr_staff", "cus_hanse", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.REPORT_ONLY)
OTHER_CUSTOMER = Principal("usr_alpen", "cus_alpen", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
PARTNER = Principal("usr_nina", "ptn_nordit", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, permissions=frozenset(PartnerPermission))
PARTNER_NO_ACCESS = Principal("usr_x", "ptn_nordit", OrganisationKind.PARTNER, Role.PARTNER_STAFF, permissions=frozenset())
OTHER_PARTNER = Principal("usr_sepp", "ptn_sued", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, permissions=frozenset(PartnerPermission))


def ticket(channel=tk.TicketChannel.PORTAL, *, reporter=None, subject="Drucker druckt nicht", description="Seit heute früh.", **kw) -> tk.Ticket:
    return tk.open_ticket(
        ticket_id="tkt_1", number="T-000042", distributor_id="dst_cloud", customer_id="cus_hanse", channel=channel,
        subject=subject, description=description, reporter=reporter or tk.Reporter(user_id="usr_staff", email="staff@hanse.example"),
        received_at=kw.pop("received_at", utc(2026, 11, 23, 8, 12)), actor="usr_staff", now=NOW, **kw,
    )


# --- numbers and subjects -----------------------------------------------------------------


def test_ticket_numbers_have_six_digits_and_grow_beyond():
    assert tk.format_ticket_number(123) == "T-000123"
    assert tk.format_ticket_number(1_234_567) == "T-1234567"
    assert tk.parse_ticket_number(" t-000123 ") == 123
    for bad in (0, -1, True):
        with pytest.raises(ValueError):
            tk.format_ticket_number(bad)


@pytest.mark.parametrize("text", ["T-123", "T-000000", "123456", "X-000123", ""])
def test_malformed_ticket_numbers_are_refused_with_a_hint(text):
    with pytest.raises(ValidationFailed) as refused:
        tk.parse_ticket_number(text)
    assert refused.value.hint == "Ticket numbers look like T-000123."


@pytest.mark.parametrize(
    "subject,number",
    [
        ("AW: [#T-000123] Received: Drucker", "T-000123"),
        ("Re: Ticket T-000123 Drucker", "T-000123"),
        ("WG: Ticket-Nr. t-000123", "T-000123"),
        ("Ticketnummer: T-000077", "T-000077"),
        ("Ticket #T-0001234 again", "T-001234"),  # canonical form
        ("Rechnung T-000077", None),  # a bare number without "Ticket" or the tag is not a reference
        ("Drucker druckt nicht", None),
        (None, None),
        ("[#T-000000]", None),
    ],
)
def test_the_ticket_number_of_a_reply_is_found_in_its_subject(subject, number):
    assert tk.ticket_number_in_subject(subject) == number


# --- opening -------------------------------------------------------------------------------


def test_a_new_ticket_is_new_with_its_number_received_time_and_a_created_event():
    t = ticket()
    assert (t.status, t.number, t.received_at) == (S.NEW, "T-000042", utc(2026, 11, 23, 8, 12))
    assert [e.kind for e in t.history] == [tk.TicketEventKind.CREATED]
    assert t.history[0].details == {"channel": "PORTAL", "number": "T-000042"}


def test_people_get_validation_errors_but_machine_channels_never_refuse_on_shape():
    with pytest.raises(ValidationFailed) as empty:
        ticket(subject="  ")
    assert empty.value.field == "subject"
    mail = ticket(tk.TicketChannel.EMAIL, subject="", description="x" * 60_000, reporter=tk.Reporter(email="it@hanse.example"))
    assert mail.subject == tk.NO_SUBJECT
    assert len(mail.description) == tk.DESCRIPTION_MAX and mail.description.endswith(tk.TRUNCATION_MARK)


def test_an_email_ticket_needs_the_senders_address_and_a_portal_ticket_a_user():
    with pytest.raises(ValidationFailed):
        ticket(tk.TicketChannel.EMAIL, reporter=tk.Reporter(name="Anonymous"))
    with pytest.raises(ValidationFailed):
        ticket(tk.TicketChannel.PORTAL, reporter=tk.Reporter(email="it@hanse.example"))


# --- status workflow --------------------------------------------------------------------------


ALL_TRANSITIONS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize("current,requested", ALL_TRANSITIONS, ids=lambda s: s.value)
def test_status_changes_follow_the_workflow_and_refusals_change_nothing(current, requested):
    t = ticket()
    t.status = current
    history = list(t.history)
    if requested in tk.ALLOWED_TRANSITIONS[current]:
        event = t.change_status(requested, actor="usr_tech", now=NOW)
        assert t.status is requested and event.details == {"from": current.value, "to": requested.value}
    else:
        with pytest.raises(tk.InvalidStatusTransition) as refused:
            t.change_status(requested, actor="usr_tech", now=NOW)
        assert refused.value.code is ErrorCode.CONFLICT
        assert (t.status, t.history) == (current, history)


def test_a_worked_ticket_is_closed_only_after_it_was_resolved():
    t = ticket()
    t.change_status(S.IN_PROGRESS, actor="usr_tech", now=NOW)
    with pytest.raises(tk.InvalidStatusTransition) as refused:
        t.change_status(S.CLOSED, actor="usr_tech", now=NOW)
    assert refused.value.hint == "Allowed next: WAITING_FOR_CUSTOMER, RESOLVED."


def test_a_status_note_is_trimmed_and_at_most_2000_characters_and_a_longer_one_changes_nothing():
    t = ticket()
    event = t.change_status(S.IN_PROGRESS, actor="usr_tech", now=NOW, note="  Ersatzteil bestellt  ")
    assert event.details["note"] == "Ersatzteil bestellt"
    assert t.change_status(S.RESOLVED, actor="usr_tech", now=NOW, note="n" * 2000).details["note"] == "n" * 2000
    history = list(t.history)
    with pytest.raises(ValidationFailed) as refused:
        t.change_status(S.CLOSED, actor="usr_tech", now=NOW, note="n" * 450_000)
    assert (refused.value.field, refused.value.message) == ("note", "The status note is longer than 2000 characters.")
    assert (t.status, t.history) == (S.RESOLVED, history)
    assert "note" not in t.change_status(S.CLOSED, actor="usr_tech", now=NOW, note="   ").details  # blank: no note


def test_closed_is_final_and_takes_no_comments_attachments_or_time():
    t = ticket()
    t.change_status(S.CLOSED, actor="usr_tech", now=NOW)
    with pytest.raises(tk.TicketClosed):
        t.add_comment(author="usr_staff", body="Noch da?", now=NOW, by_staff=False)
    with pytest.raises(tk.TicketClosed):
        t.add_attachment(filename="a.png", content_type="image/png", size_bytes=10, uploaded_by="usr_staff", now=NOW)
    with pytest.raises(tk.TicketClosed):
        t.record_time(technician_id="usr_tech", work_date=date(2026, 11, 23), minutes=10, billable=True, description="x", now=NOW)
    with pytest.raises(tk.InvalidStatusTransition) as refused:
        t.change_status(S.IN_PROGRESS, actor="usr_tech", now=NOW)
    assert "CLOSED is final" in refused.value.hint


@pytest.mark.parametrize("status", [S.WAITING_FOR_CUSTOMER, S.RESOLVED])
def test_a_customers_comment_hands_the_ball_back_to_the_service_desk(status):
    t = ticket()
    t.status = status
    outcome = t.add_comment(author="usr_staff", body="Geht immer noch nicht.", now=NOW, by_staff=False)
    assert t.status is S.IN_PROGRESS
    assert outcome.status_event.details == {"from": status.value, "to": "IN_PROGRESS", "note": "customer replied"}


def test_a_staff_comment_does_not_move_the_status():
    t = ticket()
    t.status = S.WAITING_FOR_CUSTOMER
    outcome = t.add_comment(author="usr_tech", body="Bitte neu starten.", now=NOW, by_staff=True)
    assert t.status is S.WAITING_FOR_CUSTOMER and outcome.status_event is None


def test_assigning_records_history_and_the_same_assignee_again_is_no_change():
    t = ticket()
    assert t.assign("usr_tech", actor="usr_lead", now=NOW).kind is tk.TicketEventKind.ASSIGNED
    assert t.assign("usr_tech", actor="usr_lead", now=NOW) is None
    assert t.assign(None, actor="usr_lead", now=NOW).details == {"previous": "usr_tech"}
    assert t.assignee_id is None


# --- internal notes ----------------------------------------------------------------------------


def test_only_staff_write_internal_notes():
    with pytest.raises(ValidationFailed) as refused:
        ticket().add_comment(author="usr_staff", body="psst", now=NOW, by_staff=False, internal=True)
    assert refused.value.field == "internal"


@pytest.mark.parametrize(
    "principal,sees_notes",
    [(STAFF, True), (EXTENDED, False), (REPORT_ONLY, False), (PARTNER, False)],
    ids=["distributor", "extended", "report_only", "partner"],
)
def test_internal_notes_and_their_history_are_never_shown_to_customers_or_partners(principal, sees_notes):
    t = ticket()
    t.add_comment(author="usr_tech", body="Admin-Passwort steht im Tresor.", now=NOW, by_staff=True, internal=True, id_factory=counting_ids())
    t.add_comment(author="usr_tech", body="Wir kümmern uns.", now=NOW, by_staff=True, id_factory=counting_ids())
    t.record_time(technician_id="usr_tech", work_date=date(2026, 11, 23), minutes=15, billable=True, description="Analyse", now=NOW)
    bodies = [c.body for c in tk.visible_comments(t, principal)]
    kinds = {e.kind for e in tk.visible_history(t, principal)}
    assert ("Admin-Passwort steht im Tresor." in bodies) is sees_notes
    assert "Wir kümmern uns." in bodies
    assert (tk.TicketEventKind.INTERNAL_NOTE_ADDED in kinds) is sees_notes
    assert (tk.TicketEventKind.TIME_RECORDED in kinds) is sees_notes


# --- attachments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename,content_type,stored_type",
    [
        ("screenshot.png", "image/png", "image/png"),
        ("Foto.JPG", "image/jpeg", "image/jpeg"),
        ("bild.jpeg", "application/octet-stream", "image/jpeg"),
        ("C:\\Users\\hilde\\Desktop\\fehler.log", "text/plain; charset=utf-8", "text/plain"),
        ("rechnung.pdf", None, "application/pdf"),
    ],
)
def test_allowed_attachments_are_stored_with_their_canonical_type(filename, content_type, stored_type):
    t = ticket()
    attachment = t.add_attachment(filename=filename, content_type=content_type, size_bytes=2048, uploaded_by="usr_staff", now=NOW)
    assert attachment.content_type == stored_type
    assert attachment.key.startswith(f"tickets/{t.id}/{attachment.id}/")
    assert "\\" not in attachment.filename


@pytest.mark.parametrize(
    "filename,content_type",
    [("screenshot.docx", "application/octet-stream"), ("bild.png", "application/msword"), ("Fehler.DOC", "")],
)
def test_word_documents_are_refused_with_the_hint_to_send_images(filename, content_type):
    with pytest.raises(tk.AttachmentRejected) as refused:
        tk.check_attachment(filename, content_type, 1000)
    assert refused.value.hint == tk.WORD_HINT


@pytest.mark.parametrize(
    "filename,content_type,size,fragment",
    [
        ("setup.exe", "application/octet-stream", 10, "not a file type"),
        ("bild.png", "image/jpeg", 10, "does not match"),
        ("bild.png", "image/png", 0, "empty"),
        ("bild.png", "image/png", tk.MAX_ATTACHMENT_BYTES + 1, "limit is 10 MB"),
        ("", "image/png", 10, "no file name"),
    ],
)
def test_other_attachments_are_refused_by_type_and_size(filename, content_type, size, fragment):
    with pytest.raises(tk.AttachmentRejected) as refused:
        tk.check_attachment(filename, content_type, size)
    assert fragment in refused.value.message


def test_an_attachment_of_exactly_ten_mebibytes_is_accepted():
    assert tk.check_attachment("scan.pdf", "application/pdf", tk.MAX_ATTACHMENT_BYTES) == ("scan.pdf", "application/pdf")


# --- time entries and service reports --------------------------------------------------------------


def test_a_non_billable_entry_needs_a_reason():
    with pytest.raises(tk.NonBillableWithoutReason) as refused:
        ticket().record_time(technician_id="usr_tech", work_date=date(2026, 11, 23), minutes=30, billable=False, description="Garantiefall", reason=" ", now=NOW)
    assert refused.value.field == "reason"


@pytest.mark.parametrize("minutes,work_date,field", [(0, date(2026, 11, 23), "minutes"), (1441, date(2026, 11, 23), "minutes"), (30, date(2026, 11, 24), "workDate")])
def test_time_entries_are_whole_minutes_of_one_day_done_already(minutes, work_date, field):
    with pytest.raises(ValidationFailed) as refused:
        ticket().record_time(technician_id="usr_tech", work_date=work_date, minutes=minutes, billable=True, description="x", now=NOW)
    assert refused.value.field == field


def worked_ticket() -> tk.Ticket:
    t = ticket()
    ids = counting_ids()
    t.record_time(technician_id="usr_tech", work_date=date(2026, 11, 20), minutes=90, billable=True, description="Treiber neu installiert", now=NOW, id_factory=ids)
    t.record_time(technician_id="usr_tech", work_date=date(2026, 11, 21), minutes=20, billable=False, description="Nachkontrolle", reason="Garantiefall", now=NOW, id_factory=ids)
    t.record_time(technician_id="usr_tech", work_date=date(2026, 11, 22), minutes=45, billable=True, description="Toner getauscht", now=NOW, id_factory=ids)
    return t


def test_a_service_report_lists_billable_and_non_billable_entries_with_reasons():
    report = tk.service_report_for_ticket(worked_ticket(), now=NOW)
    assert [(line.minutes, line.billable, line.reason) for line in report.lines] == [(90, True, None), (20, False, "Garantiefall"), (45, True, None)]
    assert (report.billable_minutes, report.non_billable_minutes) == (135, 20)
    assert (report.billable_hours, report.non_billable_hours) == (Decimal("2.25"), Decimal("0.33"))
    assert (report.first_day, report.last_day) == (date(2026, 11, 20), date(2026, 11, 22))
    # only billable minutes are charged: 135 min at EUR 95.00/h = EUR 213.75
    assert report.billable_amount(Money.of("95.00")) == Money.of("213.75")


def test_a_report_built_twice_has_the_same_id_and_reported_entries_are_not_listed_again():
    t = worked_ticket()
    first = tk.service_report_for_ticket(t, now=NOW)
    assert tk.service_report_for_ticket(t, now=utc(2026, 11, 23, 10)).id == first.id
    t.mark_reported(first, now=NOW)
    assert all(entry.service_report_id == first.id for entry in t.time_entries)
    with pytest.raises(ValidationFailed) as nothing:
        tk.service_report_for_ticket(t, now=NOW)
    assert "no unreported time" in nothing.value.message


@pytest.mark.parametrize("principal,sees", [(STAFF, True), (EXTENDED, True), (REPORT_ONLY, False), (PARTNER, False)],
                         ids=["distributor", "extended", "report_only", "partner"])
def test_the_service_report_event_is_shown_only_to_those_who_may_open_service_reports(principal, sees):
    t = worked_ticket()
    t.mark_reported(tk.service_report_for_ticket(t, now=NOW), now=NOW)
    assert (tk.TicketEventKind.SERVICE_REPORTED in {e.kind for e in tk.visible_history(t, principal)}) is sees


def test_a_period_report_takes_the_entries_worked_inside_the_period_only():
    report = tk.service_report_for_period("cus_hanse", [worked_ticket()], first_day=date(2026, 11, 21), last_day=date(2026, 11, 30), now=NOW)
    assert [line.work_date for line in report.lines] == [date(2026, 11, 21), date(2026, 11, 22)]
    assert (report.first_day, report.last_day) == (date(2026, 11, 21), date(2026, 11, 30))


def test_time_on_a_closed_ticket_is_corrected_until_a_report_lists_it_and_the_history_keeps_the_values_before():
    t = worked_ticket()
    t.change_status(S.RESOLVED, actor="usr_tech", now=NOW)
    t.change_status(S.CLOSED, actor="usr_tech", now=NOW)
    entry_id = t.time_entries[0].id  # 90 billable minutes on 2026-11-20
    corrected = t.correct_time(entry_id, technician_id="usr_tech", work_date=date(2026, 11, 20), minutes=9, billable=True,
                               description="Treiber neu installiert", actor="usr_office", now=NOW)
    assert (corrected.id, corrected.minutes, corrected.recorded_at) == (entry_id, 9, NOW)
    event = t.history[-1]
    assert (event.kind, event.actor, event.internal) == (tk.TicketEventKind.TIME_CORRECTED, "usr_office", True)
    assert (event.details["minutes"], event.details["previous_minutes"]) == ("9", "90")
    unchanged = len(t.history)
    t.correct_time(entry_id, technician_id="usr_tech", work_date=date(2026, 11, 20), minutes=9, billable=True,
                   description="Treiber neu installiert", actor="usr_office", now=NOW)
    assert len(t.history) == unchanged  # the same values again: no event
    report = tk.service_report_for_ticket(t, now=NOW)
    t.mark_reported(report, now=NOW)
    with pytest.raises(tk.TimeEntryReported):
        t.delete_time(entry_id, actor="usr_office", now=NOW)
    assert report.billable_minutes == 9 + 45


def period_report_of(days: list[date]) -> tk.ServiceReport:
    """A period report of November 2026 with one 15-minute line per ticket, ticket n worked on ``days[n]``."""
    lines = tuple(tk.ServiceReportLine(f"tim_{n:03d}", f"tkt_{n:03d}", f"T-{n:06d}", day, "usr_tech", 15, True, "x", None)
                  for n, day in enumerate(days))
    return tk.ServiceReport("srv_1", "cus_hanse", tk.ServiceReportScope.PERIOD, date(2026, 11, 1), date(2026, 11, 30), lines, NOW)


def test_a_period_report_lists_the_time_of_at_most_97_tickets_and_names_the_days_that_fit():
    from domain.services.tickets import MAX_TICKETS_PER_SERVICE_REPORT, check_report_fits

    assert MAX_TICKETS_PER_SERVICE_REPORT == 97  # + the report, one quota debit, one item: DynamoDB's 100 writes
    check_report_fits(period_report_of([date(2026, 11, 2)] * 97))
    with pytest.raises(ValidationFailed) as refused:
        check_report_fits(period_report_of([date(2026, 11, 2)] * 40 + [date(2026, 11, 16)] * 50 + [date(2026, 11, 30)] * 8))
    assert refused.value.hint == "Report 2026-11-01 to 2026-11-16 first, then the days from 2026-11-17 on."


def test_more_than_97_tickets_worked_on_the_first_day_are_reported_ticket_by_ticket():
    from domain.services.tickets import check_report_fits

    with pytest.raises(ValidationFailed) as refused:
        check_report_fits(period_report_of([date(2026, 11, 2)] * 98))
    assert refused.value.field == "lastDay"
    assert refused.value.hint == ("Time on more than 97 tickets was recorded on 2026-11-02 alone: report those tickets one by one "
                                  "(serviceReportCreate with ticketId).")


def test_the_service_report_goes_to_the_address_chosen_at_onboarding_else_to_billing():
    assert tk.service_report_recipient(customer()) == "it@hanse.example"
    assert tk.service_report_recipient(customer(CustomerOnboarding())) == "rechnung@hanse.example"


# --- notifications ------------------------------------------------------------------------------


def test_an_email_ticket_confirms_number_and_received_time_to_the_sender_and_notifies_the_other_contacts():
    t = ticket(tk.TicketChannel.EMAIL, reporter=tk.Reporter(email="it@hanse.example"))
    receipt, notice = tk.new_ticket_notifications(t, customer().onboarding)
    assert receipt.to == ("it@hanse.example",)
    assert receipt.subject.startswith("[#T-000042]")
    assert "T-000042" in receipt.body and "2026-11-23 08:12 UTC (23.11.2026 09:12 Berlin time)" in receipt.body
    assert notice.to == ("chef@hanse.example",)  # the sender got the receipt, not the notice as well


def test_an_auto_reply_gets_no_receipt_and_nobody_chosen_means_no_notice():
    t = ticket(tk.TicketChannel.EMAIL, reporter=tk.Reporter(email="it@hanse.example"))
    assert tk.new_ticket_notifications(t, CustomerOnboarding(), send_receipt=False) == []


def test_status_changes_notify_the_contacts_chosen_for_them():
    t = ticket()
    event = t.change_status(S.IN_PROGRESS, actor="usr_tech", now=NOW)
    notice = tk.status_change_notification(t, event, customer().onboarding)
    assert notice.to == ("it@hanse.example",) and "NEW to IN_PROGRESS" in notice.body
    assert tk.status_change_notification(t, event, CustomerOnboarding()) is None


@pytest.mark.parametrize(
    "address,expected",
    [("chef@hanse.example", True), ("it@hanse.example", True), ("Chef@Hanse.Example", True), ("mallory@unknown.example", False)],
)
def test_a_reply_may_come_from_the_contacts_the_customer_chose_for_its_ticket_mails(address, expected):
    # customer(): new tickets to it@ and chef@, status changes to it@
    assert tk.is_ticket_mail_contact(address, ticket(), customer()) is expected
    assert tk.is_ticket_mail_contact(address, ticket(), customer(CustomerOnboarding())) is False  # nobody chosen


def test_the_contacts_of_one_customer_are_no_contacts_for_another_customers_ticket():
    other = tk.open_ticket(
        ticket_id="tkt_2", number="T-000043", distributor_id="dst_cloud", customer_id="cus_alpen", channel=tk.TicketChannel.PORTAL,
        subject="Kasse", description="Bon leer.", reporter=tk.Reporter(user_id="usr_alpen"), received_at=NOW, actor="usr_alpen", now=NOW,
    )
    with pytest.raises(ValueError):
        tk.is_ticket_mail_contact("chef@hanse.example", other, customer())


def test_the_sender_whose_mail_staff_made_a_ticket_of_may_reply_to_that_ticket_only():
    nina = tk.Reporter(email="n.neumann@hanse.example", name="Nina Neumann")  # no portal login: made a ticket of in triage
    triaged = ticket(tk.TicketChannel.EMAIL, reporter=nina)
    assert tk.is_ticket_mail_contact("N.Neumann@hanse.example", triaged, customer(CustomerOnboarding())) is True
    assert tk.is_ticket_mail_contact("n.neumann@hanse.example", ticket(), customer()) is False  # another ticket of Hanse
    # A hotline caller who gave the address got the receipt, which invites a reply: that reply is a comment too.
    caller = ticket(tk.TicketChannel.HOTLINE, reporter=tk.Reporter(email="n.neumann@hanse.example", name="Nina Neumann"))
    assert tk.is_ticket_mail_contact("n.neumann@hanse.example", caller, customer(CustomerOnboarding())) is True
    # A monitoring ticket's reporter is the monitoring team, never a mail contact.
    alert = ticket(tk.TicketChannel.MONITORING, reporter=tk.Reporter(email="n.neumann@hanse.example", name="Monitoring"))
    assert tk.is_ticket_mail_contact("n.neumann@hanse.example", alert, customer(CustomerOnboarding())) is False


# --- e-mail triage -----------------------------------------------------------------------------------


def test_the_triage_preview_is_the_start_of_the_text_on_one_line():
    assert tk.triage_preview("Hallo,\n\n  der Drucker\tdruckt nicht.\n") == "Hallo, der Drucker druckt nicht."
    long = tk.triage_preview("Wort " * 100)
    assert len(long) == tk.TRIAGE_PREVIEW_CHARS == 280 and long.endswith("Wort…")
    assert tk.triage_preview("  \n ") is None and tk.triage_preview(None) is None


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 501])
def test_dismissing_an_email_needs_a_reason_of_at_most_500_characters(reason):
    with pytest.raises(ValidationFailed) as refused:
        tk.email_dismissed(reason=reason, by="usr_ops", now=NOW)
    assert refused.value.field == "reason"


def test_a_dismissal_records_who_when_and_why():
    assert tk.email_dismissed(reason="  Spam  ", by="usr_ops", now=NOW) == tk.EmailTriage(tk.TriageDecision.DISMISSED, "usr_ops", NOW, reason="Spam")


# --- who may see and do what ---------------------------------------------------------------------


NORDIT = partner_org()
LINKED = customer(partner=NORDIT)
LINKED_LIMITED = customer(partner=NORDIT, access=AccessLevel.LIMITED)

# (principal, customer) -> (view tickets, open, comment, view service reports/statistics/contract/assets, work)
PERMISSIONS = [
    ("distributor staff", STAFF, LINKED, (True, True, True, True, True)),
    ("extended user", EXTENDED, LINKED, (True, True, True, True, False)),
    ("report-only user", REPORT_ONLY, LINKED, (True, True, True, False, False)),
    ("user of another customer", OTHER_CUSTOMER, LINKED, (False, False, False, False, False)),
    ("linked partner (full)", PARTNER, LINKED, (True, False, False, False, False)),
    ("linked partner (limited)", PARTNER, LINKED_LIMITED, (True, False, False, False, False)),
    ("partner staff without general access", PARTNER_NO_ACCESS, LINKED, (False, False, False, False, False)),
    ("partner not linked", OTHER_PARTNER, LINKED, (False, False, False, False, False)),
]


@pytest.mark.parametrize("name,principal,org,expected", PERMISSIONS, ids=[p[0] for p in PERMISSIONS])
def test_every_permission_level(name, principal, org, expected):
    t = ticket()  # reported by the report-only user usr_staff
    extended_views = {
        tk.can_view_service_reports(principal, org),
        tk.can_view_service_statistics(principal, org),
        tk.can_view_contract_status(principal, org),
        tk.can_view_assets(principal, org),
    }
    assert len(extended_views) == 1
    assert (
        tk.can_view_ticket(principal, t, org),
        tk.can_open_ticket(principal, org),
        tk.can_comment_on_ticket(principal, t),
        extended_views.pop(),
        tk.can_work_on_tickets(principal) and tk.can_see_internal_notes(principal),
    ) == expected


def test_a_report_only_user_sees_and_comments_on_the_tickets_they_reported_and_not_their_colleagues():
    """Report only: "see own tickets"; the organisation's support history is for extended users."""
    by_colleague = ticket(reporter=tk.Reporter(user_id="usr_it", email="it@hanse.example"))
    hotline_call = ticket(tk.TicketChannel.HOTLINE, reporter=tk.Reporter(user_id="usr_staff", name="Hilde"))
    by_mail_only = ticket(tk.TicketChannel.HOTLINE, reporter=tk.Reporter(email="staff@hanse.example", name="Hilde"))
    org = customer()
    assert tk.sees_only_own_tickets(REPORT_ONLY) and not tk.sees_only_own_tickets(EXTENDED) and not tk.sees_only_own_tickets(STAFF)
    assert tk.can_view_tickets_of(REPORT_ONLY, org)  # lists, but only their own (the service asks the reporter index)
    assert (tk.can_view_ticket(REPORT_ONLY, by_colleague, org), tk.can_comment_on_ticket(REPORT_ONLY, by_colleague),
            tk.can_add_attachment(REPORT_ONLY, by_colleague)) == (False, False, False)
    assert (tk.can_view_ticket(REPORT_ONLY, hotline_call, org), tk.can_comment_on_ticket(REPORT_ONLY, hotline_call)) == (True, True)
    # Reported under their address but not as their login (a hotline caller who gave it): not "reported by that user".
    assert tk.can_view_ticket(REPORT_ONLY, by_mail_only, org) is False
    # Extended users keep the whole organisation's tickets.
    assert (tk.can_view_ticket(EXTENDED, ticket(), org), tk.can_comment_on_ticket(EXTENDED, ticket())) == (True, True)
