"""Inbound e-mail: SES stores each raw message in S3 under ``inbound/``; the S3 event runs this.

Every message gets exactly one recorded outcome in ``inbound_emails`` (keyed by the S3 key),
and the raw message is never deleted, so nothing is lost:

* ``TICKET_CREATED``: a known customer user wrote; the ticket gets the next number of the
  distributor and the received timestamp, attachments become ticket attachments (stored in
  S3), and the sender gets a receipt with both (not for auto-replies, to avoid mail loops) that names
  the attachments not taken over and why (a Word document: send screenshots as image files).
* ``COMMENT_ADDED``: the subject carries the number of a ticket the sender may comment on; a
  reply to a CLOSED ticket opens a new ticket that mentions the old one. Any other sender (no
  portal login, or a login at another organisation) comments too when the ticket's customer
  chose the address at onboarding for its ticket e-mails, or is the sender whose mail or call
  this ticket was made of (``domain.tickets.is_ticket_mail_contact``); the comment's author
  is the address. Such a reply never becomes a ticket of the sender's own organisation (that
  would copy the quoted ticket there); to a CLOSED ticket it is an ``UNKNOWN_SENDER``,
  recorded with that reason. The comment's id comes from the Message-ID: one mail stored
  twice is one comment (the second a ``DUPLICATE``). A reply longer than a comment may be is
  shortened with a marker (the raw message stays). A reply to a ticket that is full
  (``TicketFull``) opens a follow-up ticket of that customer, reported by the sender, that
  names the full one (the record is ``TICKET_CREATED`` with the reason), and the full ticket
  gets a comment naming the follow-up while it has room for that.
* ``UNKNOWN_SENDER``: the address belongs to no active customer user (partner or distributor
  staff writing other than a reply land here too), nor to a contact of the ticket it replies
  to. Nobody is answered (replying to unknown senders would answer spam and forged senders).
  The record, with the sender's name and the start of the text (``preview``), waits in the
  service desk's triage list (``inbound_emails.triage-index``, sparse; records written before
  it existed are not in it) until staff make a ticket of it for the customer they choose
  (``make_ticket_of``: as a known sender's ticket, received when the mail arrived, with its
  attachments, the receipt to the sender unless it is an automatic reply; ticket and record in
  one transaction; asking again returns the ticket) or dismiss it with a reason
  (``domain.services.tickets.dismiss_email``). The outcome stays ``UNKNOWN_SENDER``; the
  decision is the record's ``triage``.
* ``UNPARSABLE``: not a MIME message we can read (no sender); recorded with the reason.
* ``DUPLICATE``: the same Message-ID arrived under another key (SES retried); the first wins.
* ``AUTO_REPLY``: an automatic reply (``Auto-Submitted``, ``X-Autoreply``, ``X-Autorespond``, ``Precedence:
  bulk`` and the like: an out-of-office answering a ticket e-mail) to a CLOSED ticket, or to a ticket the sender
  may not comment on, opens no new ticket. To an open ticket it is a comment, but it neither reopens a resolved
  ticket nor takes one off "waiting for customer", so nobody is notified and no mail loop starts. Our own mails say
  they are automatic (``infra.email.mime_message``), so well-behaved autoresponders do not answer them at all.

An S3 event delivered twice finds the record of the first delivery and does nothing. The
ticket id is derived from the Message-ID (or the key), and the record, the ticket and its
comment are written in one transaction, so a crash before the commit leaves nothing half
done and a retry starts over. Attachments are put to S3 before the commit under keys derived
the same way (overwriting is harmless). Receipts go out after the commit: at most once.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.utils import getaddresses
from enum import Enum
from urllib.parse import unquote_plus

from domain import tickets as tk
from domain.errors import AlreadyExists, ConcurrentUpdate, Conflict, DomainError
from domain.organisations import Organisation, OrganisationKind, User
from domain.policy import Principal, require
from domain.ports import UNKNOWN_SENDER as AWAITS_TRIAGE
from domain.ports import InboundEmailRecord
from domain.services.tickets import (
    allocate_number,
    customer_for_ticket,
    distributor_id,
    inbound_email,
    not_awaiting_triage,
    send_notifications,
)
from infra.dynamo.models import UniqueClaimModel

log = logging.getLogger("partnerhub.inbound_email")

INBOUND_PREFIX = "inbound/"
MAX_RAW_BYTES = 40 * 1024 * 1024  # SES accepts up to 40 MB per message


class Outcome(str, Enum):
    TICKET_CREATED = "TICKET_CREATED"
    COMMENT_ADDED = "COMMENT_ADDED"
    UNKNOWN_SENDER = AWAITS_TRIAGE
    UNPARSABLE = "UNPARSABLE"
    DUPLICATE = "DUPLICATE"
    AUTO_REPLY = "AUTO_REPLY"


class UnparsableEmail(Exception):
    pass


@dataclass(frozen=True)
class TriagedTicket:
    ticket: tk.Ticket
    created: bool  # False: the e-mail became this ticket before
    email: InboundEmailRecord


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedEmail:
    sender: str
    sender_name: str | None
    subject: str
    body: str
    message_id: str | None = None
    auto_submitted: bool = False
    attachments: tuple[ParsedAttachment, ...] = field(default_factory=tuple)


# HTML to text in one forward pass. Each search starts where the last one stopped and the position only moves on,
# so the work is linear in the markup, whatever it holds. The regexes this replaces, and html.parser before Python
# 3.11.13 (CVE-2025-6069), search the rest of the markup again from every unclosed <style>, <script>, comment or tag:
# quadratic, 58 s for a 420 KB mail of "<style>" against the Lambda's 60 s. As at the end of an HTML5 document, an
# unclosed comment, <script> or <style> runs to the end of the markup and an unclosed tag is dropped.
HTML_TEXT_MAX = tk.DESCRIPTION_MAX  # characters of text kept: what a ticket description takes
HTML_MAX_TAGS = 100_000  # tags, comments and declarations read; a real mail has a few thousand
_RAW_TEXT_END = {"script": re.compile(r"</script", re.IGNORECASE), "style": re.compile(r"</style", re.IGNORECASE)}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
_LINE_BREAKS = frozenset({"br", "/p", "/div", "/li", "/tr", "/h1", "/h2", "/h3", "/h4", "/h5", "/h6"})


class HtmlText:
    """The text of an HTML body: tags, comments, <script> and <style> dropped, entities decoded, line breaks for
    <br> and the end of a paragraph, division, list item, table row or heading.

    At most ``HTML_TEXT_MAX`` characters of text and ``HTML_MAX_TAGS`` tags are read; what is cut off ends with
    ``tk.TRUNCATION_MARK`` (the raw message keeps it all). ``examined`` counts the characters the searches looked
    at: each search starts where the last one stopped (an end tag of <script> or <style> is looked at twice), so it
    is at most twice the markup's length; ``tags`` counts the markup read.
    """

    def __init__(self, markup: str) -> None:
        self.markup = markup
        self.examined = 0
        self.tags = 0
        self.truncated = False
        self._pieces: list[str] = []
        self._kept = 0
        self._convert()
        self.text = "".join(self._pieces) + (tk.TRUNCATION_MARK if self.truncated else "")

    def _find(self, needle: str, start: int) -> int:
        """The next ``needle`` from ``start``, or -1; counts the characters looked at."""
        found = self.markup.find(needle, start)
        self.examined += (found + len(needle) if found >= 0 else len(self.markup)) - start
        return found

    def _search(self, pattern: re.Pattern[str], start: int) -> int:
        match = pattern.search(self.markup, start)
        self.examined += (match.end() if match else len(self.markup)) - start
        return match.start() if match else -1

    def _keep(self, source: str) -> bool:
        """Keep ``source`` (entities decoded) up to the limit; False once the limit is reached."""
        room = HTML_TEXT_MAX - self._kept
        # A named entity is at most 33 characters: 40 per character of room is enough to fill it, and bounds the work.
        cut = len(source) > 40 * room
        text = html.unescape(source[: 40 * room] if cut else source)
        if cut or len(text) > room:
            text, self.truncated = text[:room], True
        self._pieces.append(text)
        self._kept += len(text)
        return not self.truncated

    def _convert(self) -> None:
        markup, end, pos = self.markup, len(self.markup), 0
        while pos < end:
            opening = self._find("<", pos)
            if not self._keep(markup[pos : opening if opening >= 0 else end]) or opening < 0:
                return
            pos = opening + 1
            if self.tags >= HTML_MAX_TAGS:
                self.truncated = True
                return
            if markup.startswith("!--", pos):
                self.tags += 1
                close = self._find("-->", pos + 3)
                if close < 0:
                    return  # an unclosed comment runs to the end
                pos = close + 3
                continue
            closing = markup.startswith("/", pos)
            name = _TAG_NAME.match(markup, pos + closing)
            if name is None and not markup.startswith(("!", "?", "/"), pos):
                if not self._keep("<"):  # "a < b": text, not a tag
                    return
                continue
            self.tags += 1
            after_name = name.end() if name else pos + 1
            self.examined += after_name - pos
            close = self._find(">", after_name)
            if close < 0:
                return  # an unclosed tag is dropped, with everything after it
            pos = close + 1
            tag = (("/" if closing else "") + name.group().lower()) if name else ""
            if tag in _LINE_BREAKS and not self._keep("\n"):
                return
            if tag in _RAW_TEXT_END:
                raw_end = self._search(_RAW_TEXT_END[tag], pos)
                if raw_end < 0:
                    return  # an unclosed <script> or <style> runs to the end
                pos = raw_end  # its end tag is read as a tag next


def _html_to_text(markup: str) -> str:
    return HtmlText(markup).text


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse a raw MIME message with the standard library; encoded words and charsets are decoded."""
    if not raw or not raw.strip():
        raise UnparsableEmail("The message is empty.")
    if len(raw) > MAX_RAW_BYTES:
        raise UnparsableEmail("The message is larger than 40 MB.")
    try:
        message: MimeMessage = BytesParser(policy=policy.default).parsebytes(raw)
        from_header = message.get("From")
        addresses = [(name, address) for name, address in getaddresses([str(from_header)]) if "@" in address] if from_header else []
        if not addresses:
            raise UnparsableEmail("The message has no sender address (From).")
        sender_name, sender = addresses[0]
        subject = " ".join(str(message.get("Subject", "") or "").split())
        body_part = message.get_body(preferencelist=("plain", "html"))
        body = ""
        if body_part is not None:
            content = body_part.get_content()
            body = _html_to_text(content) if body_part.get_content_subtype() == "html" else content
        attachments = []
        for part in message.walk():
            if part is body_part or part.is_multipart():
                continue
            filename = part.get_filename()
            if part.get_content_disposition() != "attachment" and not filename and part.get_content_maintype() == "text":
                continue  # an alternative body (the HTML of a plain-text mail), not a file
            payload = part.get_payload(decode=True) or b""
            attachments.append(ParsedAttachment(filename, part.get_content_type(), payload))
        # RFC 3834's header, and the older signs autoresponders and list servers still use.
        auto = str(message.get("Auto-Submitted", "no")).strip().lower()
        precedence = str(message.get("Precedence", "")).strip().lower()
        automatic = (auto not in ("", "no") or precedence in ("auto_reply", "bulk", "junk", "list")
                     or any(message.get(header) is not None for header in ("X-Autoreply", "X-Autorespond")))
        return ParsedEmail(
            sender=sender.strip().lower(),
            sender_name=sender_name.strip() or None,
            subject=subject,
            body=body.strip(),
            message_id=(str(message.get("Message-ID", "")).strip() or None),
            auto_submitted=automatic,
            attachments=tuple(attachments),
        )
    except UnparsableEmail:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed headers raise all sorts of errors
        raise UnparsableEmail(f"The message cannot be parsed: {type(exc).__name__}.") from None


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def email_ticket_id(message_id: str | None, key: str) -> str:
    return "tkt_" + _digest("email", message_id or key)


def _known_user(uow, address: str) -> User | None:
    try:
        owner = UniqueClaimModel.get(f"user-email#{address.casefold()}").owner_id
    except UniqueClaimModel.DoesNotExist:
        return None
    user = uow.users.get(owner)
    return user if user is not None and user.active else None


def s3_keys(event: dict) -> list[str]:
    """The object keys of an S3 put event (URL-encoded there, '+' for blanks)."""
    return [unquote_plus(record["s3"]["object"]["key"]) for record in event.get("Records", []) if "s3" in record]


def event_time(event: dict, key: str) -> datetime | None:
    for record in event.get("Records", []):
        if unquote_plus(record.get("s3", {}).get("object", {}).get("key", "")) == key and record.get("eventTime"):
            return datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    return None


class InboundEmailProcessor:
    def __init__(self, services) -> None:
        self.services = services

    def process(self, key: str, *, received_at: datetime, now: datetime) -> InboundEmailRecord:
        uow = self.services.uow()
        previous = uow.inbound_emails.get(key)
        if previous is not None:
            return previous  # the S3 event was delivered again
        raw = self.services.documents.get(key)
        log.info("inbound e-mail %s: %d bytes", key, len(raw))  # the key is in the log even if this run dies
        try:
            parsed = parse_email(raw)
        except UnparsableEmail as exc:
            # Not in the triage list (that is for mails with a sender): the record and this warning name the raw message.
            log.warning("inbound e-mail %s: unparsable: %s", key, exc)
            return self._record(InboundEmailRecord(key, Outcome.UNPARSABLE.value, received_at, detail=str(exc)))
        base = InboundEmailRecord(key, "", received_at, message_id=parsed.message_id, sender=parsed.sender, subject=parsed.subject[:200])
        user = _known_user(uow, parsed.sender)
        number = tk.ticket_number_in_subject(parsed.subject)
        distributor = distributor_id(uow)
        replied_to = uow.tickets.get_by_number(distributor, number) if number else None
        if user is not None and replied_to is not None and tk.can_comment_on_ticket(Principal.of(user), replied_to):
            if not replied_to.is_closed:
                by_staff = user.organisation_kind is OrganisationKind.DISTRIBUTOR
                return self._comment(uow, base, replied_to, parsed, author=user.id, by_staff=by_staff, now=now)
            if parsed.auto_submitted:
                return self._record(_auto_reply(base, replied_to))
            parsed = _mention_closed(parsed, replied_to.number)
        elif replied_to is not None:
            # A reply to a ticket the sender may not comment on as a user: a comment if the ticket's customer chose the
            # address for its ticket e-mails (whatever login it has elsewhere), never a ticket of the sender's own
            # organisation, which would copy the quoted ticket there.
            contact = self._reply_by_contact(uow, base, parsed, replied_to, user, now)
            if contact is not None:
                return contact
            if parsed.auto_submitted:
                return self._record(_auto_reply(base, replied_to))
        if user is None:
            return self._record(_unknown_sender(base, parsed, "No active user has this address."))
        if user.organisation_kind is not OrganisationKind.CUSTOMER:
            return self._record(_unknown_sender(base, parsed, "Only customer users open tickets by e-mail."))
        return self._new_ticket(uow, base, parsed, user, distributor, received_at, now)

    def _reply_by_contact(self, uow, base, parsed: ParsedEmail, replied_to: tk.Ticket, user: User | None, now: datetime):
        """A comment by the address if the ticket's customer chose it for its ticket e-mails (or made the ticket of its
        mail); ``None`` if it is no such contact. A contact's reply to a closed ticket waits in triage."""
        customer = uow.organisations.get(replied_to.customer_id)
        if customer is None or not tk.is_ticket_mail_contact(parsed.sender, replied_to, customer):
            return None
        if replied_to.is_closed:
            if parsed.auto_submitted:
                return self._record(_auto_reply(base, replied_to))
            login = "No active user has this address." if user is None else "The address has a login at another organisation."
            detail = f"{login} It is a ticket contact of {customer.name}, replying to the closed ticket {replied_to.number}."
            return self._record(_unknown_sender(base, parsed, detail))
        return self._comment(uow, base, replied_to, parsed, author=parsed.sender, by_staff=False, now=now)

    # -- outcomes ---------------------------------------------------------------------------

    def _record(self, record: InboundEmailRecord) -> InboundEmailRecord:
        uow = self.services.uow()
        with uow:
            uow.inbound_emails.add(record)
            try:
                uow.commit()
            except AlreadyExists:
                return uow.inbound_emails.get(record.key) or record
        log.info("inbound e-mail %s: %s", record.key, record.outcome)
        return record

    def _attach(self, ticket: tk.Ticket, parsed: ParsedEmail, key: str, uploader: str, now: datetime) -> list[str]:
        """Take over the attachments; returns what was refused and why (the raw message keeps it)."""
        refused = []
        for index, part in enumerate(parsed.attachments):
            try:
                attachment = ticket.add_attachment(
                    filename=part.filename or "", content_type=part.content_type, size_bytes=len(part.data),
                    uploaded_by=uploader, now=now, id_factory=lambda prefix, i=index: f"{prefix}_{_digest(key, str(i))}",
                )
            except DomainError as error:
                # Told to the sender in the receipt too: the message names the file, or it is put first.
                label, reason = f"'{tk.clean_filename(part.filename) or 'unnamed'}'", f"{error.message} {error.hint or ''}".strip()
                refused.append(reason if reason.startswith(label) else f"{label}: {reason}")
                continue
            self.services.documents.put(attachment.key, part.data, attachment.content_type)
        if refused:
            ticket.add_comment(
                author="system", by_staff=True, internal=True, now=now, id_factory=lambda prefix: f"{prefix}_{_digest(key, 'refused')}",
                body=tk.fit_comment("Attachments not taken over (they remain in the raw message " + key + "):\n" + "\n".join(refused)),
            )
        return refused

    def _new_ticket(self, uow, base, parsed: ParsedEmail, user: User, distributor: str, received_at, now) -> InboundEmailRecord:
        ticket_id = email_ticket_id(parsed.message_id, base.key)
        if uow.tickets.get(ticket_id) is not None:
            return self._record(_with(base, Outcome.DUPLICATE, ticket_id=ticket_id, detail="This Message-ID made a ticket already."))
        customer = uow.organisations.get(user.organisation_id)
        ticket = tk.open_ticket(
            ticket_id=ticket_id, number=allocate_number(uow, distributor), distributor_id=distributor,
            customer_id=user.organisation_id, channel=tk.TicketChannel.EMAIL, subject=parsed.subject,
            description=parsed.body, reporter=tk.Reporter(user_id=user.id, email=parsed.sender, name=parsed.sender_name or user.name),
            received_at=received_at, actor=parsed.sender, now=now, source_key=parsed.message_id or base.key,
        )
        refused = self._attach(ticket, parsed, base.key, parsed.sender, now)
        record = _with(base, Outcome.TICKET_CREATED, ticket_id=ticket.id, detail=_refused_detail(refused))
        with uow:
            uow.inbound_emails.add(record)
            uow.tickets.add(ticket)
            try:
                uow.commit()
            except AlreadyExists:
                return self._duplicate(base, ticket_id)
        send_notifications(self.services.mailer, tk.new_ticket_notifications(
            ticket, customer.onboarding if customer else None, send_receipt=not parsed.auto_submitted, refused_attachments=refused,
        ))
        log.info("inbound e-mail %s: ticket %s", base.key, ticket.number)
        return record

    def _comment(self, uow, base, ticket: tk.Ticket, parsed: ParsedEmail, *, author: str, by_staff: bool, now) -> InboundEmailRecord:
        """``author``: the user's id, or the sender's address for a contact without a portal login."""
        # The comment's id comes from the Message-ID: the same mail stored twice by SES (two keys) is one comment.
        source = _digest(parsed.message_id or base.key)
        if any(comment.id == f"cmt_{source}" for comment in ticket.comments):
            detail = "This Message-ID was added as a comment already."
            return self._record(_with(base, Outcome.DUPLICATE, ticket_id=ticket.id, detail=detail))
        # A machine channel never refuses on shape: a long reply is shortened (the raw mail stays in S3).
        outcome = ticket.add_comment(
            author=author, body=tk.fit_comment(parsed.body or parsed.subject or "(empty reply)"), now=now, by_staff=by_staff,
            id_factory=lambda prefix: f"{prefix}_{source}", reopens=not parsed.auto_submitted,
        )
        refused = self._attach(ticket, parsed, base.key, parsed.sender, now)
        record = _with(base, Outcome.COMMENT_ADDED, ticket_id=ticket.id, detail=_refused_detail(refused))
        try:
            with uow:
                uow.inbound_emails.add(record)
                uow.tickets.update(ticket)  # raises TicketFull before anything is written
                try:
                    uow.commit()
                except AlreadyExists:
                    return self._duplicate(base, ticket.id)
        except tk.TicketFull:
            reporter_id = None if by_staff or author == parsed.sender else author
            return self._follow_up(uow, base, parsed, ticket.id, reporter_id=reporter_id, now=now)
        if outcome.status_event is not None:
            customer = uow.organisations.get(ticket.customer_id)
            notice = tk.status_change_notification(ticket, outcome.status_event, customer.onboarding if customer else None)
            send_notifications(self.services.mailer, [notice] if notice else [])
        return record

    def _follow_up(self, uow, base, parsed: ParsedEmail, full_id: str, *, reporter_id: str | None, now) -> InboundEmailRecord:
        """The reply does not fit into its ticket any more (``TicketFull``): it opens a follow-up ticket of the same
        customer, reported by the sender, whose text names the full ticket, and the sender gets its receipt. The full
        ticket gets a short comment naming the follow-up (if even that no longer fits, the follow-up's text is the
        link). An automatic reply opens nothing. Record and tickets are one transaction, as for any new ticket."""
        full = uow.tickets.get(full_id)  # as stored: without the reply that did not fit
        if parsed.auto_submitted:
            detail = f"An automatic reply (e.g. out of office) to the full ticket {full.number}: no follow-up ticket."
            return self._record(_with(base, Outcome.AUTO_REPLY, ticket_id=full.id, detail=detail))
        ticket_id = email_ticket_id(parsed.message_id, base.key)
        if uow.tickets.get(ticket_id) is not None:
            return self._record(_with(base, Outcome.DUPLICATE, ticket_id=ticket_id, detail="This Message-ID made a ticket already."))
        customer = uow.organisations.get(full.customer_id)
        note = f"(Follow-up of ticket {full.number}, which is full: this reply could not be added there.)"
        follow_up = tk.open_ticket(
            ticket_id=ticket_id, number=allocate_number(uow, full.distributor_id), distributor_id=full.distributor_id,
            customer_id=full.customer_id, channel=tk.TicketChannel.EMAIL, subject=parsed.subject,
            description=f"{note}\n\n{parsed.body}".strip(),
            reporter=tk.Reporter(user_id=reporter_id, email=parsed.sender, name=parsed.sender_name),
            received_at=base.received_at, actor=parsed.sender, now=now, source_key=parsed.message_id or base.key,
        )
        refused = self._attach(follow_up, parsed, base.key, parsed.sender, now)
        if not full.is_closed:
            full.add_comment(
                author="system", by_staff=True, now=now, id_factory=lambda prefix: f"{prefix}_{_digest(base.key, 'follow-up')}",
                body=f"A reply by {parsed.sender} did not fit into this ticket any more: it opened the follow-up ticket {follow_up.number}.",
            )
        detail = f"The ticket {full.number} is full: the reply opened the follow-up ticket {follow_up.number}."
        record = _with(base, Outcome.TICKET_CREATED, ticket_id=follow_up.id,
                       detail=" ".join(filter(None, [detail, _refused_detail(refused)]))[:1000])
        with uow:
            uow.inbound_emails.add(record)
            uow.tickets.add(follow_up)
            try:
                uow.tickets.update(full)
            except tk.TicketFull:
                pass  # not even room for the note: the follow-up's text names the full ticket
            try:
                uow.commit()
            except AlreadyExists:
                return self._duplicate(base, ticket_id)
        send_notifications(
            self.services.mailer, tk.new_ticket_notifications(follow_up, customer.onboarding if customer else None, refused_attachments=refused)
        )
        log.info("inbound e-mail %s: ticket %s full, follow-up %s", base.key, full.number, follow_up.number)
        return record

    def _duplicate(self, base, ticket_id: str) -> InboundEmailRecord:
        existing = self.services.uow().inbound_emails.get(base.key)
        return existing or self._record(_with(base, Outcome.DUPLICATE, ticket_id=ticket_id))

    # -- triage by the service desk ---------------------------------------------------------

    def make_ticket_of(self, principal: Principal, key: str, customer_id: str, *, now: datetime) -> TriagedTicket:
        """Service staff make a ticket for ``customer_id`` of an unknown sender's mail awaiting triage.

        As a known sender's mail would have been: channel EMAIL, received when the mail arrived, subject, text and
        attachments from the raw message, the sender's address and name as reporter, the next number; the customer's
        new-ticket contacts are notified and the sender gets the receipt (staff judged the mail genuine; not for an
        automatic reply). The ticket and the mail's leaving the triage list are one transaction. Asking again returns
        the ticket with ``created`` false and creates, numbers and e-mails nothing.
        """
        require(tk.can_work_on_tickets(principal), "make tickets of e-mails")
        try:
            return self._make_ticket_of(principal, key, customer_id, now=now)
        except (AlreadyExists, ConcurrentUpdate):  # handled concurrently: read again and decide on what is there now
            return self._make_ticket_of(principal, key, customer_id, now=now)

    def _make_ticket_of(self, principal: Principal, key: str, customer_id: str, *, now: datetime) -> TriagedTicket:
        uow = self.services.uow()
        customer = customer_for_ticket(uow, customer_id)
        record = inbound_email(uow, key)
        if record.triage is not None and record.triage.decision is tk.TriageDecision.TICKET_CREATED:
            return TriagedTicket(_ticket_made_before(uow, record, customer), False, record)
        if not record.awaiting_triage:
            raise not_awaiting_triage(record)
        try:
            parsed = parse_email(self.services.documents.get(key))
        except UnparsableEmail as exc:  # it was read on arrival; nothing else rewrites it
            raise Conflict(f"The e-mail {key} cannot be read any more: {exc}", field="key") from None
        handled = replace(record, ticket_id=email_ticket_id(parsed.message_id, key),
                          triage=tk.ticket_made_of_email(customer_id=customer.id, by=principal.user_id, now=now))
        if uow.tickets.get(handled.ticket_id) is not None:  # its Message-ID, delivered under another key too, made it
            ticket = _ticket_made_before(uow, handled, customer)
            with uow:
                uow.inbound_emails.update(handled)
                uow.commit()
            return TriagedTicket(ticket, False, handled)
        # A machine channel never refuses on shape and the sender has an address: nothing to check before a number is spent.
        distributor = distributor_id(uow)
        ticket = tk.open_ticket(
            ticket_id=handled.ticket_id, number=allocate_number(uow, distributor), distributor_id=distributor,
            customer_id=customer.id, channel=tk.TicketChannel.EMAIL, subject=parsed.subject, description=parsed.body,
            reporter=tk.Reporter(email=parsed.sender, name=parsed.sender_name), received_at=record.received_at,
            actor=principal.user_id, now=now, source_key=parsed.message_id or key,
        )
        refused = self._attach(ticket, parsed, key, parsed.sender, now)
        with uow:
            uow.tickets.add(ticket)
            uow.inbound_emails.update(handled)
            uow.commit()
        send_notifications(self.services.mailer, tk.new_ticket_notifications(
            ticket, customer.onboarding, send_receipt=not parsed.auto_submitted, refused_attachments=refused,
        ))
        log.info("inbound e-mail %s: ticket %s after triage", key, ticket.number)
        return TriagedTicket(ticket, True, handled)


def _with(base: InboundEmailRecord, outcome: Outcome, **changes) -> InboundEmailRecord:
    return replace(base, outcome=outcome.value, **changes)


def _auto_reply(base: InboundEmailRecord, replied_to: tk.Ticket) -> InboundEmailRecord:
    state = "closed ticket" if replied_to.is_closed else "ticket"
    detail = f"An automatic reply (e.g. out of office) to the {state} {replied_to.number}: no new ticket."
    return _with(base, Outcome.AUTO_REPLY, ticket_id=replied_to.id, detail=detail)


def _unknown_sender(base: InboundEmailRecord, parsed: ParsedEmail, detail: str) -> InboundEmailRecord:
    """Awaits the service desk's triage; what its list shows is recorded now, so listing reads no raw message."""
    return _with(base, Outcome.UNKNOWN_SENDER, detail=detail, sender_name=parsed.sender_name, preview=tk.triage_preview(parsed.body))


def _ticket_made_before(uow, record: InboundEmailRecord, customer: Organisation) -> tk.Ticket:
    ticket = uow.tickets.get(record.ticket_id)
    if ticket is None:
        raise not_awaiting_triage(record)
    if ticket.customer_id != customer.id:
        raise Conflict(
            f"The e-mail {record.key} became the ticket {ticket.number} of another customer already.", field="customerId",
            hint="A ticket keeps its customer: close that one (ticketStatusChange) and record one for this customer (ticketHotlineCreate).",
        )
    return ticket


def _refused_detail(refused: list[str]) -> str | None:
    return ("Refused attachments: " + "; ".join(refused))[:1000] if refused else None


def _mention_closed(parsed: ParsedEmail, number: str) -> ParsedEmail:
    note = f"(Reply to the closed ticket {number}.)"
    return replace(parsed, body=f"{note}\n\n{parsed.body}".strip())


def ingest_event(services, event: dict, *, now: datetime) -> list[InboundEmailRecord]:
    processor = InboundEmailProcessor(services)
    results = []
    for key in s3_keys(event):
        if not key.startswith(INBOUND_PREFIX):
            log.warning("ignoring %s: not under %s", key, INBOUND_PREFIX)
            continue
        try:
            results.append(processor.process(key, received_at=event_time(event, key) or now, now=now))
        except Exception:
            # The S3 event is retried, then dropped: the log names the raw message, which stays under its key.
            log.exception("inbound e-mail %s: failed, no outcome recorded", key)
            raise
    return results

