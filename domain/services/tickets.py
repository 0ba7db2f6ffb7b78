"""Use cases of the service desk, shared by the API, the inbound e-mail Lambda and the jobs.

Ticket numbers are allocated from an atomic counter *before* the transaction that writes the
ticket (a crash in between leaves a gap, as ``domain.tickets`` allows); input is validated
first so that refused input spends no number. Notifications go out after the commit: a mail
that fails is logged and never undoes the ticket.
"""

from __future__ import annotations

import logging
from itertools import groupby
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from domain import tickets as tk
from domain.calendar import berlin_date
from domain.contracts import LedgerEntry, LedgerEntryKind, QuotaLedger, bill_service_report, quota_of_report
from domain.errors import AlreadyExists, ConcurrentUpdate, Conflict, NotFound, ValidationFailed
from domain.ids import new_id
from domain.organisations import Organisation, OrganisationKind, service_branch_of
from domain.policy import Principal, require
from domain.ports import (
    DocumentStore,
    EmailAttachment,
    EmailMessage,
    InboundEmailRecord,
    Mailer,
    Page,
    PresignedUpload,
    UnitOfWork,
)
from domain.services.idempotency import run_idempotent
from domain.services.organisations import page_size
from domain.services.resave import ResaveSummary, resave_all
from domain.validation import require_email

log = logging.getLogger("partnerhub.tickets")

SYSTEM_ACTOR = "system"
# A placeholder that passes number validation, so input is checked before a real number is spent.
_PROBE_NUMBER = "T-000001"

RenderReport = Callable[[tk.ServiceReport, Organisation, dict[str, str]], bytes]


@dataclass(frozen=True)
class NewTicket:
    customer_id: str
    subject: str
    description: str
    branch_key: str | None = None  # the branch the work is delivered at (None: head office)


@dataclass(frozen=True)
class NewHotlineTicket:
    customer_id: str
    subject: str
    description: str
    caller_name: str
    caller_email: str | None = None
    caller_user_id: str | None = None
    branch_key: str | None = None  # the branch the work is delivered at (None: head office)


@dataclass(frozen=True)
class NewTimeEntry:
    work_date: date
    minutes: int
    billable: bool
    description: str
    reason: str | None = None
    technician_id: str | None = None  # defaults to the signed-in technician


# --- helpers ------------------------------------------------------------------------------


def distributor_id(uow: UnitOfWork) -> str:
    """The platform operator, whose service desk numbers the tickets."""
    page = uow.organisations.list_by_kind(OrganisationKind.DISTRIBUTOR, limit=1, cursor=None)
    if not page.items:
        raise NotFound("There is no distributor to run the service desk.")
    return page.items[0].id


def send_notifications(mailer: Mailer, notifications: Iterable[tk.TicketNotification]) -> int:
    sent = 0
    for notification in notifications:
        try:
            mailer.send(EmailMessage(notification.to, notification.subject, notification.body))
            sent += 1
        except Exception:  # noqa: BLE001 - a lost notice must not undo the ticket
            log.exception("could not send %s for ticket %s", notification.kind.value, notification.ticket_id)
    return sent


def _customer(uow: UnitOfWork, customer_id: str, field: str = "customerId") -> Organisation:
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER:
        raise NotFound(f"No customer with id '{customer_id}'.", field=field)
    return customer


def _visible_customer(uow: UnitOfWork, principal: Principal, customer_id: str) -> Organisation:
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER or not tk.can_view_tickets_of(principal, customer):
        raise NotFound(f"No customer with id '{customer_id}'.", field="customerId")
    return customer


def _require_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str) -> tuple[tk.Ticket, Organisation]:
    ticket = uow.tickets.get(ticket_id)
    customer = uow.organisations.get(ticket.customer_id) if ticket else None
    if ticket is None or customer is None or not tk.can_view_ticket(principal, ticket, customer):
        raise NotFound(f"No ticket with id '{ticket_id}'.", field="ticketId")
    return ticket, customer


def allocate_number(uow: UnitOfWork, distributor: str) -> str:
    return tk.format_ticket_number(uow.ticket_numbers.next(distributor))


# --- opening tickets ----------------------------------------------------------------------


def _open(
    uow: UnitOfWork, principal: Principal, *, operation: str, payload: object, idempotency_key: str | None, now: datetime,
    build: Callable[[str, str, str], tk.Ticket], customer: Organisation, mailer: Mailer,
) -> tk.Ticket:
    build(new_id("tkt"), _PROBE_NUMBER, "dst_probe")  # validate before a number is spent
    created: list[tk.Ticket] = []

    def perform(uow: UnitOfWork) -> tuple[str, tk.Ticket]:
        distributor = distributor_id(uow)
        ticket = build(new_id("tkt"), allocate_number(uow, distributor), distributor)
        uow.tickets.add(ticket)
        created.append(ticket)
        return ticket.id, ticket

    ticket = run_idempotent(
        uow, principal=principal, operation=operation, key=idempotency_key, payload=payload, now=now,
        perform=perform, load=lambda uow, id: uow.tickets.get(id),
    )
    if created and created[-1].id == ticket.id:
        send_notifications(mailer, tk.new_ticket_notifications(ticket, customer.onboarding))
    return ticket


def open_portal_ticket(
    uow: UnitOfWork, principal: Principal, command: NewTicket, *, now: datetime, mailer: Mailer, idempotency_key: str | None = None
) -> tk.Ticket:
    """A customer user reports a problem in the portal."""
    customer = _visible_customer(uow, principal, command.customer_id)
    require(tk.can_open_ticket(principal, customer), "open tickets for this customer")
    if not principal.is_customer:
        raise ValidationFailed(
            "Portal tickets are opened by the customer's users.", field="customerId",
            hint="Service staff record a call with ticketHotlineCreate.",
        )
    branch_key = service_branch_of(customer, command.branch_key)
    user = uow.users.get(principal.user_id)
    reporter = tk.Reporter(user_id=principal.user_id, email=user.email if user else None, name=user.name if user else None)

    def build(ticket_id: str, number: str, distributor: str) -> tk.Ticket:
        return tk.open_ticket(
            ticket_id=ticket_id, number=number, distributor_id=distributor, customer_id=customer.id,
            channel=tk.TicketChannel.PORTAL, subject=command.subject, description=command.description,
            reporter=reporter, received_at=now, actor=principal.user_id, now=now, branch_key=branch_key,
        )

    return _open(uow, principal, operation="ticketCreate", payload=command, idempotency_key=idempotency_key, now=now,
                 build=build, customer=customer, mailer=mailer)


def open_hotline_ticket(
    uow: UnitOfWork, principal: Principal, command: NewHotlineTicket, *, now: datetime, mailer: Mailer,
    idempotency_key: str | None = None,
) -> tk.Ticket:
    """Service staff record a call on the customer's behalf."""
    require(tk.can_work_on_tickets(principal), "record hotline tickets")
    customer = _customer(uow, command.customer_id)
    caller = None
    if command.caller_user_id:
        caller = uow.users.get(command.caller_user_id)
        if caller is None or caller.organisation_id != customer.id:
            raise NotFound(f"No user '{command.caller_user_id}' at this customer.", field="callerUserId")
    # The receipt (number and received time) goes to the address the caller gave, else to the calling user's.
    given = (command.caller_email or "").strip()
    email = require_email(given, "callerEmail") if given else (caller.email if caller else None)
    reporter = tk.Reporter(user_id=command.caller_user_id, email=email, name=(command.caller_name or "").strip() or None)
    branch_key = service_branch_of(customer, command.branch_key)

    def build(ticket_id: str, number: str, distributor: str) -> tk.Ticket:
        return tk.open_ticket(
            ticket_id=ticket_id, number=number, distributor_id=distributor, customer_id=customer.id,
            channel=tk.TicketChannel.HOTLINE, subject=command.subject, description=command.description,
            reporter=reporter, received_at=now, actor=principal.user_id, now=now, branch_key=branch_key,
        )

    return _open(uow, principal, operation="ticketHotlineCreate", payload=command, idempotency_key=idempotency_key,
                 now=now, build=build, customer=customer, mailer=mailer)


@dataclass(frozen=True)
class QualifiedAlert:
    """A monitoring alert the monitoring team makes a ticket of, with an optional subject and note of their own."""

    alert: tk.MonitoringAlert
    subject: str | None = None
    note: str | None = None


def qualify_monitoring_alert(
    uow: UnitOfWork, principal: Principal, command: QualifiedAlert, *, now: datetime, mailer: Mailer,
) -> tuple[tk.Ticket, bool]:
    """The monitoring team turns an alert into a ticket (received when the sensor raised it). Qualifying the same alert
    again returns its ticket and creates, numbers and e-mails nothing (``False``); a new ticket notifies the contacts
    the customer chose at onboarding, as every new ticket does."""
    require(tk.can_work_on_tickets(principal), "qualify monitoring alerts into tickets")
    alert = command.alert
    customer = _customer(uow, alert.customer_id)
    if alert.raised_at > now:
        raise ValidationFailed("An alert cannot be raised in the future.", field="raisedAt")
    ticket_id = tk.alert_ticket_id(alert)

    def build(number: str, distributor: str) -> tk.Ticket:
        return tk.qualify_alert(alert, ticket_id=ticket_id, number=number, distributor_id=distributor,
                                qualified_by=principal.user_id, now=now, subject=command.subject, note=command.note)

    build(_PROBE_NUMBER, "dst_probe")  # validate before a number is spent
    existing = uow.tickets.get(ticket_id)
    if existing is not None:
        return existing, False
    with uow:
        distributor = distributor_id(uow)
        ticket = build(allocate_number(uow, distributor), distributor)
        uow.tickets.add(ticket)
        try:
            uow.commit()
        except AlreadyExists:  # qualified concurrently: that one stands
            return uow.tickets.get(ticket_id), False
    send_notifications(mailer, tk.new_ticket_notifications(ticket, customer.onboarding))
    return ticket, True


# --- e-mails awaiting triage --------------------------------------------------------------
# Making a ticket of one needs the raw message (MIME parsing, attachments): infra.inbound_email does that with
# the checks below.


def list_emails_awaiting_triage(uow: UnitOfWork, principal: Principal, *, first: int | None, after: str | None) -> Page[InboundEmailRecord]:
    """Unknown senders' mails nobody has made a ticket of or dismissed yet, newest first: for service staff only."""
    limit = page_size(first)
    if not tk.can_work_on_tickets(principal):
        return Page([], None)
    return uow.inbound_emails.list_awaiting_triage(limit=limit, cursor=after)


def customer_for_ticket(uow: UnitOfWork, customer_id: str) -> Organisation:
    """The customer a ticket is to be opened for; NOT_FOUND (customerId) unless it is one."""
    return _customer(uow, customer_id)


def inbound_email(uow: UnitOfWork, key: str) -> InboundEmailRecord:
    record = uow.inbound_emails.get(key)
    if record is None:
        raise NotFound(f"No inbound e-mail '{key}'.", field="key", hint="Pass the key of an e-mail of inboundEmailsAwaitingTriage.")
    return record


def not_awaiting_triage(record: InboundEmailRecord) -> Conflict:
    """Why ``record`` cannot be triaged (again)."""
    triage = record.triage
    if triage is None:
        return Conflict(f"The e-mail {record.key} is not awaiting triage: its outcome is {record.outcome}.", field="key",
                        hint="Only e-mails from unknown senders await triage.")
    if triage.decision is tk.TriageDecision.DISMISSED:
        return Conflict(f"The e-mail {record.key} was dismissed: {triage.reason}", field="key")
    return Conflict(f"The e-mail {record.key} became the ticket {record.ticket_id} already.", field="key",
                    hint="Work on that ticket (a ticket of the wrong customer is closed with ticketStatusChange).")


def dismiss_email(uow: UnitOfWork, principal: Principal, key: str, *, reason: str | None, now: datetime) -> InboundEmailRecord:
    """Service staff dismiss a mail awaiting triage (spam, not for us) with a reason: it leaves the triage list, the raw
    message stays. Nobody is e-mailed. Dismissing it again returns it as it is."""
    require(tk.can_work_on_tickets(principal), "dismiss e-mails")
    triage = tk.email_dismissed(reason=reason, by=principal.user_id, now=now)
    record = inbound_email(uow, key)
    if record.triage is not None and record.triage.decision is tk.TriageDecision.DISMISSED:
        return record
    if not record.awaiting_triage:
        raise not_awaiting_triage(record)
    dismissed = replace(record, triage=triage)
    with uow:
        uow.inbound_emails.update(dismissed)
        try:
            uow.commit()
        except ConcurrentUpdate:  # handled by someone else in the meantime
            current = inbound_email(uow, key)
            if current.triage is not None and current.triage.decision is tk.TriageDecision.DISMISSED:
                return current
            raise not_awaiting_triage(current) from None
    return replace(dismissed, version=dismissed.version + 1)


# --- reading ------------------------------------------------------------------------------


def list_tickets(
    uow: UnitOfWork, principal: Principal, *, customer_id: str | None, status: tk.TicketStatus | None,
    first: int | None, after: str | None,
) -> Page[tk.Ticket]:
    """A customer's tickets, newest first (a report-only user's: those they reported); service staff may list a whole
    status queue instead."""
    limit = page_size(first)
    if customer_id is None and principal.is_customer:
        customer_id = principal.organisation_id
    if customer_id is None:
        if principal.is_distributor:
            if status is None:
                raise ValidationFailed("Name a customer or a status.", field="status", hint="E.g. status: NEW for the queue.")
            return uow.tickets.list_by_status(status, limit=limit, cursor=after)
        return Page([], None)
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER or not tk.can_view_tickets_of(principal, customer):
        return Page([], None)
    if tk.sees_only_own_tickets(principal):
        return uow.tickets.list_reported_by(customer_id, principal.user_id, status=status, limit=limit, cursor=after)
    return uow.tickets.list_for_customer(customer_id, status=status, limit=limit, cursor=after)


def all_tickets_of(uow: UnitOfWork, customer_id: str, *, page_limit: int = 100) -> list[tk.Ticket]:
    found: list[tk.Ticket] = []
    cursor = None
    while True:
        page = uow.tickets.list_for_customer(customer_id, status=None, limit=page_limit, cursor=cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


# --- working on a ticket ------------------------------------------------------------------


def _change(uow: UnitOfWork, principal: Principal, ticket_id: str, apply: Callable[[tk.Ticket, Organisation], object]):
    with uow:
        ticket, customer = _require_ticket(uow, principal, ticket_id)
        result = apply(ticket, customer)
        uow.tickets.update(ticket)
        uow.commit()
    return ticket, customer, result


def add_comment(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, body: str, internal: bool, now: datetime, mailer: Mailer
) -> tk.Ticket:
    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.CommentOutcome:
        require(tk.can_comment_on_ticket(principal, ticket), "comment on this ticket")
        return ticket.add_comment(author=principal.user_id, body=body, now=now, by_staff=principal.is_distributor, internal=internal)

    ticket, customer, outcome = _change(uow, principal, ticket_id, apply)
    if outcome.status_event is not None:
        notice = tk.status_change_notification(ticket, outcome.status_event, customer.onboarding)
        send_notifications(mailer, [notice] if notice else [])
    return ticket


def change_status(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, status: tk.TicketStatus, note: str | None, now: datetime, mailer: Mailer
) -> tk.Ticket:
    """Resolving or closing a ticket requesting a software update calls the update off (``domain.tickets``): its notice
    (to the status contacts and the requester) says so instead of the bare status notice."""
    update_before: list = []

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent:
        require(tk.can_work_on_tickets(principal), "change the status of tickets")
        update_before.append(ticket.software_update)
        return ticket.change_status(status, actor=principal.user_id, now=now, note=(note or "").strip() or None)

    ticket, customer, event = _change(uow, principal, ticket_id, apply)
    before = update_before[-1]
    if before is not None and ticket.software_update is not before:  # called off by this change
        notice = tk.software_update_notification(ticket, before, event, customer.onboarding)
    else:
        notice = tk.status_change_notification(ticket, event, customer.onboarding)
    send_notifications(mailer, [notice] if notice else [])
    return ticket


def assign(uow: UnitOfWork, principal: Principal, ticket_id: str, *, technician_id: str | None, now: datetime) -> tk.Ticket:
    require(tk.can_work_on_tickets(principal), "assign tickets")
    if technician_id is not None:
        technician = uow.users.get(technician_id)
        if technician is None or technician.organisation_kind is not OrganisationKind.DISTRIBUTOR or not technician.active:
            raise NotFound(f"No technician with id '{technician_id}'.", field="assigneeId",
                           hint="Tickets are assigned to the distributor's service staff.")
    ticket, _, _ = _change(uow, principal, ticket_id, lambda t, c: t.assign(technician_id, actor=principal.user_id, now=now))
    return ticket


def set_branch(uow: UnitOfWork, principal: Principal, ticket_id: str, *, branch_key: str | None, now: datetime) -> tk.Ticket:
    """Service staff name the branch the ticket's work is delivered at (``None`` or empty: the head office): one of the
    customer's branches receiving services, else ``ValidationFailed`` on ``branchKey`` and nothing changes."""
    require(tk.can_work_on_tickets(principal), "change the branch of tickets")
    ticket, _, _ = _change(
        uow, principal, ticket_id,
        lambda t, c: t.set_branch(service_branch_of(c, branch_key), actor=principal.user_id, now=now),
    )
    return ticket


def _require_technician(uow: UnitOfWork, principal: Principal, technician_id: str) -> None:
    if technician_id != principal.user_id:
        technician = uow.users.get(technician_id)
        if technician is None or technician.organisation_kind is not OrganisationKind.DISTRIBUTOR or not technician.active:
            raise NotFound(f"No technician with id '{technician_id}'.", field="technicianId",
                           hint="Time is recorded for the distributor's active service staff.")


def record_time(uow: UnitOfWork, principal: Principal, ticket_id: str, entry: NewTimeEntry, *, now: datetime) -> tuple[tk.Ticket, tk.TimeEntry]:
    require(tk.can_work_on_tickets(principal), "record time")
    technician_id = entry.technician_id or principal.user_id
    _require_technician(uow, principal, technician_id)

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TimeEntry:
        return ticket.record_time(
            technician_id=technician_id, work_date=entry.work_date, minutes=entry.minutes, billable=entry.billable,
            description=entry.description, reason=entry.reason, now=now,
        )

    ticket, _, recorded = _change(uow, principal, ticket_id, apply)
    return ticket, recorded


def correct_time(
    uow: UnitOfWork, principal: Principal, ticket_id: str, entry_id: str, entry: NewTimeEntry, *, now: datetime,
) -> tuple[tk.Ticket, tk.TimeEntry]:
    """Service staff correct a time entry no service report lists yet: ``entry`` replaces its values, validated as a new
    entry (``technician_id`` left out keeps the entry's technician). A reported entry is CONFLICT; one write under the
    ticket's version, so a report made meanwhile makes this a conflict rather than changing what it listed."""
    require(tk.can_work_on_tickets(principal), "correct time entries")
    if entry.technician_id is not None:
        _require_technician(uow, principal, entry.technician_id)

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TimeEntry:
        current = next((e for e in ticket.time_entries if e.id == entry_id), None)
        return ticket.correct_time(
            entry_id, technician_id=entry.technician_id or (current.technician_id if current else principal.user_id),
            work_date=entry.work_date, minutes=entry.minutes, billable=entry.billable, description=entry.description,
            reason=entry.reason, actor=principal.user_id, now=now,
        )

    ticket, _, corrected = _change(uow, principal, ticket_id, apply)
    return ticket, corrected


def delete_time(uow: UnitOfWork, principal: Principal, ticket_id: str, entry_id: str, *, now: datetime) -> tuple[tk.Ticket, tk.TimeEntry]:
    """Service staff delete a time entry no service report lists yet (recorded on the wrong ticket, twice); a reported
    entry is CONFLICT. Returns the ticket and the entry as it was."""
    require(tk.can_work_on_tickets(principal), "delete time entries")
    ticket, _, deleted = _change(uow, principal, ticket_id, lambda t, c: t.delete_time(entry_id, actor=principal.user_id, now=now))
    return ticket, deleted


# --- attachments --------------------------------------------------------------------------


def start_attachment_upload(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, ticket_id: str, *, filename: str, content_type: str, size_bytes: int
) -> PresignedUpload:
    """A presigned POST form for one file; S3 itself refuses another key, type or a larger file."""
    ticket, _ = _require_ticket(uow, principal, ticket_id)
    require(tk.can_add_attachment(principal, ticket), "add attachments to this ticket")
    ticket._require_open("adding attachments")
    name, canonical = tk.check_attachment(filename, content_type, size_bytes)
    key = tk.attachment_key(ticket.id, new_id("att"), name)
    return documents.upload_form(key, content_type=canonical, max_bytes=size_bytes)


def add_uploaded_attachment(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, ticket_id: str, *, key: str, filename: str,
    content_type: str, size_bytes: int, now: datetime,
) -> tk.Ticket:
    """Register a file uploaded through ``start_attachment_upload``; registering it twice changes nothing."""
    parts = (key or "").split("/")
    if len(parts) != 4 or parts[0] != "tickets" or parts[1] != ticket_id or not parts[2].startswith("att_"):
        raise ValidationFailed("The upload key does not belong to this ticket.", field="key",
                               hint="Pass the key returned by ticketAttachmentUploadStart.")
    attachment_id = parts[2]
    with uow:
        ticket, _ = _require_ticket(uow, principal, ticket_id)
        require(tk.can_add_attachment(principal, ticket), "add attachments to this ticket")
        if any(a.id == attachment_id for a in ticket.attachments):
            return ticket
        attachment = ticket.add_attachment(
            filename=filename, content_type=content_type, size_bytes=size_bytes, uploaded_by=principal.user_id, now=now,
            id_factory=lambda prefix: attachment_id,
        )
        if attachment.key != key:
            raise ValidationFailed("The file name differs from the one the upload was started with.", field="filename")
        if not documents.exists(key):
            raise ValidationFailed("The file has not been uploaded yet.", field="key",
                                   hint="POST the file with the form fields first, then register it.")
        uow.tickets.update(ticket)
        uow.commit()
    return ticket


# --- service reports ----------------------------------------------------------------------


def service_report_key(report: tk.ServiceReport) -> str:
    return f"service-reports/{report.customer_id}/{report.id}.pdf"


# A report is one DynamoDB transaction (at most 100 writes): the report, each ticket whose entries it marks as reported,
# one quota debit and one billing item. A period with time on more tickets is refused before anything is written.
MAX_TICKETS_PER_SERVICE_REPORT = 97


def check_report_fits(report: tk.ServiceReport) -> None:
    """Refuse a period report listing the time of more than ``MAX_TICKETS_PER_SERVICE_REPORT`` tickets, naming the
    longest period from its first day that fits (a ticket-scope report always fits)."""
    tickets = {line.ticket_id for line in report.lines}
    if len(tickets) <= MAX_TICKETS_PER_SERVICE_REPORT:
        return
    seen: set[str] = set()
    last_fitting: date | None = None  # the last work date up to which the tickets fit
    for day, lines in groupby(report.lines, key=lambda line: line.work_date):  # the lines are sorted by work date
        seen.update(line.ticket_id for line in lines)
        if len(seen) > MAX_TICKETS_PER_SERVICE_REPORT:
            break
        last_fitting = day
    if last_fitting is not None:
        hint = (f"Report {report.first_day.isoformat()} to {last_fitting.isoformat()} first, then the days from "
                f"{(last_fitting + timedelta(days=1)).isoformat()} on.")
    else:
        hint = (f"Time on more than {MAX_TICKETS_PER_SERVICE_REPORT} tickets was recorded on {report.lines[0].work_date.isoformat()} "
                "alone: report those tickets one by one (serviceReportCreate with ticketId).")
    raise ValidationFailed(
        f"From {report.first_day.isoformat()} to {report.last_day.isoformat()} time was recorded on {len(tickets)} tickets; "
        f"one service report lists the time of at most {MAX_TICKETS_PER_SERVICE_REPORT} tickets.",
        field="lastDay", hint=hint,
    )


def one_quota_debit(report: tk.ServiceReport, debits: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """The quota debits of a report's lines as one ledger entry of the report (key ``<month>#USAGE#<report id>``).

    The ledger debits line by line (``QuotaLedger.use``: with no overdraft, each line at most what is left); the sum of
    those debits is what the report takes from the quota, booked at the same instant and in the same month. One entry
    per report keeps the report's transaction at one ledger write however many lines it has; the lines stay on the
    report, which the entry names. A report's entries are marked reported in the same transaction, so the per-line
    check for a debit booked twice is not needed: a report is never booked twice (its id, hence the key, is derived from
    its entries and the put is conditional)."""
    debits = list(debits)
    if not debits:
        return []
    first = debits[0]
    if any(d.month != first.month or d.at != first.at or d.contract_id != first.contract_id for d in debits):
        raise ValueError("the debits of one report are booked in one month at one instant")  # not expected
    minutes = sum(d.minutes for d in debits)
    billable = sum(1 for line in report.lines if line.billable)
    return [LedgerEntry(
        first.contract_id, f"{first.month}#USAGE#{report.id}", LedgerEntryKind.USAGE, first.month, minutes, first.at, report.id,
        f"Service report {report.id} ({report.first_day.isoformat()} to {report.last_day.isoformat()}, "
        f"{billable} billable time {'entry' if billable == 1 else 'entries'})",
    )]


def create_service_report(
    uow: UnitOfWork, principal: Principal, *, now: datetime, documents: DocumentStore, mailer: Mailer, render: RenderReport,
    ticket_id: str | None = None, customer_id: str | None = None, first_day: date | None = None, last_day: date | None = None,
) -> tk.ServiceReport:
    """List every unreported time entry of a ticket or a period, store the PDF, e-mail it, hand billing its items.

    Billable minutes are debited first from the prepaid quota in force on their work dates (``quota_of_report``); what
    the quota does not cover becomes a ``ServiceItem`` referenced by the report id (the invoice shows id and amount), at
    the rate of each entry's work date, through the partner whose link's billing mode decides who pays.
    """
    require(tk.can_work_on_tickets(principal), "create service reports")
    with uow:
        if ticket_id is not None:
            ticket, customer = _require_ticket(uow, principal, ticket_id)
            tickets = [ticket]
            report = tk.service_report_for_ticket(ticket, now=now)
        else:
            if customer_id is None or first_day is None or last_day is None:
                raise ValidationFailed("Name a ticket, or a customer with the first and last day.", field="ticketId")
            customer = _customer(uow, customer_id)
            tickets = [t for t in all_tickets_of(uow, customer_id) if t.unreported_entries]
            report = tk.service_report_for_period(customer_id, tickets, first_day=first_day, last_day=last_day, now=now)
            check_report_fits(report)
        contracts = uow.contracts.list_for_customer(customer.id)
        quota = quota_of_report(contracts, report)  # by the work dates, not today's: a late report of an ended quota
        ledger = QuotaLedger(quota, uow.quota_ledger.entries(quota.id)) if quota else None
        billing = bill_service_report(report, contracts, ledger, now=now, customer=customer)
        technicians = {u.id: u.name for u in uow.users.get_many({line.technician_id for line in report.lines}).values()}
        pdf = render(report, customer, technicians)
        # The PDF goes first, under the report's key, so a committed report always has its PDF; only the commit makes
        # the key valid (pdfUrl is served for stored reports only). Every refusal of the input comes before it; a commit
        # lost to a concurrent change leaves a file no report names, which the same entries reported again overwrite
        # (the report id, hence the key, is derived from the entries).
        key = service_report_key(report)
        documents.put(key, pdf, "application/pdf")
        uow.service_reports.add(report, pdf_key=key)
        listed = {line.ticket_id for line in report.lines}
        for ticket in tickets:
            if ticket.id in listed:
                ticket.mark_reported(report, now=now)
                uow.tickets.update(ticket)
        for entry in one_quota_debit(report, billing.ledger_entries):
            uow.quota_ledger.add(entry)
        for item in billing.items:
            uow.service_items.add(item, bill_date=berlin_date(now))
        uow.commit()
    recipient = tk.service_report_recipient(customer)
    try:
        mailer.send(
            EmailMessage(
                to=(recipient,),
                subject=f"Service report {report.id} ({report.first_day.isoformat()} to {report.last_day.isoformat()})",
                body=(
                    f"Attached is the service report {report.id} for {customer.name}: "
                    f"{tk.hours_of(report.billable_minutes)} h billable, {tk.hours_of(report.non_billable_minutes)} h not billable.\n"
                    "Invoices refer to this report by its id."
                ),
                attachments=(EmailAttachment(f"{report.id}.pdf", "application/pdf", pdf),),
            )
        )
    except Exception:  # noqa: BLE001 - the report exists; it can be sent again
        log.exception("could not e-mail service report %s", report.id)
    return report


def get_visible_service_report(uow: UnitOfWork, principal: Principal, report_id: str) -> tk.ServiceReport | None:
    report = uow.service_reports.get(report_id)
    if report is None:
        return None
    customer = uow.organisations.get(report.customer_id)
    if customer is None or not tk.can_view_service_reports(principal, customer):
        return None
    return report


def list_service_reports(uow: UnitOfWork, principal: Principal, customer_id: str, *, first: int | None, after: str | None) -> Page[tk.ServiceReport]:
    limit = page_size(first)
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER or not tk.can_view_service_reports(principal, customer):
        return Page([], None)
    return uow.service_reports.list_for_customer(customer_id, limit=limit, cursor=after)



def index_ticket_reporters(uow_factory, *, page_limit: int = 50) -> ResaveSummary:
    """Once, after the deploy that limited report-only users to the tickets they reported: a ticket saved before is not
    on the reporter index, so its reporter would not see it. Each ticket whose reporter has a login is saved again
    (unchanged but for its version), which puts it there. Reads every ticket (status by status, through the status
    index): a one-off, never scheduled. Running it again only saves the same tickets again."""

    def save(uow, ticket: tk.Ticket) -> bool:
        if not ticket.reporter.user_id:
            return False
        uow.tickets.update(ticket)
        return True

    summary = ResaveSummary()
    for status in tk.TicketStatus:  # saving again changes no status: each status's pages stay as they are
        resave_all(uow_factory, lambda uow, cursor: uow.tickets.list_by_status(status, limit=page_limit, cursor=cursor), save, summary)
    return summary
