"""Use cases of updates of software that interrupts users (rules: ``domain.software_updates``).

A request is one transaction: the new ticket (numbered first, as every ticket) and the asset naming it under the
asset's version, so two requests at once cannot both be open: the one that loses the race is repeated on a fresh
unit of work (``request_update_retrying``) and then finds the winner's request (CONFLICT naming its ticket). Each
later step reads the ticket and the asset, is refused unless the asset names that ticket as its open request, and is
one write of the ticket under its version (and, when installed, of the asset, which then names no open request).
Notifications go out after the commit, as for every ticket: the new ticket's to the contacts chosen at onboarding
(and the receipt to a phoned request's caller with an address), each step's notice (``tk.software_update_notification``,
with the status change it made) to the contacts chosen for status changes and the requester; a refused step sends
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Callable

from domain import software_updates as su
from domain import tickets as tk
from domain.errors import Conflict, NotFound
from domain.ids import new_id
from domain.organisations import Organisation, OrganisationKind
from domain.policy import Principal, require
from domain.ports import Mailer, UnitOfWork
from domain.services.retry import retry_on_concurrent_update
from domain.services.tickets import _PROBE_NUMBER, _require_ticket, allocate_number, distributor_id, send_notifications
from domain.validation import require_email


@dataclass(frozen=True)
class UpdateRequest:
    asset_id: str
    wished_dates: tuple[date, ...] = ()
    note: str | None = None
    caller_name: str | None = None  # staff recording a phoned request: who asked
    caller_email: str | None = None  # staff: the address the receipt and notices go to (else the calling user's)
    caller_user_id: str | None = None  # staff: the customer's user who called; they see the ticket in the portal


def open_request_ticket(uow: UnitOfWork, asset) -> tk.Ticket | None:
    """The ticket of the asset's request still open (not installed or called off, not resolved or closed), if any."""
    if not asset.open_update_ticket_id:
        return None
    ticket = uow.tickets.get(asset.open_update_ticket_id)
    if ticket is None or ticket.software_update is None or ticket.software_update.asset_id != asset.id:
        return None
    if ticket.software_update.is_final:
        return None
    if ticket.status in (tk.TicketStatus.RESOLVED, tk.TicketStatus.CLOSED):
        return None
    return ticket


def request_update(uow: UnitOfWork, principal: Principal, command: UpdateRequest, *, now: datetime, mailer: Mailer) -> tk.Ticket:
    """A user who sees the asset (an EXTENDED user of its customer) requests the update of one asset in the portal, or
    service staff record a phoned request naming the caller (and, optionally, the calling user and the address for the
    receipt, as ``ticketHotlineCreate``): a ticket linked to the asset. Anyone else finds no asset (NOT_FOUND)."""
    asset = uow.assets.get(command.asset_id)
    customer = uow.organisations.get(asset.customer_id) if asset else None
    if asset is None or customer is None or customer.kind is not OrganisationKind.CUSTOMER or not tk.can_view_assets(principal, customer):
        raise NotFound(f"No asset with id '{command.asset_id}'.", field="assetId")
    by_staff = principal.is_distributor
    caller = su.check_on_behalf(by_staff=by_staff, caller_name=command.caller_name,
                                caller_given=command.caller_email is not None or command.caller_user_id is not None)
    update = su.request_update(asset, by=principal.user_id, now=now, caller_name=caller, wished_dates=command.wished_dates,
                               note=command.note)
    if by_staff:
        calling_user = None
        if command.caller_user_id:
            calling_user = uow.users.get(command.caller_user_id)
            if calling_user is None or calling_user.organisation_id != customer.id:
                raise NotFound(f"No user '{command.caller_user_id}' at this customer.", field="callerUserId")
            if not calling_user.active:
                raise Conflict(f"The login of {calling_user.name} is deactivated: it gets no notices and confirms nothing.",
                               field="callerUserId", hint="Name the caller and give the address they want the notices at (callerEmail).")
        # The receipt (number and received time) goes to the address the caller gave, else to the calling user's.
        given = (command.caller_email or "").strip()
        email = require_email(given, "callerEmail") if given else (calling_user.email if calling_user else None)
        channel, reporter = tk.TicketChannel.HOTLINE, tk.Reporter(user_id=command.caller_user_id or None, email=email, name=caller)
    else:
        user = uow.users.get(principal.user_id)
        channel = tk.TicketChannel.PORTAL
        reporter = tk.Reporter(user_id=principal.user_id, email=user.email if user else None, name=user.name if user else None)

    def build(number: str, distributor: str) -> tk.Ticket:
        ticket = tk.open_ticket(
            ticket_id=new_id("tkt"), number=number, distributor_id=distributor, customer_id=customer.id, channel=channel,
            subject=su.request_subject(asset), description=su.request_description(update), reporter=reporter,
            received_at=now, actor=principal.user_id, now=now,
        )
        ticket.software_update = update  # the request's first step: no status change, the event names the asset
        ticket.record_software_update(update, actor=principal.user_id, now=now, status=tk.TicketStatus.NEW,
                                      asset_id=asset.id, caller=caller)
        return ticket

    build(_PROBE_NUMBER, "dst_probe")  # validate before a number is spent
    with uow:
        open_ticket = open_request_ticket(uow, asset)
        if open_ticket is not None:
            raise Conflict(
                f"An update of '{asset.name}' is requested already: ticket {open_ticket.number}.", field="assetId",
                hint=f"Follow ticket {open_ticket.number} (add wishes as a comment), or ask the service desk to close it first.",
            )
        distributor = distributor_id(uow)
        ticket = build(allocate_number(uow, distributor), distributor)
        uow.tickets.add(ticket)
        uow.assets.save(replace(asset, open_update_ticket_id=ticket.id))
        uow.commit()
    send_notifications(mailer, tk.new_ticket_notifications(ticket, customer.onboarding))
    return ticket


def request_update_retrying(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, command: UpdateRequest, *, now: datetime, mailer: Mailer,
) -> tk.Ticket:
    """``request_update`` on a fresh unit of work, repeated if the asset changed between its read and the write
    (``retry_on_concurrent_update``): of two requests at once, the repeat of the one that lost finds the other's open
    request and is the CONFLICT naming its ticket."""
    return retry_on_concurrent_update(lambda: request_update(uow_factory(), principal, command, now=now, mailer=mailer))


def _current_request(uow: UnitOfWork, ticket: tk.Ticket):
    """The ticket's update request and its asset, if a step of it may be taken: not final, and the asset's open request
    (a later request replaces one called off). Names no other ticket: the caller may not see it."""
    update = su.require_not_final(ticket.check_software_update_step())
    asset = uow.assets.get(update.asset_id)
    if asset is None or asset.open_update_ticket_id != ticket.id:
        raise Conflict(
            f"Ticket {ticket.number} no longer carries the open update request of '{update.asset_name}'.", field="ticketId",
            hint="A later request of this software replaced it, or the software is gone: follow that request, or request "
                 "the update again (softwareUpdateRequest).",
        )
    return update, asset


def _step(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, mailer: Mailer,
    apply: Callable[[tk.Ticket, Organisation], tk.TicketEvent | None],
) -> tk.Ticket:
    with uow:
        ticket, customer = _require_ticket(uow, principal, ticket_id)
        before = ticket.software_update
        status_event = apply(ticket, customer)
        uow.tickets.update(ticket)
        uow.commit()
    notice = tk.software_update_notification(ticket, before, status_event, customer.onboarding)
    send_notifications(mailer, [notice] if notice else [])
    return ticket


def _answering(principal: Principal, ticket: tk.Ticket, caller_name: str | None) -> str | None:
    """The customer's answer: a customer user who may comment on the ticket, or staff naming the caller."""
    if not principal.is_distributor:
        require(principal.is_customer and tk.can_comment_on_ticket(principal, ticket), "answer for the customer")
    return su.check_on_behalf(by_staff=principal.is_distributor, caller_name=caller_name)


def schedule_update(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, starts_at: datetime, now: datetime, mailer: Mailer,
) -> tk.Ticket:
    """Service staff propose a date and time; the ticket waits for the customer's confirmation."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        require(tk.can_work_on_tickets(principal), "propose times for software updates")
        proposed = su.propose(_current_request(uow, ticket)[0], starts_at=starts_at, by=principal.user_id, now=now)
        return ticket.record_software_update(proposed, actor=principal.user_id, now=now, status=tk.TicketStatus.WAITING_FOR_CUSTOMER,
                                             starts_at=proposed.starts_at.isoformat())

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)


def confirm_update(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, now: datetime, mailer: Mailer, caller_name: str | None = None,
) -> tk.Ticket:
    """The customer confirms the proposed time."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        caller = _answering(principal, ticket, caller_name)
        confirmed = su.confirm(_current_request(uow, ticket)[0], by=principal.user_id, now=now, caller_name=caller)
        return ticket.record_software_update(confirmed, actor=principal.user_id, now=now, status=tk.TicketStatus.IN_PROGRESS,
                                             starts_at=confirmed.starts_at.isoformat(), caller=caller)

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)


def decline_update(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, now: datetime, mailer: Mailer, wished_dates: tuple[date, ...] = (),
    note: str | None = None, caller_name: str | None = None,
) -> tk.Ticket:
    """The customer asks for another date than the one proposed or agreed; the service desk proposes again."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        caller = _answering(principal, ticket, caller_name)
        declined = su.decline(_current_request(uow, ticket)[0], now=now, wished_dates=wished_dates, note=note)
        return ticket.record_software_update(
            declined, actor=principal.user_id, now=now, status=tk.TicketStatus.IN_PROGRESS, caller=caller,
            wished_dates=", ".join(d.isoformat() for d in declined.wished_dates) or None, note=(note or "").strip() or None,
        )

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)


def record_installed(uow: UnitOfWork, principal: Principal, ticket_id: str, *, now: datetime, mailer: Mailer) -> tk.Ticket:
    """Service staff record the update installed: only once confirmed, within the agreed Berlin day from the agreed time."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        require(tk.can_work_on_tickets(principal), "record software updates installed")
        update, asset = _current_request(uow, ticket)
        installed = su.record_installed(update, by=principal.user_id, now=now)
        uow.assets.save(replace(asset, open_update_ticket_id=None))
        return ticket.record_software_update(installed, actor=principal.user_id, now=now, status=tk.TicketStatus.RESOLVED,
                                             starts_at=installed.starts_at.isoformat())

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)
