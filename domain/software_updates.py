"""Updates of software that interrupts users: never automatic, only on request by ticket, scheduled with the customer.

DOMAIN.md (Service desk): "Software updates that interrupt users (e.g. accounting software) are never installed
automatically: only on request by ticket, scheduled with the customer." (csm-boarding-guide: the DATEV
Rechnungswesen of a tax office is not updated while the office books.)

Decided here:

* **Which software.** Distributor staff mark a SOFTWARE asset ``interrupts_users`` (assetCreate/assetUpdate); a
  HARDWARE asset cannot be marked (INVALID_INPUT). Updates of software not marked need none of this: they are part
  of the regular maintenance, and a request for one is refused (PRECONDITION_FAILED) with that hint.
* **Maintenance never includes them.** Every automatically created maintenance ticket names the customer's
  interrupting software as excluded (``maintenance_exclusion_text``), so the technician working it sees what not to
  update; the maintenance job reads those assets once per customer and run.
* **One request, one ticket, linked to the asset.** A customer user of the asset's organisation (portal), or service
  staff on the customer's behalf (a phoned request: the caller's name is required and recorded, the ticket's channel
  is HOTLINE), requests the update of one asset, optionally with wished dates (at most 5, today or later in Berlin)
  and a note. The ticket carries the request (``SoftwareUpdate``); the asset names the ticket of its open request, so a
  second request while one is open is CONFLICT naming that ticket. A request is open until recorded installed, or
  until its ticket is resolved or closed otherwise (ticketStatusChange): that calls the update off, CANCELLED, final
  like INSTALLED, so reopening the ticket (a customer's comment) brings no agreement back. Every step also needs the
  asset to name the step's ticket as its open request (``Asset.open_update_ticket_id``).
* **Who requests (decided).** The users who see the asset: the customer's EXTENDED users (``can_view_assets``), or
  service staff for a caller (a phoned request). A REPORT_ONLY user sees no assets, so for them the asset does not
  exist (NOT_FOUND, its name never shown), and no refusal names a ticket its caller cannot see. A phoned request
  names the caller (``callerName``) and, as ``ticketHotlineCreate``, optionally the calling user (``callerUserId``,
  a user of the customer) and the address for the receipt (``callerEmail``, else the user's): they are the ticket's
  reporter, so the caller sees the ticket in the portal, answers there and gets the receipt.
* **While a request is open** the asset stays software that interrupts users: un-marking it or making it HARDWARE
  is CONFLICT naming the open request's ticket (staff only change assets) until it is installed or called off.
* **Workflow** (each step a ticket history event; the ticket's status follows, which notifies the contacts chosen at
  onboarding as every status change does)::

      REQUESTED --softwareUpdateSchedule (staff: date and time)--> PROPOSED          ticket WAITING_FOR_CUSTOMER
      PROPOSED  --softwareUpdateConfirm (the customer)-----------> CONFIRMED         ticket IN_PROGRESS
      PROPOSED or CONFIRMED --softwareUpdateDecline (the customer asks for another date)--> REQUESTED   IN_PROGRESS
      PROPOSED or CONFIRMED --softwareUpdateSchedule (staff propose another)--> PROPOSED (to confirm again)
      CONFIRMED --softwareUpdateRecordInstalled (staff, within the agreed day)--> INSTALLED   ticket RESOLVED
      any but INSTALLED --ticketStatusChange to RESOLVED or CLOSED (called off)--> CANCELLED

  INSTALLED and CANCELLED are final. A proposed time lies in the future; a proposal whose time has passed is not
  confirmed (the customer asks for another date). Confirming and declining are the customer's: a customer user who
  sees the ticket, or staff recording a phoned answer with the caller's name. Partners see the ticket if the ticket
  rules let them, and do nothing here. Every wrong state is CONFLICT (done already, or final) or PRECONDITION_FAILED
  (a step missing first), with a hint, and changes nothing. A resolved or closed ticket takes no step.
* **The agreed day (decided).** A confirmed time holds for the Berlin day it falls on: the update is recorded
  installed from the agreed time to the end of that day (``installation_window_ends_at``: midnight in Berlin), not
  before and not after. From the agreed time to the end of the day the customer cannot decline any more (the update
  may be running: CONFLICT, call the service desk); once the day is over without an installation the agreement has
  lapsed: recording it installed is PRECONDITION_FAILED (propose a new time), and the customer may decline.
* **Notices.** Each step (a proposal with its time in Berlin time, a confirmation, a decline, the installation, the
  calling off) is e-mailed, instead of the bare status-change notice, to the contacts chosen for ticket status changes
  and to the requester (the ticket reporter's address); a refused step sends nothing (``step_notice``).
* Times are instants (UTC inside); texts show them in Berlin time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import Iterable

from domain.assets import Asset, AssetKind
from domain.calendar import BERLIN, berlin_date, ensure_utc
from domain.errors import Conflict, PreconditionFailed, ValidationFailed
from domain.validation import require_text

MAX_WISHED_DATES = 5
NOTE_MAX = 2000


class SoftwareUpdateState(str, Enum):
    REQUESTED = "REQUESTED"
    PROPOSED = "PROPOSED"
    CONFIRMED = "CONFIRMED"
    INSTALLED = "INSTALLED"
    CANCELLED = "CANCELLED"  # its ticket was resolved or closed outside the workflow: the update was called off


FINAL_STATES = frozenset({SoftwareUpdateState.INSTALLED, SoftwareUpdateState.CANCELLED})


@dataclass(frozen=True)
class SoftwareUpdate:
    """The request to update one asset, kept on its ticket."""

    asset_id: str
    asset_name: str
    state: SoftwareUpdateState
    requested_by: str  # the user who requested it, or the staff user who recorded a phoned request
    requested_at: datetime
    caller_name: str | None = None  # a phoned request: who asked
    wished_dates: tuple[date, ...] = ()
    note: str | None = None
    starts_at: datetime | None = None  # the proposed (PROPOSED) or agreed (CONFIRMED, INSTALLED) time
    proposed_by: str | None = None
    confirmed_by: str | None = None
    confirmed_caller_name: str | None = None  # confirmed by phone: who confirmed
    confirmed_at: datetime | None = None
    installed_by: str | None = None
    installed_at: datetime | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


def berlin_text(instant: datetime) -> str:
    return ensure_utc(instant).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") + " Berlin time"


def _caller(caller_name: str | None) -> str | None:
    return require_text(caller_name, "callerName", label="The caller's name", max_length=200) if caller_name is not None else None


def check_on_behalf(*, by_staff: bool, caller_name: str | None, caller_given: bool = False) -> str | None:
    """Staff record a customer's answer given by phone, naming the caller; a customer user answers for themselves
    (``caller_given``: a calling user or address was given too, which only staff do)."""
    if not by_staff and caller_given:
        raise ValidationFailed("Only service staff record this on someone's behalf.", field="callerUserId",
                               hint="Leave callerUserId and callerEmail out: the request is recorded as yours.")
    if by_staff:
        if not (caller_name or "").strip():
            raise ValidationFailed(
                "Service staff record this on the customer's behalf: name the caller.", field="callerName",
                hint="Give the name of the customer's person who asked on the phone.",
            )
        return _caller(caller_name)
    if caller_name is not None:
        raise ValidationFailed("Only service staff record this on someone's behalf.", field="callerName",
                               hint="Leave callerName out: the request is recorded as yours.")
    return None


def _wishes(wished_dates: Iterable[date] | None, note: str | None, *, now: datetime) -> tuple[tuple[date, ...], str | None]:
    dates = tuple(sorted(set(wished_dates or ())))
    if len(dates) > MAX_WISHED_DATES:
        raise ValidationFailed(f"Name at most {MAX_WISHED_DATES} wished dates.", field="wishedDates")
    today = berlin_date(now)
    past = [d for d in dates if d < today]
    if past:
        raise ValidationFailed(f"The wished date {past[0].isoformat()} lies in the past.", field="wishedDates",
                               hint=f"Wish for {today.isoformat()} or later.")
    cleaned = require_text(note, "note", label="The note", max_length=NOTE_MAX) if (note or "").strip() else None
    return dates, cleaned


def interrupts_users(asset: Asset) -> bool:
    return asset.kind is AssetKind.SOFTWARE and asset.interrupts_users


def request_update(
    asset: Asset, *, by: str, now: datetime, caller_name: str | None = None, wished_dates: Iterable[date] | None = None,
    note: str | None = None,
) -> SoftwareUpdate:
    if not interrupts_users(asset):
        raise PreconditionFailed(
            f"'{asset.name}' does not interrupt users: its updates are installed with the regular maintenance.",
            field="assetId",
            hint="No request is needed; for a problem with it open a ticket (ticketCreate).",
        )
    dates, cleaned = _wishes(wished_dates, note, now=now)
    return SoftwareUpdate(
        asset_id=asset.id, asset_name=asset.name, state=SoftwareUpdateState.REQUESTED, requested_by=by,
        requested_at=ensure_utc(now), caller_name=caller_name, wished_dates=dates, note=cleaned,
    )


def request_subject(asset: Asset) -> str:
    return f"Software update on request: {asset.name}"


def request_description(update: SoftwareUpdate) -> str:
    lines = [
        f"Update of '{update.asset_name}' requested. Its updates interrupt users: it is installed only at a time agreed "
        "with the customer (softwareUpdateSchedule, then the customer's confirmation), never automatically.",
    ]
    if update.caller_name:
        lines.append(f"Requested by phone by {update.caller_name}.")
    if update.wished_dates:
        lines.append("Wished dates: " + ", ".join(d.isoformat() for d in update.wished_dates) + ".")
    if update.note:
        lines.append(f"Note: {update.note}")
    return "\n".join(lines)


def require_not_final(update: SoftwareUpdate) -> SoftwareUpdate:
    """CONFLICT for an update installed or called off: no step takes it further."""
    if update.state is SoftwareUpdateState.INSTALLED:
        raise Conflict(
            f"The update of '{update.asset_name}' was recorded installed on {berlin_text(update.installed_at)}.",
            field="ticketId", hint="Request a new update with softwareUpdateRequest.",
        )
    if update.state is SoftwareUpdateState.CANCELLED:
        raise Conflict(
            f"The update of '{update.asset_name}' was called off on {berlin_text(update.cancelled_at)} (its ticket was "
            "resolved or closed); no time agreed on it holds any more.",
            field="ticketId", hint="Request the update again with softwareUpdateRequest.",
        )
    return update


def cancel(update: SoftwareUpdate, *, by: str, now: datetime) -> SoftwareUpdate:
    """The update called off: its ticket was resolved or closed outside the workflow. Final."""
    require_not_final(update)
    return replace(update, state=SoftwareUpdateState.CANCELLED, cancelled_by=by, cancelled_at=ensure_utc(now))


def installation_window_ends_at(starts_at: datetime) -> datetime:
    """The end of the agreed Berlin day (the next midnight in Berlin): until then the update may be recorded installed."""
    day = berlin_date(starts_at) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(timezone.utc)


def agreement_lapsed(update: SoftwareUpdate, *, now: datetime) -> bool:
    """A confirmed time whose Berlin day is over without the update being recorded installed."""
    return (update.state is SoftwareUpdateState.CONFIRMED and update.starts_at is not None
            and ensure_utc(now) >= installation_window_ends_at(update.starts_at))


def propose(update: SoftwareUpdate, *, starts_at: datetime, by: str, now: datetime) -> SoftwareUpdate:
    """Staff propose when to install; a new proposal replaces an earlier one (a confirmed one is to be confirmed again)."""
    require_not_final(update)
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise ValidationFailed("Give the time with its time zone, e.g. 2026-12-04T17:00:00Z.", field="startsAt")
    if ensure_utc(starts_at) <= ensure_utc(now):
        raise ValidationFailed(f"The proposed time {berlin_text(starts_at)} has passed.", field="startsAt",
                               hint="Propose a time in the future, ideally one of the customer's wished dates.")
    return replace(update, state=SoftwareUpdateState.PROPOSED, starts_at=ensure_utc(starts_at), proposed_by=by,
                   confirmed_by=None, confirmed_caller_name=None, confirmed_at=None)


def confirm(update: SoftwareUpdate, *, by: str, now: datetime, caller_name: str | None = None) -> SoftwareUpdate:
    state = require_not_final(update).state
    if state is SoftwareUpdateState.REQUESTED:
        raise PreconditionFailed(f"No time has been proposed for the update of '{update.asset_name}' yet.", field="ticketId",
                                 hint="The service desk proposes a date and time; confirm it then.")
    if state is SoftwareUpdateState.CONFIRMED:
        raise Conflict(f"The update of '{update.asset_name}' is confirmed already for {berlin_text(update.starts_at)}.",
                       field="ticketId", hint="For another time, ask with softwareUpdateDecline.")
    if update.starts_at <= ensure_utc(now):
        raise PreconditionFailed(f"The proposed time {berlin_text(update.starts_at)} has passed.", field="ticketId",
                                 hint="Ask for another date with softwareUpdateDecline.")
    return replace(update, state=SoftwareUpdateState.CONFIRMED, confirmed_by=by, confirmed_caller_name=caller_name,
                   confirmed_at=ensure_utc(now))


def decline(
    update: SoftwareUpdate, *, now: datetime, wished_dates: Iterable[date] | None = None, note: str | None = None,
) -> SoftwareUpdate:
    """The customer asks for another date than the one proposed (or agreed): back to REQUESTED with the new wishes."""
    state = require_not_final(update).state
    if state is SoftwareUpdateState.REQUESTED:
        raise PreconditionFailed(f"No time has been proposed for the update of '{update.asset_name}' yet.", field="ticketId",
                                 hint="Add your wishes as a comment (ticketCommentAdd); the service desk proposes a time.")
    if state is SoftwareUpdateState.CONFIRMED and update.starts_at <= ensure_utc(now) and not agreement_lapsed(update, now=now):
        raise Conflict(f"The agreed time {berlin_text(update.starts_at)} has begun.", field="ticketId",
                       hint="Call the service desk to stop the update; after the agreed day you may ask for another date.")
    dates, cleaned = _wishes(wished_dates, note, now=now)
    return replace(update, state=SoftwareUpdateState.REQUESTED, wished_dates=dates, note=cleaned or update.note,
                   starts_at=None, proposed_by=None, confirmed_by=None, confirmed_caller_name=None, confirmed_at=None)


def record_installed(update: SoftwareUpdate, *, by: str, now: datetime) -> SoftwareUpdate:
    state = require_not_final(update).state
    if state is not SoftwareUpdateState.CONFIRMED:
        raise PreconditionFailed(
            f"The customer has not confirmed a time for the update of '{update.asset_name}'.", field="ticketId",
            hint="Propose a time (softwareUpdateSchedule) and install only once the customer has confirmed it.",
        )
    if ensure_utc(now) < update.starts_at:
        raise PreconditionFailed(
            f"The update of '{update.asset_name}' is agreed for {berlin_text(update.starts_at)}, not before.", field="ticketId",
            hint="Install it at the agreed time and record it then; for an earlier time propose one (softwareUpdateSchedule).",
        )
    if agreement_lapsed(update, now=now):
        raise PreconditionFailed(
            f"The update of '{update.asset_name}' was agreed for {berlin_text(update.starts_at)}; that day is over, so the "
            "agreement has lapsed.", field="ticketId",
            hint="Propose a new time (softwareUpdateSchedule) and install it once the customer has confirmed it.",
        )
    return replace(update, state=SoftwareUpdateState.INSTALLED, installed_by=by, installed_at=ensure_utc(now))


def check_asset_change(asset: Asset, changed: Asset, *, open_request_number: str | None) -> None:
    """While an update of ``asset`` is requested (its ticket ``open_request_number``), it stays software that interrupts
    users: un-marking it or making it HARDWARE is CONFLICT naming that ticket."""
    if open_request_number is None or interrupts_users(changed) or not interrupts_users(asset):
        return
    field = "kind" if changed.kind is not AssetKind.SOFTWARE else "interruptsUsers"
    raise Conflict(
        f"An update of '{asset.name}' is requested (ticket {open_request_number}): it stays software that interrupts users "
        "until that update is installed or called off.", field=field,
        hint=f"Finish ticket {open_request_number} (softwareUpdateRecordInstalled) or call it off (ticketStatusChange to "
             "RESOLVED), then change the asset.",
    )


def step_notice(before: SoftwareUpdate, after: SoftwareUpdate) -> tuple[str, str]:
    """The headline and text of the notice of the step from ``before`` to ``after`` (times in Berlin time)."""
    name = after.asset_name
    state = after.state
    if state is SoftwareUpdateState.PROPOSED:
        again = " instead of the time proposed before" if before.state is not SoftwareUpdateState.REQUESTED else ""
        return (
            f"Update of {name} proposed for {berlin_text(after.starts_at)}",
            f"The service desk proposes to install the update of '{name}' on {berlin_text(after.starts_at)}{again}. Its "
            "users cannot work with it while it is installed. Please confirm the time in the portal or ask for another "
            "date (or call the service desk); it is installed only once you have confirmed it.",
        )
    if state is SoftwareUpdateState.CONFIRMED:
        by_phone = f" (confirmed by phone by {after.confirmed_caller_name})" if after.confirmed_caller_name else ""
        return (
            f"Update of {name} agreed for {berlin_text(after.starts_at)}",
            f"The update of '{name}' is agreed for {berlin_text(after.starts_at)}{by_phone}. It is installed on that day "
            "from that time; until then you may still ask for another date.",
        )
    if state is SoftwareUpdateState.REQUESTED:  # declined
        wishes = ("Wished dates: " + ", ".join(d.isoformat() for d in after.wished_dates) + ". ") if after.wished_dates else ""
        was = "agreed" if before.state is SoftwareUpdateState.CONFIRMED else "proposed"
        return (
            f"Another date asked for the update of {name}",
            f"Another date than the {was} {berlin_text(before.starts_at)} was asked for the update of '{name}'; it is not "
            f"installed then. {wishes}The service desk proposes a new time.",
        )
    if state is SoftwareUpdateState.INSTALLED:
        return (
            f"Update of {name} installed",
            f"The update of '{name}' was installed; recorded on {berlin_text(after.installed_at)}.",
        )
    agreed = f" The time {'agreed' if before.state is SoftwareUpdateState.CONFIRMED else 'proposed'} for it " \
             f"({berlin_text(before.starts_at)}) no longer holds." if before.starts_at else ""
    return (
        f"Update of {name} called off",
        f"The requested update of '{name}' was called off on {berlin_text(after.cancelled_at)}: its ticket was resolved or "
        f"closed.{agreed} It is not installed; request it again if it is still needed.",
    )


def maintenance_exclusion_text(assets: Iterable[Asset]) -> str | None:
    """What a maintenance ticket says about the customer's software that interrupts users (``None``: it has none)."""
    names = sorted({asset.name for asset in assets if interrupts_users(asset)}, key=str.casefold)
    if not names:
        return None
    return (
        "Not included: updates of software that interrupts users (" + "; ".join(names) + "). Updates only on request: "
        "installed only when the customer requests one by ticket, at the time agreed with the customer."
    )
