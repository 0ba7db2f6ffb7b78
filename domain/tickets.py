"""The service desk: tickets, comments, attachments, status workflow, time entries, service reports.

``Ticket`` is a mutable aggregate, like ``Subscription``: every operation validates first,
then changes the object and appends a ``TicketEvent`` to its history, so a refused
operation leaves the ticket untouched. Comments, attachment metadata, time entries and the
history are small child collections kept inside the ticket.

Decided here, where ``DOMAIN.md`` leaves room:

* **Ticket numbers** are ``T-`` and at least six digits (``T-000123``), allocated per
  distributor by infra from an atomic counter; the sequence may have gaps (a crash after
  allocation loses a number), unlike invoice numbers. Outgoing mails carry the tag
  ``[#T-000123]`` in the subject so replies find their ticket; ``Ticket T-000123`` in a
  subject is recognised too.
* **Status workflow** (``ALLOWED_TRANSITIONS``)::

      NEW                  → IN_PROGRESS, WAITING_FOR_CUSTOMER, RESOLVED, CLOSED (spam, duplicate)
      IN_PROGRESS          → WAITING_FOR_CUSTOMER, RESOLVED
      WAITING_FOR_CUSTOMER → IN_PROGRESS, RESOLVED
      RESOLVED             → IN_PROGRESS (reopen), CLOSED
      CLOSED               → nothing: final; a new problem is a new ticket

  A worked ticket is closed only after RESOLVED, so the customer is told it is solved and
  may object. Staying in the same status is not a transition and is refused too.
  A customer's (non-staff) comment on a WAITING_FOR_CUSTOMER or RESOLVED ticket moves it
  back to IN_PROGRESS: the ball is with the service desk again.
* Closed tickets take no comments, attachments or time entries.
* Only service staff write **internal notes**; customers and partners never see them, nor
  the history events about them or about time recorded (customers see time in service
  reports, which need the EXTENDED level; so does the history event naming a report).
* **Machine channels never refuse on shape**: an e-mail or monitoring ticket with an empty
  subject gets "(no subject)", an over-long subject or description is shortened with a
  marker (the raw e-mail stays in S3). People typing in the portal or at the hotline get
  validation errors instead.
* **Attachments**: PNG, JPEG, GIF, WEBP, PDF, TXT, LOG up to 10 MiB, checked by file
  extension and declared content type together; ``application/octet-stream`` (what many
  mail clients declare) is accepted for an allowed extension and stored as the canonical
  type. Word documents are refused with the hint to send screenshots as image files.
* **E-mail triage**: a mail from an address that is no active customer user's (nor a ticket
  contact's reply) makes no ticket and gets no answer (that would answer spam and forged
  senders); it waits in the service desk's triage list until staff make a ticket of it for
  the customer they choose (its sender gets the usual receipt: staff judged it genuine) or
  dismiss it with a reason. Either decision is final; the raw message always stays.
* **Time entries**: whole minutes, 1 to 1440 per entry, no rounding (what the technician
  enters is what the report shows); the work date may not lie in the future; a
  non-billable entry needs a reason. A time entry belongs to at most one service report;
  a report's id is derived from its entries, so building it twice gives the same id. Until a
  report lists it, service staff correct an entry (a typo in the minutes would be billed) or
  delete it, on a closed ticket too (its time is still to be reported); once listed it is
  final (``TimeEntryReported``): the report was sent and billed. Corrections and deletions are
  internal history events with the values before.
* **Visibility** (functions at the end): customer users of the ticket's organisation
  (REPORT_ONLY and EXTENDED) open tickets; a REPORT_ONLY user sees, comments on and
  attaches to only the tickets they reported (reporter is that login: portal, their e-mail,
  a hotline call naming them), since the organisation's support history is shown only on
  request (csm-boarding-guide); EXTENDED users see and comment on all of its tickets and
  also see service reports, statistics, contract status and assets. Partner staff with
  GENERAL_ACCESS linked to the customer (FULL or LIMITED) see its tickets **read-only**:
  no comments, no service reports (those belong to the MSP's invoices to the customer).
  Distributor staff (service desk, technicians) see and do everything.
* A ticket may carry a **software update request** (``software_update``: which asset, the agreed time): the
  workflow of updates that interrupt users lives in ``domain.software_updates``; each step is a SOFTWARE_UPDATE
  history event, visible to whoever sees the ticket. Resolving or closing such a ticket other than by recording the
  update installed calls the update off (CANCELLED, final: reopening the ticket does not bring it back).
* **Branch** (per-branch billing; see ``domain.billing``). Decided: a ticket may name the customer's branch the work is
  delivered at (``branch_key``; ``None``: the head office), one that receives services (checked by the services,
  ``domain.organisations.service_branch_of``), set when it is opened (portal, hotline) and changed by service staff
  (``set_branch``, a BRANCH_CHANGED history event, also on a closed ticket: its time may still be reported). A service
  report's line carries the branch its ticket names when the report is made; changing the branch later moves only time
  not reported yet.
* Credentials known to technicians are not modelled here; they belong in a separate
  store readable only by the people who need them (service and technicians; customer
  staff on request), never in ticket text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Callable, Iterable, Mapping

from domain import ids
from domain.calendar import BERLIN, berlin_date, ensure_utc, format_utc
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.money import Money, round_cents
from domain.organisations import CustomerOnboarding, Organisation, OrganisationKind, PermissionLevel
from domain.policy import Principal, can_view_organisation
from domain.software_updates import SoftwareUpdate, cancel as cancel_software_update, step_notice
from domain.validation import require_text

IdFactory = Callable[[str], str]


def _new_id(prefix: str, id_factory: IdFactory | None) -> str:
    return (id_factory or ids.new_id)(prefix)


# --- ticket numbers -----------------------------------------------------------------------

TICKET_NUMBER_PREFIX = "T-"
TICKET_NUMBER_DIGITS = 6
_TICKET_NUMBER = re.compile(r"^T-(\d{6,})$", re.IGNORECASE)
# "[#T-000123]" (our own tag) or "Ticket T-000123" / "Ticket #T-000123" / "Ticket-Nr. T-000123".
_TICKET_IN_SUBJECT = re.compile(
    r"\[#?(T-\d{6,})\]|\bTicket(?:-?Nr\.?|-?Nummer)?[\s:#]*(T-\d{6,})\b",
    re.IGNORECASE,
)


def format_ticket_number(sequence: int) -> str:
    """The ``sequence``-th ticket of a distributor: 123 → ``T-000123``; beyond 999999 it grows."""
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError(f"ticket sequence must be a positive integer, not {sequence!r}")
    return f"{TICKET_NUMBER_PREFIX}{sequence:0{TICKET_NUMBER_DIGITS}d}"


def parse_ticket_number(text: str) -> int:
    """``T-000123`` (any case, surrounding blanks allowed) → 123; anything else is refused."""
    match = _TICKET_NUMBER.match((text or "").strip())
    if not match or int(match.group(1)) < 1:
        raise ValidationFailed(
            f"'{text}' is not a ticket number.",
            field="ticketNumber",
            hint="Ticket numbers look like T-000123.",
        )
    return int(match.group(1))


def ticket_number_in_subject(subject: str | None) -> str | None:
    """The ticket number a reply's subject refers to, canonical (``T-000123``), or ``None``."""
    match = _TICKET_IN_SUBJECT.search(subject or "")
    if not match:
        return None
    number = (match.group(1) or match.group(2)).upper()
    sequence = int(number[2:])
    return format_ticket_number(sequence) if sequence >= 1 else None


def subject_tag(number: str) -> str:
    """What outgoing mails put in front of the subject so that replies find the ticket."""
    return f"[#{number}]"


# --- value objects ------------------------------------------------------------------------


class TicketChannel(str, Enum):
    EMAIL = "EMAIL"
    PORTAL = "PORTAL"
    HOTLINE = "HOTLINE"
    MONITORING = "MONITORING"  # an alert qualified by the monitoring team
    MAINTENANCE = "MAINTENANCE"  # created by the maintenance job on a schedule's cycle


MACHINE_CHANNELS = frozenset({TicketChannel.EMAIL, TicketChannel.MONITORING, TicketChannel.MAINTENANCE})


class TicketStatus(str, Enum):
    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_FOR_CUSTOMER = "WAITING_FOR_CUSTOMER"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


ALLOWED_TRANSITIONS: Mapping[TicketStatus, tuple[TicketStatus, ...]] = {
    TicketStatus.NEW: (
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING_FOR_CUSTOMER,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ),
    TicketStatus.IN_PROGRESS: (TicketStatus.WAITING_FOR_CUSTOMER, TicketStatus.RESOLVED),
    TicketStatus.WAITING_FOR_CUSTOMER: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED),
    TicketStatus.CLOSED: (),
}

REOPENED_BY_CUSTOMER_COMMENT = frozenset({TicketStatus.WAITING_FOR_CUSTOMER, TicketStatus.RESOLVED})


class InvalidStatusTransition(Conflict):
    """The ticket cannot move from its status to the requested one; ``allowed_next`` lists where it can."""

    def __init__(self, current: TicketStatus, requested: TicketStatus) -> None:
        self.current = current
        self.requested = requested
        self.allowed_next: tuple[TicketStatus, ...] = tuple(ALLOWED_TRANSITIONS[current])
        if self.allowed_next:
            hint = "Allowed next: " + ", ".join(status.value for status in self.allowed_next) + "."
        else:
            hint = "CLOSED is final: open a new ticket and mention this one."
        super().__init__(
            f"A ticket in status {current.value} cannot move to {requested.value}.",
            field="status",
            hint=hint,
        )


class TicketClosed(Conflict):
    def __init__(self, number: str, what: str) -> None:
        super().__init__(
            f"Ticket {number} is closed; {what} is no longer possible.",
            field="ticketId",
            hint=f"Open a new ticket and mention {number}.",
        )


class TicketFull(Conflict):
    """The ticket has no room for the change: its comments and history are stored together, and the store's room per
    ticket is limited (infra measures it). A full ticket can still change status, so it can be resolved and closed."""

    def __init__(self, number: str) -> None:
        super().__init__(
            f"Ticket {number} is full: its comments and history leave no room for this.",
            field="ticketId",
            hint=f"Attach long text (a log, a mail thread) as a .txt or .log file, or open a follow-up ticket that mentions {number}.",
        )


@dataclass(frozen=True)
class Reporter:
    """Who reported a ticket: a portal user, or a sender known only by e-mail (or a caller's name)."""

    user_id: str | None = None
    email: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not (self.user_id or self.email or self.name):
            raise ValidationFailed("A ticket needs a reporter.", field="reporter")

    @property
    def label(self) -> str:
        return self.name or self.email or self.user_id or ""


class TicketEventKind(str, Enum):
    CREATED = "CREATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ASSIGNED = "ASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    COMMENT_ADDED = "COMMENT_ADDED"
    INTERNAL_NOTE_ADDED = "INTERNAL_NOTE_ADDED"
    ATTACHMENT_ADDED = "ATTACHMENT_ADDED"
    TIME_RECORDED = "TIME_RECORDED"
    TIME_CORRECTED = "TIME_CORRECTED"
    TIME_DELETED = "TIME_DELETED"
    SERVICE_REPORTED = "SERVICE_REPORTED"
    SOFTWARE_UPDATE = "SOFTWARE_UPDATE"  # a step of a software update request (domain.software_updates)
    BRANCH_CHANGED = "BRANCH_CHANGED"  # the branch the work is delivered at set, changed or cleared


@dataclass(frozen=True)
class TicketEvent:
    kind: TicketEventKind
    at: datetime
    actor: str  # a user id, an e-mail address, or "system" for jobs
    details: Mapping[str, str] = field(default_factory=dict)
    internal: bool = False  # staff only


@dataclass(frozen=True)
class TicketComment:
    id: str
    author: str  # a user id, or the sender's e-mail address for replies by e-mail
    body: str
    at: datetime
    internal: bool = False  # a technician's note: never shown to customers or partners
    by_staff: bool = False


# --- attachments --------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_TICKET = 50
OCTET_STREAM = "application/octet-stream"

# extension → (canonical content type, every declared type accepted for it)
ALLOWED_ATTACHMENT_TYPES: Mapping[str, tuple[str, frozenset[str]]] = {
    "png": ("image/png", frozenset({"image/png"})),
    "jpg": ("image/jpeg", frozenset({"image/jpeg", "image/pjpeg"})),
    "jpeg": ("image/jpeg", frozenset({"image/jpeg", "image/pjpeg"})),
    "gif": ("image/gif", frozenset({"image/gif"})),
    "webp": ("image/webp", frozenset({"image/webp"})),
    "pdf": ("application/pdf", frozenset({"application/pdf"})),
    "txt": ("text/plain", frozenset({"text/plain"})),
    "log": ("text/plain", frozenset({"text/plain", "text/x-log"})),
}
WORD_EXTENSIONS = frozenset({"doc", "docx", "docm", "dot", "dotx"})
WORD_CONTENT_TYPES = frozenset(
    {
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    }
)
WORD_HINT = "Send screenshots as image files (PNG or JPEG), not inside Word documents."
ALLOWED_TYPES_HINT = "Allowed: PNG, JPEG, GIF, WEBP, PDF, TXT and LOG files up to 10 MB."


class AttachmentRejected(ValidationFailed):
    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message, field="attachment", hint=hint)


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[1].lower() if "." in filename else ""


def clean_filename(filename: str | None) -> str:
    """The last path component, without control characters, at most 150 characters."""
    name = re.split(r"[\\/]", (filename or "").strip())[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".") or ""
    if len(name) > 150:
        extension = _extension(name)
        name = name[: 150 - len(extension) - 1] + "." + extension if extension else name[:150]
    return name


def check_attachment(filename: str | None, content_type: str | None, size_bytes: int) -> tuple[str, str]:
    """Validate one attachment; returns its clean file name and canonical content type."""
    name = clean_filename(filename)
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    extension = _extension(name)
    if extension in WORD_EXTENSIONS or declared in WORD_CONTENT_TYPES:
        raise AttachmentRejected(f"'{name or 'attachment'}' is a Word document.", hint=WORD_HINT)
    if not name:
        raise AttachmentRejected("The attachment has no file name.", hint=ALLOWED_TYPES_HINT)
    allowed = ALLOWED_ATTACHMENT_TYPES.get(extension)
    if allowed is None:
        raise AttachmentRejected(f"'{name}' is not a file type we accept.", hint=ALLOWED_TYPES_HINT)
    canonical, accepted = allowed
    if declared and declared != OCTET_STREAM and declared not in accepted:
        raise AttachmentRejected(
            f"'{name}' is declared as {declared}, which does not match a .{extension} file.",
            hint=ALLOWED_TYPES_HINT,
        )
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes <= 0:
        raise AttachmentRejected(f"'{name}' is empty.", hint="Attach the file again; it arrived without content.")
    if size_bytes > MAX_ATTACHMENT_BYTES:
        raise AttachmentRejected(
            f"'{name}' is {size_bytes / 1024 / 1024:.1f} MB; the limit is 10 MB.",
            hint="Crop or compress the screenshot, or send several smaller files.",
        )
    return name, canonical


def attachment_key(ticket_id: str, attachment_id: str, filename: str) -> str:
    """The S3 object key of an attachment: unique per attachment, safe characters only."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "file"
    return f"tickets/{ticket_id}/{attachment_id}/{safe}"


@dataclass(frozen=True)
class TicketAttachment:
    id: str
    key: str  # S3 object key
    filename: str
    content_type: str
    size_bytes: int
    uploaded_by: str
    uploaded_at: datetime


# --- time entries -------------------------------------------------------------------------

MAX_MINUTES_PER_ENTRY = 24 * 60


class NonBillableWithoutReason(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(
            "A non-billable time entry needs a reason.",
            field="reason",
            hint="Say why the time is not charged, e.g. 'warranty case' or 'our mistake'; it appears on the service report.",
        )


@dataclass(frozen=True)
class TimeEntry:
    id: str
    ticket_id: str
    customer_id: str
    technician_id: str
    work_date: date
    minutes: int
    billable: bool
    description: str
    recorded_at: datetime
    reason: str | None = None  # why not billable; required then
    service_report_id: str | None = None  # set once a service report lists it

    @property
    def hours(self) -> Decimal:
        return hours_of(self.minutes)


def hours_of(minutes: int) -> Decimal:
    """Minutes as hours for display, rounded half-up to two decimals (20 min → 0.33)."""
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def validate_time_entry(
    *, minutes: int, work_date: date, billable: bool, reason: str | None, now: datetime
) -> str | None:
    """Check a time entry's shape; returns the cleaned reason."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ValidationFailed(
            "The duration must be a positive whole number of minutes.", field="minutes", hint="Enter e.g. 15 or 90."
        )
    if minutes > MAX_MINUTES_PER_ENTRY:
        raise ValidationFailed(
            f"{minutes} minutes is more than one day.", field="minutes", hint="Record one entry per working day."
        )
    if work_date > berlin_date(now):
        raise ValidationFailed(
            f"The work date {work_date.isoformat()} lies in the future.",
            field="workDate",
            hint="Record time once the work is done.",
        )
    cleaned = (reason or "").strip() or None
    if not billable and cleaned is None:
        raise NonBillableWithoutReason()
    if cleaned is not None and len(cleaned) > 500:
        raise ValidationFailed("The reason is longer than 500 characters.", field="reason")
    return cleaned


class TimeEntryReported(Conflict):
    def __init__(self, entry: "TimeEntry") -> None:
        super().__init__(
            f"The time entry {entry.id} is on service report {entry.service_report_id}: it was sent and billed as it is.",
            field="timeEntryId",
            hint="A reported entry is not changed: correct the invoice with a credit note; record further work as a new entry.",
        )


# --- the ticket ---------------------------------------------------------------------------

SUBJECT_MAX = 200
DESCRIPTION_MAX = 50_000
COMMENT_MAX = 20_000
STATUS_NOTE_MAX = 2_000
NO_SUBJECT = "(no subject)"
TRUNCATION_MARK = "\n\n[shortened: the full text is kept with the original message]"


@dataclass(frozen=True)
class CommentOutcome:
    comment: TicketComment
    status_event: TicketEvent | None = None  # the customer's comment moved the ticket back to IN_PROGRESS


@dataclass
class Ticket:
    id: str
    number: str
    distributor_id: str
    customer_id: str
    channel: TicketChannel
    subject: str
    description: str
    reporter: Reporter
    received_at: datetime
    status: TicketStatus = TicketStatus.NEW
    assignee_id: str | None = None
    comments: list[TicketComment] = field(default_factory=list)
    attachments: list[TicketAttachment] = field(default_factory=list)
    time_entries: list[TimeEntry] = field(default_factory=list)
    history: list[TicketEvent] = field(default_factory=list)
    source_key: str | None = None  # e-mail Message-ID, alert id or maintenance key: one source, one ticket
    software_update: SoftwareUpdate | None = None  # the update of software that interrupts users this ticket requests
    branch_key: str | None = None  # the customer's branch the work is delivered at (None: head office)
    version: int = 0  # optimistic locking; infra increments it

    @property
    def is_closed(self) -> bool:
        return self.status is TicketStatus.CLOSED

    @property
    def allowed_next_statuses(self) -> tuple[TicketStatus, ...]:
        return tuple(ALLOWED_TRANSITIONS[self.status])

    def _require_open(self, what: str) -> None:
        if self.is_closed:
            raise TicketClosed(self.number, what)

    def _record(self, kind: TicketEventKind, at: datetime, actor: str, *, internal: bool = False, **details: str) -> TicketEvent:
        event = TicketEvent(kind, ensure_utc(at), actor, {k: v for k, v in details.items() if v is not None}, internal)
        self.history.append(event)
        return event

    # -- workflow -------------------------------------------------------------------------

    def change_status(self, new_status: TicketStatus, *, actor: str, now: datetime, note: str | None = None) -> TicketEvent:
        """``note`` (optional, at most ``STATUS_NOTE_MAX`` characters) says why, in the status history."""
        note = require_text(note, "note", label="The status note", max_length=STATUS_NOTE_MAX) if (note or "").strip() else None
        if new_status not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidStatusTransition(self.status, new_status)
        old = self.status
        if new_status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and self.software_update and not self.software_update.is_final:
            self.software_update = cancel_software_update(self.software_update, by=actor, now=now)
            self._record(TicketEventKind.SOFTWARE_UPDATE, now, actor, state=self.software_update.state.value)
        self.status = new_status
        return self._record(
            TicketEventKind.STATUS_CHANGED, now, actor, **{"from": old.value, "to": new_status.value, "note": note}
        )

    def check_software_update_step(self) -> SoftwareUpdate:
        """The ticket's update request, if a step of it may be taken now: not on another ticket, nor a resolved or
        closed one (the update was called off, or is done)."""
        if self.software_update is None:
            raise ValidationFailed(f"Ticket {self.number} is no software update request.", field="ticketId",
                                   hint="Request an update of software that interrupts users with softwareUpdateRequest.")
        self._require_open("a step of its software update")
        if self.status is TicketStatus.RESOLVED:
            raise Conflict(f"Ticket {self.number} is resolved; its software update takes no further step.", field="ticketId",
                           hint="A resolved request is called off for good: request the update again with softwareUpdateRequest.")
        return self.software_update

    def record_software_update(
        self, update: SoftwareUpdate, *, actor: str, now: datetime, status: TicketStatus, **details: str | None
    ) -> TicketEvent | None:
        """Keep ``update`` (checked by ``domain.software_updates``) and move the ticket to ``status`` unless it is there;
        the status change event, if any, is returned (it notifies like every status change)."""
        self.check_software_update_step()
        if status is not self.status and status not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidStatusTransition(self.status, status)
        self.software_update = update
        self._record(TicketEventKind.SOFTWARE_UPDATE, now, actor, state=update.state.value, **details)
        if status is self.status:
            return None
        return self.change_status(status, actor=actor, now=now)

    def assign(self, technician_id: str | None, *, actor: str, now: datetime) -> TicketEvent | None:
        """Set (or with ``None`` clear) the technician; ``None`` when nothing changed."""
        self._require_open("assigning it")
        if technician_id == self.assignee_id:
            return None
        previous = self.assignee_id
        self.assignee_id = technician_id
        if technician_id is None:
            return self._record(TicketEventKind.UNASSIGNED, now, actor, previous=previous)
        return self._record(TicketEventKind.ASSIGNED, now, actor, assignee=technician_id, previous=previous)

    def set_branch(self, branch_key: str | None, *, actor: str, now: datetime) -> TicketEvent | None:
        """Name the branch the work is delivered at (checked by the caller; ``None``: the head office); ``None`` when
        nothing changed. Time reported already keeps the branch its report names."""
        branch_key = branch_key or None
        if branch_key == self.branch_key:
            return None
        previous, self.branch_key = self.branch_key, branch_key
        return self._record(TicketEventKind.BRANCH_CHANGED, now, actor, branch=branch_key or "", previous=previous or "")

    def add_comment(
        self,
        *,
        author: str,
        body: str,
        now: datetime,
        by_staff: bool,
        internal: bool = False,
        id_factory: IdFactory | None = None,
        reopens: bool = True,
    ) -> CommentOutcome:
        """A customer's comment puts a ticket waiting for the customer, or resolved, back in progress; an automatic
        reply (an out-of-office answering a ticket e-mail: ``reopens=False``) is kept but moves nothing."""
        self._require_open("commenting")
        if internal and not by_staff:
            raise ValidationFailed(
                "Only service staff can write internal notes.",
                field="internal",
                hint="Write a normal comment; the technician will see it.",
            )
        text = require_text(body, "body", label="The comment", max_length=COMMENT_MAX)
        comment = TicketComment(_new_id("cmt", id_factory), author, text, ensure_utc(now), internal, by_staff)
        self.comments.append(comment)
        kind = TicketEventKind.INTERNAL_NOTE_ADDED if internal else TicketEventKind.COMMENT_ADDED
        self._record(kind, now, author, internal=internal, comment_id=comment.id)
        status_event = None
        if reopens and not by_staff and self.status in REOPENED_BY_CUSTOMER_COMMENT:
            status_event = self.change_status(TicketStatus.IN_PROGRESS, actor=author, now=now, note="customer replied")
        return CommentOutcome(comment, status_event)

    def add_attachment(
        self,
        *,
        filename: str,
        content_type: str,
        size_bytes: int,
        uploaded_by: str,
        now: datetime,
        id_factory: IdFactory | None = None,
    ) -> TicketAttachment:
        self._require_open("adding attachments")
        name, canonical_type = check_attachment(filename, content_type, size_bytes)
        if len(self.attachments) >= MAX_ATTACHMENTS_PER_TICKET:
            raise ValidationFailed(
                f"A ticket holds at most {MAX_ATTACHMENTS_PER_TICKET} attachments.",
                field="attachment",
                hint="Open a new ticket for a new problem, or send a PDF with several pages.",
            )
        attachment_id = _new_id("att", id_factory)
        attachment = TicketAttachment(
            id=attachment_id,
            key=attachment_key(self.id, attachment_id, name),
            filename=name,
            content_type=canonical_type,
            size_bytes=size_bytes,
            uploaded_by=uploaded_by,
            uploaded_at=ensure_utc(now),
        )
        self.attachments.append(attachment)
        self._record(TicketEventKind.ATTACHMENT_ADDED, now, uploaded_by, attachment_id=attachment_id, filename=name)
        return attachment

    def record_time(
        self,
        *,
        technician_id: str,
        work_date: date,
        minutes: int,
        billable: bool,
        description: str,
        now: datetime,
        reason: str | None = None,
        id_factory: IdFactory | None = None,
    ) -> TimeEntry:
        self._require_open("recording time")
        cleaned_reason = validate_time_entry(minutes=minutes, work_date=work_date, billable=billable, reason=reason, now=now)
        entry = TimeEntry(
            id=_new_id("tim", id_factory),
            ticket_id=self.id,
            customer_id=self.customer_id,
            technician_id=technician_id,
            work_date=work_date,
            minutes=minutes,
            billable=billable,
            description=require_text(description, "description", label="The work description", max_length=2000),
            recorded_at=ensure_utc(now),
            reason=cleaned_reason,
        )
        self.time_entries.append(entry)
        self._record(
            TicketEventKind.TIME_RECORDED,
            now,
            technician_id,
            internal=True,
            entry_id=entry.id,
            minutes=str(minutes),
            billable="true" if billable else "false",
        )
        return entry

    def _unreported_entry(self, entry_id: str) -> tuple[int, TimeEntry]:
        for index, entry in enumerate(self.time_entries):
            if entry.id == entry_id:
                if entry.service_report_id is not None:
                    raise TimeEntryReported(entry)
                return index, entry
        raise NotFound(f"Ticket {self.number} has no time entry '{entry_id}'.", field="timeEntryId")

    def correct_time(
        self,
        entry_id: str,
        *,
        technician_id: str,
        work_date: date,
        minutes: int,
        billable: bool,
        description: str,
        actor: str,
        now: datetime,
        reason: str | None = None,
    ) -> TimeEntry:
        """Replace an unreported entry's values (validated as a new entry); its id and recording time stay."""
        index, before = self._unreported_entry(entry_id)
        cleaned_reason = validate_time_entry(minutes=minutes, work_date=work_date, billable=billable, reason=reason, now=now)
        corrected = replace(
            before, technician_id=technician_id, work_date=work_date, minutes=minutes, billable=billable,
            description=require_text(description, "description", label="The work description", max_length=2000),
            reason=cleaned_reason,
        )
        if corrected == before:
            return before
        self.time_entries[index] = corrected
        self._record(
            TicketEventKind.TIME_CORRECTED, now, actor, internal=True, entry_id=entry_id,
            minutes=str(minutes), billable="true" if billable else "false", work_date=work_date.isoformat(),
            previous_minutes=str(before.minutes), previous_billable="true" if before.billable else "false",
            previous_work_date=before.work_date.isoformat(),
        )
        return corrected

    def delete_time(self, entry_id: str, *, actor: str, now: datetime) -> TimeEntry:
        """Remove an unreported entry; the history keeps what it was."""
        index, entry = self._unreported_entry(entry_id)
        del self.time_entries[index]
        self._record(
            TicketEventKind.TIME_DELETED, now, actor, internal=True, entry_id=entry_id, minutes=str(entry.minutes),
            billable="true" if entry.billable else "false", work_date=entry.work_date.isoformat(),
        )
        return entry

    def mark_reported(self, report: "ServiceReport", *, now: datetime) -> None:
        """Remember that ``report`` lists this ticket's entries, so no later report lists them again."""
        listed = {line.entry_id for line in report.lines if line.ticket_id == self.id}
        if not listed:
            return
        self.time_entries = [
            replace(entry, service_report_id=report.id) if entry.id in listed else entry
            for entry in self.time_entries
        ]
        self._record(TicketEventKind.SERVICE_REPORTED, now, "system", service_report_id=report.id)

    @property
    def unreported_entries(self) -> list[TimeEntry]:
        return [entry for entry in self.time_entries if entry.service_report_id is None]


def _fit(text: str, limit: int, marker: str) -> str:
    return text if len(text) <= limit else text[: limit - len(marker)].rstrip() + marker


def fit_comment(text: str) -> str:
    """A machine channel's comment (an e-mail reply, a system note): shortened with a marker to ``COMMENT_MAX``,
    never refused for its length (the raw e-mail stays in S3)."""
    return _fit(text.strip(), COMMENT_MAX, TRUNCATION_MARK)


def open_ticket(
    *,
    ticket_id: str,
    number: str,
    distributor_id: str,
    customer_id: str,
    channel: TicketChannel,
    subject: str | None,
    description: str | None,
    reporter: Reporter,
    received_at: datetime,
    actor: str,
    now: datetime,
    source_key: str | None = None,
    branch_key: str | None = None,
) -> Ticket:
    """A new ticket in status NEW, numbered by infra (``format_ticket_number``); ``branch_key`` checked by the caller."""
    parse_ticket_number(number)
    if channel is TicketChannel.EMAIL and "@" not in (reporter.email or ""):
        # Deliberately no stricter check: whatever address the mail came from, the mail becomes a ticket.
        raise ValidationFailed("An e-mail ticket needs the sender's address.", field="reporter.email")
    if channel is TicketChannel.PORTAL and not reporter.user_id:
        raise ValidationFailed("A portal ticket is reported by a portal user.", field="reporter.userId")
    if channel in MACHINE_CHANNELS:
        clean_subject = _fit(" ".join((subject or "").split()) or NO_SUBJECT, SUBJECT_MAX, "…")
        clean_description = _fit((description or "").strip(), DESCRIPTION_MAX, TRUNCATION_MARK)
    else:
        clean_subject = require_text(subject, "subject", label="The subject", max_length=SUBJECT_MAX)
        clean_description = require_text(description, "description", label="The description", max_length=DESCRIPTION_MAX)
    ticket = Ticket(
        id=ticket_id,
        number=number.strip().upper(),
        distributor_id=distributor_id,
        customer_id=customer_id,
        channel=channel,
        subject=clean_subject,
        description=clean_description,
        reporter=reporter,
        received_at=ensure_utc(received_at),
        source_key=source_key,
        branch_key=branch_key or None,
    )
    ticket._record(TicketEventKind.CREATED, now, actor, channel=channel.value, number=ticket.number)
    return ticket


# --- monitoring alerts --------------------------------------------------------------------


class AlertKind(str, Enum):
    DISK_FILLING_UP = "DISK_FILLING_UP"
    BACKUP_FAILED = "BACKUP_FAILED"
    VM_CRASHED = "VM_CRASHED"
    OTHER = "OTHER"


ALERT_SUBJECTS = {
    AlertKind.DISK_FILLING_UP: "Disk filling up on {host}",
    AlertKind.BACKUP_FAILED: "Backup failed on {host}",
    AlertKind.VM_CRASHED: "Virtual server {host} crashed",
    AlertKind.OTHER: "Monitoring alert on {host}",
}


@dataclass(frozen=True)
class MonitoringAlert:
    """What a 24/7 agent sensor reported; the monitoring team decides whether it becomes a ticket."""

    alert_id: str
    customer_id: str
    kind: AlertKind
    host: str
    sensor: str
    message: str
    raised_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "alert_id", require_text(self.alert_id, "alertId", label="The alert id", max_length=100))
        object.__setattr__(self, "host", require_text(self.host, "host", label="The host", max_length=200))
        object.__setattr__(self, "sensor", require_text(self.sensor, "sensor", label="The sensor", max_length=200))
        object.__setattr__(self, "message", require_text(self.message, "message", label="The alert message", max_length=5000))
        if self.raised_at.tzinfo is None or self.raised_at.utcoffset() is None:
            raise ValidationFailed("Give the time the alert was raised with its time zone, e.g. 2026-11-23T03:12:00Z.",
                                   field="raisedAt")
        object.__setattr__(self, "raised_at", ensure_utc(self.raised_at))


def alert_source_key(alert: MonitoringAlert) -> str:
    return f"alert#{alert.alert_id}"


def alert_ticket_id(alert: MonitoringAlert) -> str:
    """One ticket per customer and alert: qualifying an alert again derives the same id, and the store refuses a second."""
    return "tkt_" + hashlib.sha256(f"alert|{alert.customer_id}|{alert.alert_id}".encode()).hexdigest()[:20]


def qualify_alert(
    alert: MonitoringAlert,
    *,
    ticket_id: str,
    number: str,
    distributor_id: str,
    qualified_by: str,
    now: datetime,
    subject: str | None = None,
    note: str | None = None,
) -> Ticket:
    """The ticket the monitoring team makes of ``alert``; received when the sensor raised it."""
    description = "\n".join(
        part
        for part in (
            f"Sensor: {alert.sensor}",
            f"Host: {alert.host}",
            f"Raised: {format_utc(alert.raised_at)}",
            "",
            alert.message.strip(),
            "" if note else None,
            f"Monitoring team: {note.strip()}" if note else None,
        )
        if part is not None
    )
    return open_ticket(
        ticket_id=ticket_id,
        number=number,
        distributor_id=distributor_id,
        customer_id=alert.customer_id,
        channel=TicketChannel.MONITORING,
        subject=subject or ALERT_SUBJECTS[alert.kind].format(host=alert.host),
        description=description,
        reporter=Reporter(user_id=qualified_by, name="Monitoring"),
        received_at=alert.raised_at,
        actor=qualified_by,
        now=now,
        source_key=alert_source_key(alert),
    )


# --- e-mail triage --------------------------------------------------------------------------

TRIAGE_PREVIEW_CHARS = 280
DISMISSAL_REASON_MAX = 500


class TriageDecision(str, Enum):
    TICKET_CREATED = "TICKET_CREATED"
    DISMISSED = "DISMISSED"


@dataclass(frozen=True)
class EmailTriage:
    """What service staff decided about an e-mail awaiting triage (see the module docstring)."""

    decision: TriageDecision
    by: str  # the staff user's id
    at: datetime
    customer_id: str | None = None  # TICKET_CREATED: whose ticket it became
    reason: str | None = None  # DISMISSED: why (spam, not for us)


def triage_preview(body: str | None) -> str | None:
    """The start of an e-mail's text, whitespace collapsed: recorded on arrival, so the triage list reads no raw messages."""
    return _fit(" ".join((body or "").split()), TRIAGE_PREVIEW_CHARS, "…") or None


def ticket_made_of_email(*, customer_id: str, by: str, now: datetime) -> EmailTriage:
    return EmailTriage(TriageDecision.TICKET_CREATED, by, ensure_utc(now), customer_id=customer_id)


def email_dismissed(*, reason: str | None, by: str, now: datetime) -> EmailTriage:
    """A dismissal needs a reason (spam, not for us), so whoever looks at the raw message later knows why."""
    text = require_text(reason, "reason", label="The reason for dismissing the e-mail", max_length=DISMISSAL_REASON_MAX)
    return EmailTriage(TriageDecision.DISMISSED, by, ensure_utc(now), reason=text)


# --- notifications ------------------------------------------------------------------------


class NotificationKind(str, Enum):
    NEW_TICKET = "NEW_TICKET"  # to the onboarding contacts for new tickets
    STATUS_CHANGED = "STATUS_CHANGED"  # to the onboarding contacts for status changes
    RECEIPT = "RECEIPT"  # to the sender of an e-mail ticket: number and received timestamp
    SOFTWARE_UPDATE = "SOFTWARE_UPDATE"  # a step of a software update request, to the status contacts and the requester


@dataclass(frozen=True)
class TicketNotification:
    """An e-mail to send; same fields as ``ports.EmailMessage`` plus what it is about."""

    kind: NotificationKind
    ticket_id: str
    to: tuple[str, ...]
    subject: str
    body: str


def _received_text(instant: datetime) -> str:
    berlin = ensure_utc(instant).astimezone(BERLIN)
    return f"{format_utc(instant)} ({berlin.strftime('%d.%m.%Y %H:%M')} Berlin time)"


# Whose reporter gets the receipt: the sender of an e-mail, and a hotline caller who gave an address (or is a user);
# a portal user sees the number and time on screen.
RECEIPT_CHANNELS = frozenset({TicketChannel.EMAIL, TicketChannel.HOTLINE})


RECEIPT_REFUSALS_LISTED = 10  # refused attachments a receipt names one by one; the rest are counted


def receipt_for(ticket: Ticket, *, refused_attachments: Iterable[str] = ()) -> TicketNotification:
    """Confirms a ticket to whoever reported it by e-mail or phone, with the ticket number and the received timestamp.

    ``refused_attachments``: the e-mail's attachments not taken over, each with why (``check_attachment``'s message
    and hint: a Word document → send screenshots as image files). The receipt names them, so the sender does not
    believe the technician has them.
    """
    if not ticket.reporter.email:
        raise ValidationFailed("The reporter has no e-mail address to confirm to.", field="reporter.email")
    what = "call" if ticket.channel is TicketChannel.HOTLINE else "message"
    tag = subject_tag(ticket.number)
    body = (
        f"Your {what} was received on {_received_text(ticket.received_at)} "
        f"and registered as ticket {ticket.number}.\n"
        f"Reply to this e-mail to add information to the ticket; keep {tag} in the subject."
    )
    refused = list(refused_attachments)
    if refused:
        listed = [f"- {reason}" for reason in refused[:RECEIPT_REFUSALS_LISTED]]
        if len(refused) > RECEIPT_REFUSALS_LISTED:
            listed.append(f"- and {len(refused) - RECEIPT_REFUSALS_LISTED} more attachments.")
        one = len(refused) == 1
        body += (
            f"\n\n{'This attachment was' if one else f'These {len(refused)} attachments were'} not accepted: "
            f"{'it is' if one else 'they are'} not on the ticket, so the technician does not have {'it' if one else 'them'}.\n"
            + "\n".join(listed)
            + f"\nPlease send {'it' if one else 'them'} again as described, in a reply to this e-mail (keep {tag} in the subject)."
        )
    return TicketNotification(
        kind=NotificationKind.RECEIPT,
        ticket_id=ticket.id,
        to=(ticket.reporter.email,),
        subject=f"{tag} Received: {ticket.subject}",
        body=body,
    )


def new_ticket_notifications(
    ticket: Ticket,
    onboarding: CustomerOnboarding | None,
    *,
    send_receipt: bool = True,
    refused_attachments: Iterable[str] = (),
) -> list[TicketNotification]:
    """The receipt for an e-mail or hotline ticket (unless the e-mail was an auto-reply, or the caller gave no address)
    and the notice to the chosen contacts. ``refused_attachments``: see ``receipt_for``.

    A contact who reported the ticket by e-mail or phone gets the receipt only, not the notice as well.
    """
    notifications: list[TicketNotification] = []
    receipt_to: str | None = None
    if ticket.channel in RECEIPT_CHANNELS and send_receipt and ticket.reporter.email:
        notifications.append(receipt_for(ticket, refused_attachments=refused_attachments))
        receipt_to = ticket.reporter.email.casefold()
    contacts = tuple(
        address
        for address in (onboarding.notify_on_new_ticket if onboarding else ())
        if address.casefold() != receipt_to
    )
    if contacts:
        notifications.append(
            TicketNotification(
                kind=NotificationKind.NEW_TICKET,
                ticket_id=ticket.id,
                to=contacts,
                subject=f"{subject_tag(ticket.number)} New ticket: {ticket.subject}",
                body=(
                    f"Ticket {ticket.number} was opened via {ticket.channel.value.lower()} "
                    f"by {ticket.reporter.label} on {_received_text(ticket.received_at)}.\n\n"
                    f"{ticket.description}"
                ),
            )
        )
    return notifications


def status_change_notification(
    ticket: Ticket, event: TicketEvent, onboarding: CustomerOnboarding | None
) -> TicketNotification | None:
    """The notice of a status change to the contacts chosen at onboarding, if any."""
    if event.kind is not TicketEventKind.STATUS_CHANGED:
        raise ValueError(f"{event.kind.value} is not a status change")
    contacts = onboarding.notify_on_ticket_status_change if onboarding else ()
    if not contacts:
        return None
    old, new = event.details["from"], event.details["to"]
    return TicketNotification(
        kind=NotificationKind.STATUS_CHANGED,
        ticket_id=ticket.id,
        to=tuple(contacts),
        subject=f"{subject_tag(ticket.number)} Status {new.replace('_', ' ').lower()}: {ticket.subject}",
        body=f"Ticket {ticket.number} changed from {old} to {new} on {_received_text(event.at)}.",
    )


def software_update_notification(
    ticket: Ticket, before: SoftwareUpdate, status_event: TicketEvent | None, onboarding: CustomerOnboarding | None
) -> TicketNotification | None:
    """The notice of a step of the ticket's software update (from ``before`` to the ticket's), with the status change
    it made if any (it replaces that status notice): to the contacts chosen for status changes and to the requester
    (the reporter's address), once each."""
    recipients: list[str] = []
    for address in (*(onboarding.notify_on_ticket_status_change if onboarding else ()), ticket.reporter.email or ""):
        if address and address.casefold() not in {known.casefold() for known in recipients}:
            recipients.append(address)
    if not recipients or ticket.software_update is None:
        return None
    headline, body = step_notice(before, ticket.software_update)
    if status_event is not None:
        body += (f"\n\nTicket {ticket.number} changed from {status_event.details['from']} to {status_event.details['to']} "
                 f"on {_received_text(status_event.at)}.")
    return TicketNotification(
        kind=NotificationKind.SOFTWARE_UPDATE, ticket_id=ticket.id, to=tuple(recipients),
        subject=f"{subject_tag(ticket.number)} {headline}", body=body,
    )


# --- service reports ----------------------------------------------------------------------


class ServiceReportScope(str, Enum):
    TICKET = "TICKET"
    PERIOD = "PERIOD"


@dataclass(frozen=True)
class ServiceReportLine:
    entry_id: str
    ticket_id: str
    ticket_number: str
    work_date: date
    technician_id: str
    minutes: int
    billable: bool
    description: str
    reason: str | None
    branch_key: str | None = None  # the branch the ticket named when the report was made (None: head office)

    @property
    def hours(self) -> Decimal:
        return hours_of(self.minutes)


@dataclass(frozen=True)
class ServiceReport:
    """Every time entry of a ticket or period, billable and not; an invoice line refers to its id.

    Only the billable minutes reach an invoice (``billable_amount``) or a prepaid quota.
    """

    id: str
    customer_id: str
    scope: ServiceReportScope
    first_day: date
    last_day: date
    lines: tuple[ServiceReportLine, ...]
    created_at: datetime
    ticket_id: str | None = None

    @property
    def billable_minutes(self) -> int:
        return sum(line.minutes for line in self.lines if line.billable)

    @property
    def non_billable_minutes(self) -> int:
        return sum(line.minutes for line in self.lines if not line.billable)

    @property
    def billable_hours(self) -> Decimal:
        return hours_of(self.billable_minutes)

    @property
    def non_billable_hours(self) -> Decimal:
        return hours_of(self.non_billable_minutes)

    def billable_amount(self, hourly_rate: Money) -> Money:
        """Billable minutes × rate ÷ 60, rounded half-up to the cent once."""
        return Money(round_cents(hourly_rate.amount * Decimal(self.billable_minutes) / Decimal(60)), hourly_rate.currency)


def service_report_id_for(entry_ids: Iterable[str]) -> str:
    """The same entries give the same id: building a report twice (a retried job) cannot make two."""
    key = "|".join(sorted(entry_ids))
    return "srv_" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _build_report(
    *,
    customer_id: str,
    scope: ServiceReportScope,
    tickets: Iterable[Ticket],
    selected: Callable[[TimeEntry], bool],
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
    ticket_id: str | None = None,
) -> ServiceReport:
    lines: list[ServiceReportLine] = []
    for ticket in tickets:
        if ticket.customer_id != customer_id:
            raise ValidationFailed(
                f"Ticket {ticket.number} belongs to another customer.", field="ticketIds"
            )
        for entry in ticket.time_entries:
            if entry.service_report_id is not None or not selected(entry):
                continue
            lines.append(
                ServiceReportLine(
                    entry_id=entry.id,
                    ticket_id=ticket.id,
                    ticket_number=ticket.number,
                    work_date=entry.work_date,
                    technician_id=entry.technician_id,
                    minutes=entry.minutes,
                    billable=entry.billable,
                    description=entry.description,
                    reason=entry.reason,
                    branch_key=ticket.branch_key,
                )
            )
    if not lines:
        raise ValidationFailed(
            "There is no unreported time to put on a service report.",
            hint="Time entries already listed on a report are not listed again.",
        )
    lines.sort(key=lambda line: (line.work_date, line.ticket_number, line.entry_id))
    return ServiceReport(
        id=service_report_id_for(line.entry_id for line in lines),
        customer_id=customer_id,
        scope=scope,
        first_day=first_day or lines[0].work_date,
        last_day=last_day or lines[-1].work_date,
        lines=tuple(lines),
        created_at=ensure_utc(now),
        ticket_id=ticket_id,
    )


def service_report_for_ticket(ticket: Ticket, *, now: datetime) -> ServiceReport:
    """Every not yet reported entry of one ticket."""
    return _build_report(
        customer_id=ticket.customer_id,
        scope=ServiceReportScope.TICKET,
        tickets=[ticket],
        selected=lambda entry: True,
        now=now,
        ticket_id=ticket.id,
    )


def service_report_for_period(
    customer_id: str, tickets: Iterable[Ticket], *, first_day: date, last_day: date, now: datetime
) -> ServiceReport:
    """Every not yet reported entry of the customer's tickets worked from ``first_day`` to ``last_day`` inclusive."""
    if last_day < first_day:
        raise ValidationFailed("The period ends before it starts.", field="lastDay")
    return _build_report(
        customer_id=customer_id,
        scope=ServiceReportScope.PERIOD,
        tickets=tickets,
        selected=lambda entry: first_day <= entry.work_date <= last_day,
        now=now,
        first_day=first_day,
        last_day=last_day,
    )


def service_report_recipient(customer: Organisation) -> str:
    """The address chosen at onboarding for service reports, else the billing address."""
    chosen = customer.onboarding.service_report_email if customer.onboarding else None
    return chosen or customer.billing_email


# --- who may see and do what --------------------------------------------------------------


def _is_own_customer_user(principal: Principal, customer_id: str) -> bool:
    return (
        principal.is_customer
        and principal.organisation_id == customer_id
        and principal.permission_level in (PermissionLevel.REPORT_ONLY, PermissionLevel.EXTENDED)
    )


def _is_extended_user_of(principal: Principal, customer_id: str) -> bool:
    return _is_own_customer_user(principal, customer_id) and principal.permission_level is PermissionLevel.EXTENDED


def _is_linked_partner(principal: Principal, customer: Organisation) -> bool:
    # can_view_organisation grants a partner exactly when it is linked and has general access.
    return principal.is_partner and customer.kind is OrganisationKind.CUSTOMER and can_view_organisation(principal, customer)


def sees_only_own_tickets(principal: Principal) -> bool:
    """A report-only user sees the tickets they reported, never their colleagues': the organisation's support history
    is for extended users (DOMAIN.md: report only "may open tickets, comment, see own tickets")."""
    return principal.is_customer and principal.permission_level is PermissionLevel.REPORT_ONLY


def _is_reporter(principal: Principal, ticket: Ticket) -> bool:
    return ticket.reporter.user_id is not None and ticket.reporter.user_id == principal.user_id


def can_view_tickets_of(principal: Principal, customer: Organisation) -> bool:
    """List tickets of ``customer``: all of them, or, for a report-only user, those they reported
    (``sees_only_own_tickets``)."""
    if principal.is_distributor:
        return True
    return _is_own_customer_user(principal, customer.id) or _is_linked_partner(principal, customer)


def can_view_ticket(principal: Principal, ticket: Ticket, customer: Organisation) -> bool:
    if customer.id != ticket.customer_id:
        raise ValueError("customer must be the ticket's organisation")
    if sees_only_own_tickets(principal) and not _is_reporter(principal, ticket):
        return False
    return can_view_tickets_of(principal, customer)


def can_open_ticket(principal: Principal, customer: Organisation) -> bool:
    """Customer users in the portal; service staff for the hotline, on the customer's behalf."""
    return principal.is_distributor or _is_own_customer_user(principal, customer.id)


def can_comment_on_ticket(principal: Principal, ticket: Ticket) -> bool:
    if principal.is_distributor:
        return True
    if sees_only_own_tickets(principal) and not _is_reporter(principal, ticket):
        return False
    return _is_own_customer_user(principal, ticket.customer_id)


def can_add_attachment(principal: Principal, ticket: Ticket) -> bool:
    return can_comment_on_ticket(principal, ticket)


def is_ticket_mail_contact(address: str, ticket: Ticket, customer: Organisation) -> bool:
    """Whether ``address`` is one the ticket's customer chose at onboarding for its ticket e-mails, or the address the
    ticket's receipt went to: the sender whose e-mail the service desk made this ticket of (triage), or the address a
    hotline caller gave (whatever login that address has).

    Those contacts receive the notices of the customer's tickets, portal login or not, and that sender got the
    ticket's receipt, so their reply to it is a comment on it (authored by the address); only on that ticket
    (the sender) or on a ticket of that customer (the contacts).
    """
    if customer.id != ticket.customer_id:
        raise ValueError("customer must be the ticket's organisation")
    sender = address.strip().casefold()
    reporter = ticket.reporter
    # The address the receipt went to: typed on a hotline call (with or without a calling user) or the e-mail's sender.
    if ticket.channel in RECEIPT_CHANNELS and (reporter.email or "").casefold() == sender:
        return True
    onboarding = customer.onboarding
    if onboarding is None:
        return False
    contacts = {c.casefold() for c in (*onboarding.notify_on_new_ticket, *onboarding.notify_on_ticket_status_change)}
    return sender in contacts


def can_see_internal_notes(principal: Principal) -> bool:
    return principal.is_distributor


def can_work_on_tickets(principal: Principal) -> bool:
    """Change status, assign, write internal notes, record time: service desk and technicians."""
    return principal.is_distributor


def can_view_service_reports(principal: Principal, customer: Organisation) -> bool:
    return principal.is_distributor or _is_extended_user_of(principal, customer.id)


def can_view_service_statistics(principal: Principal, customer: Organisation) -> bool:
    return principal.is_distributor or _is_extended_user_of(principal, customer.id)


def can_view_contract_status(principal: Principal, customer: Organisation) -> bool:
    return principal.is_distributor or _is_extended_user_of(principal, customer.id)


def can_view_assets(principal: Principal, customer: Organisation) -> bool:
    return principal.is_distributor or _is_extended_user_of(principal, customer.id)


def can_manage_contracts_and_assets(principal: Principal) -> bool:
    return principal.is_distributor


def visible_comments(ticket: Ticket, principal: Principal) -> list[TicketComment]:
    if can_see_internal_notes(principal):
        return list(ticket.comments)
    return [comment for comment in ticket.comments if not comment.internal]


def visible_history(ticket: Ticket, principal: Principal) -> list[TicketEvent]:
    """Staff see everything; others never internal events, and the service-report event (which names the
    report) only with the level that may open service reports."""
    if can_see_internal_notes(principal):
        return list(ticket.history)
    sees_reports = _is_extended_user_of(principal, ticket.customer_id)
    return [
        event
        for event in ticket.history
        if not event.internal and (sees_reports or event.kind is not TicketEventKind.SERVICE_REPORTED)
    ]
