"""Assets: the hardware and software the MSP looks after for a customer.

Decided here: an asset has at most one warranty end and one licence expiry (a second
licence is a second asset). "Expiring in the next N days" means a warranty or licence
whose last day lies from today to today + N inclusive; what has expired already is not
"expiring". Technical data is free key/value text (CPU, RAM, firmware, seats...).
An asset is corrected or brought up to date (a renewed warranty or licence, new technical data) with the same checks
as at its creation; what is not given stays, an empty text clears it, technical data given replaces the whole list.
A SOFTWARE asset may be marked as interrupting users (its updates are installed only on request, scheduled with the
customer: ``domain.software_updates``); a HARDWARE asset cannot be (INVALID_INPUT), nor be made HARDWARE while marked.
``open_update_ticket_id`` names the ticket of its open update request, set and cleared by those requests only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Iterable, Mapping

from domain.calendar import ensure_utc
from domain.errors import ValidationFailed
from domain.validation import require_text

MAX_EXPIRY_WINDOW_DAYS = 366


class AssetKind(str, Enum):
    HARDWARE = "HARDWARE"
    SOFTWARE = "SOFTWARE"


class ExpiryKind(str, Enum):
    WARRANTY = "WARRANTY"
    LICENCE = "LICENCE"


@dataclass(frozen=True)
class Asset:
    id: str
    customer_id: str
    kind: AssetKind
    name: str
    created_at: datetime
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    technical_data: Mapping[str, str] = field(default_factory=dict)
    purchased_on: date | None = None
    warranty_until: date | None = None  # last day covered
    licence_expires_on: date | None = None  # last day licensed
    interrupts_users: bool = False  # SOFTWARE only: updates only on request, scheduled with the customer
    open_update_ticket_id: str | None = None  # the ticket of its open update request (domain.software_updates)
    version: int = 0

    @property
    def earliest_expiry(self) -> date | None:
        dates = [d for d in (self.warranty_until, self.licence_expires_on) if d is not None]
        return min(dates) if dates else None


def new_asset(
    *,
    asset_id: str,
    customer_id: str,
    kind: AssetKind,
    name: str,
    now: datetime,
    manufacturer: str | None = None,
    model: str | None = None,
    serial_number: str | None = None,
    technical_data: Mapping[str, str] | None = None,
    purchased_on: date | None = None,
    warranty_until: date | None = None,
    licence_expires_on: date | None = None,
    interrupts_users: bool = False,
) -> Asset:
    if interrupts_users is not True and interrupts_users is not False:
        raise ValidationFailed("Say true or false.", field="interruptsUsers")
    if interrupts_users and kind is not AssetKind.SOFTWARE:
        raise ValidationFailed(
            "Only software can interrupt users when it is updated.", field="interruptsUsers",
            hint="Mark the software running on the device (a SOFTWARE asset) instead; for a SOFTWARE asset made HARDWARE, "
                 "set interruptsUsers to false in the same change.",
        )
    if purchased_on and warranty_until and warranty_until < purchased_on:
        raise ValidationFailed("The warranty ends before the purchase.", field="warrantyUntil")
    if purchased_on and licence_expires_on and licence_expires_on < purchased_on:
        raise ValidationFailed("The licence expires before the purchase.", field="licenceExpiresOn")
    data = {}
    for key, value in (technical_data or {}).items():
        clean_key = require_text(key, "technicalData", label="A technical data name", max_length=60)
        data[clean_key] = require_text(value, "technicalData", label=f"The value of '{clean_key}'", max_length=500)
    if len(data) > 50:
        raise ValidationFailed("At most 50 technical data entries per asset.", field="technicalData")

    def optional(value: str | None) -> str | None:
        return (value or "").strip() or None

    return Asset(
        id=asset_id,
        customer_id=customer_id,
        kind=kind,
        name=require_text(name, "name", label="The asset name"),
        created_at=ensure_utc(now),
        manufacturer=optional(manufacturer),
        model=optional(model),
        serial_number=optional(serial_number),
        technical_data=data,
        purchased_on=purchased_on,
        warranty_until=warranty_until,
        licence_expires_on=licence_expires_on,
        interrupts_users=interrupts_users,
    )


def changed_asset(
    asset: Asset,
    *,
    kind: AssetKind | None = None,
    name: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    serial_number: str | None = None,
    technical_data: Mapping[str, str] | None = None,
    purchased_on: date | None = None,
    warranty_until: date | None = None,
    licence_expires_on: date | None = None,
    interrupts_users: bool | None = None,
) -> Asset:
    """``asset`` with what is given changed (``None``: as it is; ``""``: cleared), checked as ``new_asset`` checks a new one."""

    def kept(new, old):
        return old if new is None else new

    checked = new_asset(
        asset_id=asset.id, customer_id=asset.customer_id, now=asset.created_at, kind=kept(kind, asset.kind), name=kept(name, asset.name),
        manufacturer=kept(manufacturer, asset.manufacturer), model=kept(model, asset.model),
        serial_number=kept(serial_number, asset.serial_number), technical_data=kept(technical_data, asset.technical_data),
        purchased_on=kept(purchased_on, asset.purchased_on), warranty_until=kept(warranty_until, asset.warranty_until),
        licence_expires_on=kept(licence_expires_on, asset.licence_expires_on),
        interrupts_users=kept(interrupts_users, asset.interrupts_users),
    )
    return replace(checked, created_at=asset.created_at, open_update_ticket_id=asset.open_update_ticket_id, version=asset.version)


@dataclass(frozen=True)
class Expiry:
    asset: Asset
    kind: ExpiryKind
    on: date
    days_left: int


def check_window(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_EXPIRY_WINDOW_DAYS:
        raise ValidationFailed(f"Look ahead 0 to {MAX_EXPIRY_WINDOW_DAYS} days.", field="days")
    return days


def expiring_within(assets: Iterable[Asset], *, today: date, days: int) -> list[Expiry]:
    """Warranties and licences ending from ``today`` to ``today + days`` inclusive, soonest first."""
    horizon = today + timedelta(days=check_window(days))
    found = []
    for asset in assets:
        for kind, on in ((ExpiryKind.WARRANTY, asset.warranty_until), (ExpiryKind.LICENCE, asset.licence_expires_on)):
            if on is not None and today <= on <= horizon:
                found.append(Expiry(asset, kind, on, (on - today).days))
    return sorted(found, key=lambda e: (e.on, e.asset.name, e.kind.value))
