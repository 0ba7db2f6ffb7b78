"""Use cases of updates of software that interrupts users (rules: ``domain.software_updates``).

A request is one transaction: the new ticket (numbered first, as every ticket) and the asset naming it under the
asset's version, so two requests at once cannot both be open. Each later step is one write of the ticket under its
version (and, when installed, of the asset, which then names no open request). Notifications go out after the
commit, as for every ticket: the new ticket's to the contacts chosen at onboarding (and a receipt where a ticket
of that channel gets one), each status change's as ``ticketStatusChange`` sends it.
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
from domain.services.tickets import _PROBE_NUMBER, _require_ticket, allocate_number, distributor_id, send_notifications


@dataclass(frozen=True)
class UpdateRequest:
    asset_id: str
    wished_dates: tuple[date, ...] = ()
    note: str | None = None
    caller_name: str | None = None  # staff recording a phoned request: who asked


def _open_request_ticket(uow: UnitOfWork, asset) -> tk.Ticket | None:
    """The ticket of the asset's request still open (not installed, not resolved or closed), if any."""
    if not asset.open_update_ticket_id:
        return None
    ticket = uow.tickets.get(asset.open_update_ticket_id)
    if ticket is None or ticket.software_update is None:
        return None
    if ticket.software_update.state is su.SoftwareUpdateState.INSTALLED:
        return None
    if ticket.status in (tk.TicketStatus.RESOLVED, tk.TicketStatus.CLOSED):
        return None
    return ticket


def request_update(uow: UnitOfWork, principal: Principal, command: UpdateRequest, *, now: datetime, mailer: Mailer) -> tk.Ticket:
    """A customer user of the asset's organisation requests the update of one asset in the portal, or service staff
    record a phoned request naming the caller: a ticket linked to the asset."""
    asset = uow.assets.get(command.asset_id)
    customer = uow.organisations.get(asset.customer_id) if asset else None
    if asset is None or customer is None or customer.kind is not OrganisationKind.CUSTOMER or not tk.can_open_ticket(principal, customer):
        raise NotFound(f"No asset with id '{command.asset_id}'.", field="assetId")
    by_staff = principal.is_distributor
    caller = su.check_on_behalf(by_staff=by_staff, caller_name=command.caller_name)
    update = su.request_update(asset, by=principal.user_id, now=now, caller_name=caller, wished_dates=command.wished_dates,
                               note=command.note)
    if by_staff:
        channel, reporter = tk.TicketChannel.HOTLINE, tk.Reporter(name=caller)
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
        open_ticket = _open_request_ticket(uow, asset)
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


def _step(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, mailer: Mailer,
    apply: Callable[[tk.Ticket, Organisation], tk.TicketEvent | None],
) -> tk.Ticket:
    with uow:
        ticket, customer = _require_ticket(uow, principal, ticket_id)
        status_event = apply(ticket, customer)
        uow.tickets.update(ticket)
        update = ticket.software_update
        if update is not None and update.state is su.SoftwareUpdateState.INSTALLED:
            asset = uow.assets.get(update.asset_id)
            if asset is not None and asset.open_update_ticket_id == ticket.id:
                uow.assets.save(replace(asset, open_update_ticket_id=None))
        uow.commit()
    if status_event is not None:
        notice = tk.status_change_notification(ticket, status_event, customer.onboarding)
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
        proposed = su.propose(ticket.check_software_update_step(), starts_at=starts_at, by=principal.user_id, now=now)
        return ticket.record_software_update(proposed, actor=principal.user_id, now=now, status=tk.TicketStatus.WAITING_FOR_CUSTOMER,
                                             starts_at=proposed.starts_at.isoformat())

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)


def confirm_update(
    uow: UnitOfWork, principal: Principal, ticket_id: str, *, now: datetime, mailer: Mailer, caller_name: str | None = None,
) -> tk.Ticket:
    """The customer confirms the proposed time."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        caller = _answering(principal, ticket, caller_name)
        confirmed = su.confirm(ticket.check_software_update_step(), by=principal.user_id, now=now, caller_name=caller)
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
        declined = su.decline(ticket.check_software_update_step(), now=now, wished_dates=wished_dates, note=note)
        return ticket.record_software_update(
            declined, actor=principal.user_id, now=now, status=tk.TicketStatus.IN_PROGRESS, caller=caller,
            wished_dates=", ".join(d.isoformat() for d in declined.wished_dates) or None, note=(note or "").strip() or None,
        )

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)


def record_installed(uow: UnitOfWork, principal: Principal, ticket_id: str, *, now: datetime, mailer: Mailer) -> tk.Ticket:
    """Service staff record the update installed: only once confirmed, and not before the agreed time."""

    def apply(ticket: tk.Ticket, customer: Organisation) -> tk.TicketEvent | None:
        require(tk.can_work_on_tickets(principal), "record software updates installed")
        installed = su.record_installed(ticket.check_software_update_step(), by=principal.user_id, now=now)
        return ticket.record_software_update(installed, actor=principal.user_id, now=now, status=tk.TicketStatus.RESOLVED,
                                             starts_at=installed.starts_at.isoformat())

    return _step(uow, principal, ticket_id, mailer=mailer, apply=apply)
