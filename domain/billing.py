"""Billing-run planning: due charges and billable service items become invoice drafts.

``plan_billing_run`` is pure: the scheduled job reads what is due, plans, then issues
each ``PlannedInvoice`` in one transaction (allocate the number, put the invoice if its
id does not exist yet, mark the consumed charges and service items billed on condition
that they are not billed yet). The plan never reads the clock; ``now`` decides the
billing mode, ``run_date`` names the run.

Decided here, where ``DOMAIN.md`` leaves room:

* **Who pays** is the billing mode of the charge's partnership link in force at ``now``
  (``PartnerLink.billing_mode_at``): a switch moves charges billed after it, never issued
  invoices. CUSTOMER_PAYS → the customer at public price (the charge amount) and a
  ``Cashback`` for the partner; PARTNER_PAYS → the partner, each charge line less its
  reseller discount, rounded half-up once.
* **Grouping**: one invoice per payer, customer, partner and currency per run. A partner
  that pays gets one invoice per customer (its customers' charges are not mixed); a
  customer paying for two partners' subscriptions gets one invoice per partner, so each
  invoice and cashback has exactly one partner.
* **Idempotency**: the invoice id is derived from the run date, payer, customer, partner
  and currency, so a re-run of the same run (after a crash) plans the same ids and the
  conditional put refuses a second invoice. Charges arriving between the attempts stay
  due and go to the next run.
* **Credits** (cancellations and reductions in the window) are netted as negative lines
  into the payer's invoice of the run; if a group nets below zero it becomes a credit note
  (without a corrected invoice: the charge does not say which invoice it credits).
  Cashback is computed on the net of the charge lines, so credits claw it back (a
  negative cashback).
* **Service items** (service reports, time) are billed at their agreed price to the payer:
  the customer when there is no partner; with a partner, by the link's billing mode. The
  reseller discount and cashback apply to resold subscriptions only, not to services.
* **Problems do not stop a run**: a charge whose customer, partnership link or partner
  terms are unknown is left unbilled and reported in ``BillingPlan.skipped``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Mapping

from domain.calendar import ensure_utc
from domain.errors import Conflict, ValidationFailed
from domain.invoices import (
    PAYMENT_TERMS_DAYS,
    BillingParty,
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    notes_for,
    payment_method_for,
    vat_rate_for,
    vat_treatment_for,
)
from domain.money import Money, round_cents
from domain.organisations import BillingMode, PartnerLink
from domain.subscriptions import Charge, ChargeKind
from domain.validation import require_text

BILLING_RUN_CREDIT_REASON = "Credits for subscription changes within the cancellation window"


@dataclass(frozen=True)
class ServiceItem:
    """Something billable that is not a subscription charge, e.g. a service report's amount."""

    customer_id: str
    description: str
    quantity: Decimal
    unit_price: Money
    reference: str  # e.g. the service report id; unique per item
    partner_id: str | None = None
    period_start: date | None = None
    period_end: date | None = None  # exclusive

    def __post_init__(self) -> None:
        require_text(self.reference, "reference", label="The service item reference")
        require_text(self.description, "description", label="The service item description", max_length=500)
        if Decimal(self.quantity) <= 0:
            raise ValidationFailed("A service item's quantity is positive.", field="quantity")
        if self.unit_price.amount < 0:
            raise ValidationFailed("A service item's unit price cannot be negative.", field="unitPrice")


@dataclass(frozen=True)
class PartnerTerms:
    """A partner as payer and earner: its reseller discount and cashback, in percent (from its tier or agreement)."""

    party: BillingParty
    reseller_discount_percent: Decimal = Decimal("0")
    cashback_percent: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        for name in ("reseller_discount_percent", "cashback_percent"):
            if not Decimal("0") <= getattr(self, name) < Decimal("100"):
                raise ValidationFailed(f"{getattr(self, name)}% is not a percentage below 100.", field=name)

    @property
    def partner_id(self) -> str:
        return self.party.organisation_id


@dataclass(frozen=True)
class CustomerAccount:
    """A customer as payer, with its partnership links (which carry the billing-mode history)."""

    party: BillingParty
    partner_links: tuple[PartnerLink, ...] = ()

    @property
    def customer_id(self) -> str:
        return self.party.organisation_id

    def link_to(self, partner_id: str) -> PartnerLink | None:
        return next((link for link in self.partner_links if link.partner_id == partner_id), None)


@dataclass(frozen=True)
class Cashback:
    """What a partner earns on a customer-pays invoice (negative: clawed back); for the commission module."""

    partner_id: str
    invoice_id: str
    amount: Money


@dataclass(frozen=True)
class PlannedInvoice:
    draft: InvoiceDraft
    charge_ids: frozenset[str]  # consumed: mark them billed with the invoice, in one transaction
    service_item_references: frozenset[str]
    cashback: Cashback | None = None

    @property
    def invoice_id(self) -> str:
        return self.draft.invoice_id


@dataclass(frozen=True)
class SkippedItem:
    reference: str  # the charge id or service item reference
    customer_id: str
    reason: str


@dataclass(frozen=True)
class BillingPlan:
    run_date: date
    invoices: tuple[PlannedInvoice, ...]
    skipped: tuple[SkippedItem, ...] = ()

    @property
    def charge_ids(self) -> frozenset[str]:
        return frozenset(charge_id for planned in self.invoices for charge_id in planned.charge_ids)

    def invoice_for(self, payer_id: str, customer_id: str) -> PlannedInvoice | None:
        """The payer's invoice for one customer (the only one unless the customer has several partners)."""
        return next(
            (p for p in self.invoices if p.draft.payer_id == payer_id and p.draft.customer_id == customer_id), None
        )


def invoice_id_for_run(
    run_date: date, payer_id: str, customer_id: str, partner_id: str | None, currency: str = "EUR"
) -> str:
    """The idempotency key of a billing run's invoice: same run, payer, customer, partner, currency → same id."""
    key = "|".join(["billing-run", run_date.isoformat(), payer_id, customer_id, partner_id or "-", currency])
    return "inv_" + hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class _Payer:
    party: BillingParty
    mode: BillingMode | None
    discount_percent: Decimal
    cashback_percent: Decimal


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _payer(
    customer_id: str,
    partner_id: str | None,
    now: datetime,
    customers: Mapping[str, CustomerAccount],
    partners: Mapping[str, PartnerTerms],
) -> _Payer:
    account = customers.get(customer_id)
    if account is None:
        raise _Skip(f"no billing data for customer {customer_id}")
    if partner_id is None:
        return _Payer(account.party, None, Decimal("0"), Decimal("0"))
    link = account.link_to(partner_id)
    if link is None:
        raise _Skip(f"customer {customer_id} has no partnership link with {partner_id}")
    terms = partners.get(partner_id)
    if terms is None:
        raise _Skip(f"no billing terms for partner {partner_id}")
    mode = link.billing_mode_at(now)
    if mode is BillingMode.PARTNER_PAYS:
        return _Payer(terms.party, mode, terms.reseller_discount_percent, Decimal("0"))
    return _Payer(account.party, mode, Decimal("0"), terms.cashback_percent)


@dataclass
class _Group:
    payer: _Payer
    customer_id: str
    partner_id: str | None
    currency: str
    charges: list[Charge]
    items: list[ServiceItem]


def _unique(entries: Iterable, key, what: str) -> list:
    by_key: dict[str, object] = {}
    for entry in entries:
        existing = by_key.setdefault(key(entry), entry)
        if existing != entry:
            raise Conflict(f"Two different {what} share the id {key(entry)}.", field=what)
    return list(by_key.values())


_KIND_ORDER = {ChargeKind.RECURRING: 0, ChargeKind.PRORATA_INCREASE: 1, ChargeKind.CREDIT: 2}


def _charge_line(charge: Charge, payer: _Payer, vat_rate: Decimal) -> InvoiceLine:
    discount = payer.discount_percent
    net = charge.amount.amount * (Decimal(100) - discount) / Decimal(100)
    credit = charge.kind is ChargeKind.CREDIT
    return InvoiceLine(
        description=charge.description,
        quantity=Decimal(-charge.quantity if credit else charge.quantity),
        unit_price=charge.unit_price,
        net_amount=Money(round_cents(net), charge.amount.currency),
        vat_rate=vat_rate,
        period_start=charge.period_start,
        period_end=charge.period_end,
        source_reference=charge.charge_id,
        discount_percent=discount,
    )


def _item_line(item: ServiceItem, vat_rate: Decimal) -> InvoiceLine:
    return InvoiceLine.priced(
        item.description,
        Decimal(item.quantity),
        item.unit_price,
        vat_rate,
        period_start=item.period_start,
        period_end=item.period_end,
        source_reference=item.reference,
    )


def _check_charge(charge: Charge) -> None:
    if charge.amount.currency != charge.unit_price.currency:
        raise _Skip(f"charge {charge.charge_id} mixes currencies")
    if charge.kind is ChargeKind.CREDIT and charge.amount.amount > 0:
        raise _Skip(f"credit {charge.charge_id} has a positive amount")
    if charge.kind is not ChargeKind.CREDIT and charge.amount.amount < 0:
        raise _Skip(f"charge {charge.charge_id} has a negative amount")


def plan_billing_run(
    *,
    run_date: date,
    now: datetime,
    issuer_id: str,
    charges: Iterable[Charge],
    customers: Mapping[str, CustomerAccount],
    partners: Mapping[str, PartnerTerms],
    service_items: Iterable[ServiceItem] = (),
    payment_terms_days: int = PAYMENT_TERMS_DAYS,
) -> BillingPlan:
    """Group due charges and service items into one invoice draft per payer, customer, partner and currency."""
    now = ensure_utc(now)
    groups: dict[tuple[str, str, str | None, str], _Group] = {}
    skipped: list[SkippedItem] = []

    def group_for(payer: _Payer, customer_id: str, partner_id: str | None, currency: str) -> _Group:
        key = (payer.party.organisation_id, customer_id, partner_id, currency)
        if key not in groups:
            groups[key] = _Group(payer, customer_id, partner_id, currency, [], [])
        return groups[key]

    for charge in _unique(charges, lambda c: c.charge_id, "charges"):
        try:
            _check_charge(charge)
            payer = _payer(charge.customer_id, charge.partner_id, now, customers, partners)
        except _Skip as skip:
            skipped.append(SkippedItem(charge.charge_id, charge.customer_id, skip.reason))
            continue
        group_for(payer, charge.customer_id, charge.partner_id, charge.amount.currency).charges.append(charge)

    for item in _unique(service_items, lambda i: i.reference, "service items"):
        try:
            payer = _payer(item.customer_id, item.partner_id, now, customers, partners)
        except _Skip as skip:
            skipped.append(SkippedItem(item.reference, item.customer_id, skip.reason))
            continue
        group_for(payer, item.customer_id, item.partner_id, item.unit_price.currency).items.append(item)

    planned = [
        _plan_invoice(group, run_date=run_date, issuer_id=issuer_id, payment_terms_days=payment_terms_days)
        for _, group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] or "", kv[0][3]))
    ]
    return BillingPlan(run_date, tuple(planned), tuple(sorted(skipped, key=lambda s: (s.customer_id, s.reference))))


def _plan_invoice(group: _Group, *, run_date: date, issuer_id: str, payment_terms_days: int) -> PlannedInvoice:
    payer = group.payer
    treatment = vat_treatment_for(payer.party)
    rate = vat_rate_for(treatment)
    charges = sorted(group.charges, key=lambda c: (c.period_start, _KIND_ORDER[c.kind], c.charge_id))
    items = sorted(group.items, key=lambda i: (i.period_start or run_date, i.reference))
    charge_lines = [_charge_line(charge, payer, rate) for charge in charges]
    lines = tuple(charge_lines + [_item_line(item, rate) for item in items])
    invoice_id = invoice_id_for_run(
        run_date, payer.party.organisation_id, group.customer_id, group.partner_id, group.currency
    )
    net = sum((line.net_amount.amount for line in lines), Decimal("0"))
    credit_note = net < 0
    draft = InvoiceDraft(
        invoice_id=invoice_id,
        kind=InvoiceKind.CREDIT_NOTE if credit_note else InvoiceKind.INVOICE,
        issuer_id=issuer_id,
        payer_id=payer.party.organisation_id,
        customer_id=group.customer_id,
        currency=group.currency,
        lines=lines,
        vat_treatment=treatment,
        payment_method=payment_method_for(payer.party),
        partner_id=group.partner_id,
        billing_mode=payer.mode,
        payer_vat_id=payer.party.vat_id,
        payer_country=payer.party.country,
        notes=notes_for(treatment),
        payment_terms_days=0 if credit_note else payment_terms_days,
        reason=BILLING_RUN_CREDIT_REASON if credit_note else None,
        billing_run_date=run_date,
    )
    cashback = None
    if payer.mode is BillingMode.CUSTOMER_PAYS and payer.cashback_percent and group.partner_id:
        base = sum((line.net_amount.amount for line in charge_lines), Decimal("0"))
        amount = round_cents(base * payer.cashback_percent / Decimal(100))
        if amount:
            cashback = Cashback(group.partner_id, invoice_id, Money(amount, group.currency))
    return PlannedInvoice(
        draft=draft,
        charge_ids=frozenset(charge.charge_id for charge in charges),
        service_item_references=frozenset(item.reference for item in items),
        cashback=cashback,
    )
