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
  reseller discount, rounded half-up once. A reseller SaaS charge (``Charge.billed_to_partner``)
  is always the partner's, whatever the link says (the customer may not even be an organisation
  here: then the charge names the partner as customer), at the catalogue price: the programme's
  reseller discount is off the public price of resold CSP subscriptions, and the SaaS catalogue
  price is the reseller's price already; no cashback either. It joins the partner's invoice
  for that customer, so the grouping below holds.
* **Who is credited** is whoever paid for what the credit takes back, whatever the mode is
  now (a credit corrects an issued invoice, and issued invoices never move):
  ``trace_credit`` follows the credit's subscription to the charges that billed the seats
  of its billing cycle (same subscription, a period that contains the credit's first day)
  and, through ``billed_invoice_id``, to their invoices. The cycle is replayed in time
  order (on one day, by the instant of each seat change): each credit takes its seats newest
  first (as ``reduce_seats`` removes them) from the lots there were when it was made, less
  what earlier credits took, so a second reduction after a new lot takes that lot's seats,
  not seats an earlier credit took back already, and a reduction before an addition on the
  same day takes none of the added seats. Each
  share is credited to the payer of its invoice at the discount of the line
  that billed it (the customer at public price, the partner less the discount it got).
  Seats not billed yet (bought and cancelled before the nightly run) follow the mode in
  force, like the charge that bills them in the same run. A credit whose seats were billed
  to two different payers (a billing-mode switch inside one billing cycle, between an
  order and an addition) cannot be one line of one document: it is skipped and reported,
  to be credited by hand.
* **Grouping**: one invoice per payer, customer, partner and currency per run. A partner
  that pays gets one invoice per customer (its customers' charges are not mixed); a
  customer paying for two partners' subscriptions gets one invoice per partner, so each
  invoice and cashback has exactly one partner.
* **Idempotency**: the invoice id is derived from the run date, payer, customer, partner
  and currency, so a re-run of the same run (after a crash) plans the same ids and the
  conditional put refuses a second invoice. Charges arriving between the attempts stay
  due and go to the next run.
* **Credits** (cancellations and reductions in the window) of seats billed on issued
  invoices become the payer's correction credit notes of the run, apart from its new
  charges: **one per corrected invoice**, which names it (``corrects_invoice_id``), is
  registered on it and counts for any later credit of it (``PlannedInvoice.corrections``: the
  invoice and the net credited on it). A credit whose seats two invoices billed (a
  cancellation after an addition) has a share on each invoice's note and is marked billed
  with the last; a share a crashed run credited already (a line of the credit on a note of
  the invoice) is not credited again. **Never beyond the invoice**: a credit that takes
  back more of an invoice than is left of its net after the credit notes issued for it (by
  hand too) is skipped and reported, to be decided and credited by hand.
  Credits of seats not billed yet are netted as negative lines into the payer's invoice of
  the run; if that group nets below zero it becomes a credit note without a corrected
  invoice.
* **Cashback** is computed on the net of the charge lines, so credits of seats not billed
  yet claw it back in the run (a negative cashback). A credit of seats billed on an issued
  invoice earns no cashback of its own: the commission ledger reduces that invoice's
  cashback and referral commission by the net credited on it (``corrections``; see
  ``domain.commissions.apply_credit``), as for any credit note of the invoice.
* **Service items** (service reports, time) are billed at their agreed price to the payer:
  the customer when there is no partner; with a partner, by the link's billing mode. The
  reseller discount and cashback apply to resold subscriptions only, not to services.
* **Invoices of their own** (``ServiceItem.separate_invoice``): rental and data-centre hosting
  fees are billed separately (``RENTAL_AND_HOSTING``), by SEPA direct debit when the payer has a
  mandate on file (``payment_method_for``), else by transfer; the correction of an overdrawn
  prepaid quota is a correction invoice (``QUOTA_CORRECTION``), never a line of the fixed monthly
  invoice booked on the same day. Each is one more group of the payer (its own invoice id);
  everything else keeps the grouping above and is paid by transfer.
* **Branches** (DOMAIN.md, customer onboarding: branches billed centrally or separately). Decided: what the
  service desk delivers at a site can name the customer's branch (``ServiceItem.branch_key``, from the contract or
  the ticket: rental flat rate, data-centre hosting, managed services, prepaid quota, service reports); CSP and SaaS
  subscriptions belong to the customer's tenant and name none, so they stay billed centrally. A customer billed
  ``PER_BRANCH`` (``CustomerAccount.branch_billing``) that pays itself gets one invoice per branch for the items of that
  branch (``InvoiceDraft.branch``: the PDF prints the company name with the branch name and the branch's address,
  ``InvoiceParty.at_branch``) and the invoice of the head office (company address) for everything without a branch; the
  grouping above still holds inside each (a branch's rental and hosting fees are that branch's invoice of their own,
  by direct debit under the customer's mandate), and the branch is part of the invoice id. A customer billed
  ``CENTRAL`` gets its invoices as before, each line naming its branch (``InvoiceLine.branch``). Items paid by a
  partner (partner pays) stay on the partner's invoice for the customer, their lines naming the branch: the branch
  billing is the customer's choice of how it is billed. An item naming a branch no longer recorded (removal is
  refused while an open contract or ticket names it; an ended contract's last items may be left) goes on the head
  office's invoice, its line naming the branch key it was made for.
  A service report over several sites always comes as one item per branch (``<report id>#<branch key>``, its cents
  shared once per report: ``domain.contracts.bill_service_report``), so the split is decided here, by the billing mode
  and branch billing in force at the run: the parts that land on one invoice are its lines side by side (sorted by
  period and reference), each naming its branch, adding up to the report's total.
  Decided: a branch gets invoices of its own only when it is in the payer's country (the country of the customer's
  company address). The VAT treatment follows the payer (``vat_treatment_for``: its country and VAT id), so an invoice
  addressed to a branch abroad would state a treatment that does not fit the address it is sent to (a German
  customer's Wien branch billed 19 % German VAT at a Wien address; an Austrian customer's Hamburg branch billed by
  reverse charge at a Hamburg address). The items of a branch abroad go on the head office's invoice, their lines
  naming the branch. Refusing PER_BRANCH for such customers at onboarding would leave the data stored before unbillable
  per branch; this keeps every customer billable as stored.
* **Problems do not stop a run**: a charge whose customer, partnership link or partner
  terms are unknown is left unbilled and reported in ``BillingPlan.skipped``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Iterable, Mapping, Sequence

from domain.calendar import ensure_utc
from domain.errors import Conflict, ValidationFailed
from domain.invoices import (
    PAYMENT_TERMS_DAYS,
    BillingParty,
    DirectDebit,
    Invoice,
    InvoiceBranch,
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    PaymentMethod,
    notes_for,
    payment_method_for,
    vat_rate_for,
    vat_treatment_for,
)
from domain.money import Money, round_cents
from domain.organisations import BillingMode, Branch, BranchBilling, PartnerLink
from domain.subscriptions import Charge, ChargeKind
from domain.validation import require_text

BILLING_RUN_CREDIT_REASON = "Credits for subscription changes within the cancellation window"


class SeparateInvoice(str, Enum):
    """Service items that go on an invoice of their own, apart from the payer's other items of the run."""

    RENTAL_AND_HOSTING = "RENTAL_AND_HOSTING"  # billed separately, by SEPA direct debit with a mandate on file
    QUOTA_CORRECTION = "QUOTA_CORRECTION"  # the correction invoice of an overdrawn prepaid quota


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
    separate_invoice: SeparateInvoice | None = None  # None: on the payer's regular invoice of the run
    branch_key: str | None = None  # the customer's branch it was delivered at (None: head office)

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
    branches: tuple[Branch, ...] = ()
    branch_billing: BranchBilling = BranchBilling.CENTRAL

    @classmethod
    def of(cls, customer) -> "CustomerAccount":
        """A ``domain.organisations.Organisation`` as billing reads it."""
        onboarding = customer.onboarding
        return cls(
            BillingParty.of(customer), customer.partner_links,
            branches=onboarding.branches if onboarding else (),
            branch_billing=onboarding.branch_billing if onboarding else BranchBilling.CENTRAL,
        )

    @property
    def customer_id(self) -> str:
        return self.party.organisation_id

    def branch(self, key: str | None) -> Branch | None:
        return next((branch for branch in self.branches if branch.key == key), None) if key else None

    def link_to(self, partner_id: str) -> PartnerLink | None:
        return next((link for link in self.partner_links if link.partner_id == partner_id), None)


@dataclass(frozen=True)
class Cashback:
    """What a partner earns on a customer-pays invoice (negative: clawed back); for the commission module.

    ``base`` and ``percent``: the net it was computed from and the rate (``None`` and 0 on records
    made before they were kept); a credit of the invoice takes back ``percent`` of the net it credits.
    """

    partner_id: str
    invoice_id: str
    amount: Money
    base: Money | None = None
    percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class BilledCharge:
    """A charge of a subscription and the issued invoice that billed it (``None`` while unbilled)."""

    charge: Charge
    invoice: Invoice | None = None


@dataclass(frozen=True)
class CreditSource:
    """Seats a credit takes back and where they were billed: the invoice and its line's discount.

    ``invoice`` is ``None`` for seats not billed yet: they follow the billing mode in force.
    """

    seats: int
    invoice: Invoice | None = None
    discount_percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class Correction:
    """An issued invoice a planned credit corrects, and the net credited on it (positive)."""

    invoice_id: str
    invoice_number: str
    credited_net: Money


@dataclass(frozen=True)
class PlannedInvoice:
    draft: InvoiceDraft
    charge_ids: frozenset[str]  # consumed: mark them billed with the invoice, in one transaction
    service_item_references: frozenset[str]
    cashback: Cashback | None = None
    corrections: tuple[Correction, ...] = ()  # issued invoices whose seats its credits take back
    # Every charge with a line on it; a credit shared by several credit notes is consumed by the last of them only.
    credited_charge_ids: frozenset[str] = frozenset()

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
    run_date: date, payer_id: str, customer_id: str, partner_id: str | None, currency: str = "EUR", *, correction: bool = False,
    separate: SeparateInvoice | None = None, corrects: str | None = None, branch: str | None = None,
) -> str:
    """The idempotency key of a billing run's invoice: same run, payer, customer, partner, currency → same id.

    ``correction``: the payer's credit note of the run correcting the issued invoice ``corrects`` (its own id).
    ``separate``: the payer's invoice of items billed separately (its own id).
    ``branch``: the key of the branch a customer billed per branch gets this invoice for (its own id).
    """
    parts = ["billing-run", run_date.isoformat(), payer_id, customer_id, partner_id or "-", currency]
    key = "|".join(
        parts + (["correction"] if correction else []) + ([separate.value] if separate else []) + ([corrects] if corrects else [])
        + ([f"branch:{branch}"] if branch else [])
    )
    return "inv_" + hashlib.sha256(key.encode()).hexdigest()[:20]


_OLDEST_FIRST_KIND = {ChargeKind.RECURRING: 0, ChargeKind.PRORATA_INCREASE: 1}


def _covers(charge: Charge, day: date) -> bool:
    return charge.period_start <= day < charge.period_end


def _within_day(charge: Charge) -> tuple:
    """Where a charge falls on its day: at the instant of its seat change. One without (a regular charge, whose seats
    were held since its cycle began, or one stored before the instant was kept, so made before any that has one) comes
    first."""
    return (0,) if charge.changed_at is None else (1, charge.changed_at)


def trace_credit(credit: Charge, subscription_charges: Iterable[BilledCharge]) -> tuple[CreditSource, ...]:
    """Where the seats ``credit`` takes back were billed, newest seats first.

    The seats of the credit's billing cycle are the charges of its subscription (not credits)
    whose period contains the credit's first day: the cycle's regular charge and the pro-rata
    charges of seats added in it. The cycle is replayed in time order: each lot is added when
    it was made, and each credit of the cycle up to this one takes its seats from the lots
    there were when it was made, newest first (as ``reduce_seats`` removes them). So a credit
    never takes seats an earlier credit took back, nor seats added after it, the same day too
    (earlier: an earlier day, or the same day at an earlier instant of the seat change,
    ``Charge.changed_at``, charges without one first; then lots before credits, credits billed
    already first, then the lower charge id). Seats the charges do not account for (none
    billed yet) get a source without invoice.
    """
    if credit.kind is not ChargeKind.CREDIT:
        raise ValueError(f"{credit.charge_id} is not a credit")
    entries = [e for e in subscription_charges if e.charge.subscription_id == credit.subscription_id]
    lots = [e for e in entries if e.charge.kind is not ChargeKind.CREDIT and _covers(e.charge, credit.period_start)]

    def credit_order(entry: BilledCharge) -> tuple:
        return (entry.charge.period_start, _within_day(entry.charge), 1, entry.invoice is None, entry.charge.charge_id)

    this = BilledCharge(credit, next((e.invoice for e in entries if e.charge.charge_id == credit.charge_id), None))
    earlier = [
        e for e in entries
        if e.charge.kind is ChargeKind.CREDIT and e.charge.charge_id != credit.charge_id
        and e.charge.period_end == credit.period_end and credit_order(e) < credit_order(this)
    ]
    timeline = sorted(
        [((e.charge.period_start, _within_day(e.charge), 0, _OLDEST_FIRST_KIND[e.charge.kind], e.charge.charge_id), e) for e in lots]
        + [(credit_order(e), e) for e in earlier + [this]],
        key=lambda pair: pair[0],
    )
    stack: list[list] = []  # [lot, seats left], oldest first
    sources: list[CreditSource] = []
    for _, entry in timeline:
        if entry.charge.kind is not ChargeKind.CREDIT:
            stack.append([entry, entry.charge.quantity])
            continue
        wanted = entry.charge.quantity
        for lot in reversed(stack):
            seats = min(lot[1], wanted)
            if seats <= 0:
                continue
            lot[1] -= seats
            wanted -= seats
            if entry is this:
                sources.append(_source(lot[0], seats))
            if wanted == 0:
                break
        if entry is this:
            if wanted:
                sources.append(CreditSource(wanted))
            break
    return _merged(sources)


def _source(entry: BilledCharge, seats: int) -> CreditSource:
    if entry.invoice is None:
        return CreditSource(seats)
    line = next((line for line in entry.invoice.lines if line.source_reference == entry.charge.charge_id), None)
    return CreditSource(seats, entry.invoice, line.discount_percent if line is not None else Decimal("0"))


def _merged(sources: list[CreditSource]) -> tuple[CreditSource, ...]:
    """One source per invoice and discount (seats of one invoice billed on two lines are credited on one)."""
    merged: dict[tuple, CreditSource] = {}
    for source in sources:
        key = (source.invoice.id if source.invoice else None, source.discount_percent)
        known = merged.get(key)
        merged[key] = source if known is None else CreditSource(known.seats + source.seats, source.invoice, source.discount_percent)
    return tuple(merged.values())


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


def _reseller(charge: Charge, partners: Mapping[str, PartnerTerms]) -> _Payer:
    """The partner that sells a reseller SaaS subscription pays its charges: no discount, no cashback."""
    terms = partners.get(charge.partner_id)
    if terms is None:
        raise _Skip(f"no billing terms for partner {charge.partner_id}")
    return _Payer(terms.party, BillingMode.PARTNER_PAYS, Decimal("0"), Decimal("0"))


def _payer_of_invoice(
    invoice: Invoice, charge: Charge, customers: Mapping[str, CustomerAccount], partners: Mapping[str, PartnerTerms]
) -> _Payer:
    """The payer of an issued invoice, as it is now (address, VAT id), with the mode the invoice was issued in."""
    account = customers.get(charge.customer_id)
    if account is None:
        raise _Skip(f"no billing data for customer {charge.customer_id}")
    terms = partners.get(charge.partner_id) if charge.partner_id else None
    if invoice.payer_id == account.customer_id:
        cashback = terms.cashback_percent if terms and invoice.billing_mode is BillingMode.CUSTOMER_PAYS else Decimal("0")
        return _Payer(account.party, invoice.billing_mode, Decimal("0"), cashback)
    if terms is not None and invoice.payer_id == terms.partner_id:
        return _Payer(terms.party, invoice.billing_mode, terms.reseller_discount_percent, Decimal("0"))
    raise _Skip(f"credit {charge.charge_id} corrects {invoice.number}, whose payer {invoice.payer_id} has no billing data")


@dataclass(frozen=True)
class _Portion:
    """A charge, or the share of a credit that takes back seats of one invoice, as one line."""

    charge: Charge
    seats: int
    amount: Money
    discount_percent: Decimal
    corrects: Invoice | None = None


def _whole(charge: Charge, payer: _Payer) -> tuple[_Portion, ...]:
    return (_Portion(charge, charge.quantity, charge.amount, payer.discount_percent),)


def _shares(charge: Charge, sources: tuple[CreditSource, ...], payer: _Payer) -> tuple[_Portion, ...]:
    """The credit split by seats over its sources; the last share takes the rounding remainder."""
    portions: list[_Portion] = []
    left = charge.amount.amount
    for n, source in enumerate(sources):
        if n == len(sources) - 1:
            amount = left
        else:
            amount = round_cents(charge.amount.amount * source.seats / charge.quantity)
            left -= amount
        discount = source.discount_percent if source.invoice is not None else payer.discount_percent
        portions.append(_Portion(charge, source.seats, Money(amount, charge.amount.currency), discount, source.invoice))
    return tuple(portions)


def _place_credit(
    charge: Charge,
    sources: tuple[CreditSource, ...],
    now: datetime,
    customers: Mapping[str, CustomerAccount],
    partners: Mapping[str, PartnerTerms],
) -> tuple[_Payer, tuple[_Portion, ...], bool]:
    """Who is credited, in which shares, and whether the credit only corrects issued invoices."""
    billed = [source.invoice for source in sources if source.invoice is not None]
    unbilled = any(source.invoice is None for source in sources)
    if not billed:
        payer = _payer(charge.customer_id, charge.partner_id, now, customers, partners)
        return payer, _whole(charge, payer), False
    payer = _payer(charge.customer_id, charge.partner_id, now, customers, partners) if unbilled else None
    payer_ids = {invoice.payer_id for invoice in billed} | ({payer.party.organisation_id} if payer else set())
    if len(payer_ids) > 1:
        numbers = ", ".join(sorted({invoice.number for invoice in billed}))
        raise _Skip(
            f"credit {charge.charge_id} takes back seats billed to different payers ({numbers}"
            f"{' and seats not billed yet' if unbilled else ''}): the billing mode changed within the billing cycle; credit it by hand"
        )
    if payer is None:
        payer = _payer_of_invoice(billed[0], charge, customers, partners)
    return payer, _shares(charge, sources, payer), not unbilled


@dataclass
class _Group:
    payer: _Payer
    customer_id: str
    partner_id: str | None
    currency: str
    correction: bool
    portions: list[_Portion]
    items: list[ServiceItem]
    separate: SeparateInvoice | None = None
    corrects: str | None = None  # a correction group: the one issued invoice its credit note corrects
    branch: Branch | None = None  # per-branch billing: the branch this group's invoice is for
    branch_names: dict[str, str] | None = None  # item reference -> the branch its line names


def _unique(entries: Iterable, key, what: str) -> list:
    by_key: dict[str, object] = {}
    for entry in entries:
        existing = by_key.setdefault(key(entry), entry)
        if existing != entry:
            raise Conflict(f"Two different {what} share the id {key(entry)}.", field=what)
    return list(by_key.values())


_KIND_ORDER = {ChargeKind.RECURRING: 0, ChargeKind.PRORATA_INCREASE: 1, ChargeKind.CREDIT: 2}


def _charge_line(portion: _Portion, vat_rate: Decimal) -> InvoiceLine:
    charge, discount = portion.charge, portion.discount_percent
    net = portion.amount.amount * (Decimal(100) - discount) / Decimal(100)
    credit = charge.kind is ChargeKind.CREDIT
    return InvoiceLine(
        description=charge.description,
        quantity=Decimal(-portion.seats if credit else portion.seats),
        unit_price=charge.unit_price,
        net_amount=Money(round_cents(net), charge.amount.currency),
        vat_rate=vat_rate,
        period_start=charge.period_start,
        period_end=charge.period_end,
        source_reference=charge.charge_id,
        discount_percent=discount,
    )


def _item_line(item: ServiceItem, vat_rate: Decimal, branch: str | None = None) -> InvoiceLine:
    return InvoiceLine.priced(
        item.description,
        Decimal(item.quantity),
        item.unit_price,
        vat_rate,
        period_start=item.period_start,
        period_end=item.period_end,
        source_reference=item.reference,
        branch=branch,
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
    credit_sources: Mapping[str, tuple[CreditSource, ...]] | None = None,
    credit_notes: Mapping[str, Sequence[Invoice]] | None = None,
    payment_terms_days: int = PAYMENT_TERMS_DAYS,
    sepa_creditor_id: str | None = None,
) -> BillingPlan:
    """Group due charges and service items into one invoice draft per payer, customer, partner and currency.

    ``credit_sources``: for each credit charge, where the seats it takes back were billed
    (``trace_credit``); a credit without sources follows the billing mode in force.
    ``credit_notes``: the credit notes issued so far for each invoice the credits correct (registered on it),
    so a credit note a crashed run issued for one share of a credit is not issued again.
    ``sepa_creditor_id``: the distributor's creditor identifier, printed on direct-debit invoices.
    """
    now = ensure_utc(now)
    credit_sources = credit_sources or {}
    credit_notes = credit_notes or {}
    groups: dict[tuple[str, str, str | None, str, bool, str, str, str], _Group] = {}
    skipped: list[SkippedItem] = []

    def group_for(
        payer: _Payer, customer_id: str, partner_id: str | None, currency: str, correction: bool = False,
        separate: SeparateInvoice | None = None, corrects: str | None = None, branch: Branch | None = None,
    ) -> _Group:
        key = (payer.party.organisation_id, customer_id, partner_id, currency, correction, separate.value if separate else "",
               corrects or "", branch.key if branch else "")
        if key not in groups:
            groups[key] = _Group(payer, customer_id, partner_id, currency, correction, [], [], separate, corrects, branch, {})
        return groups[key]

    left: dict[str, Decimal] = {}  # what is left to credit of each corrected invoice, after this run's credits so far

    def credited_on(invoice: Invoice) -> Decimal:
        return sum((line.net_amount.amount for note in credit_notes.get(invoice.id, ()) for line in note.lines), Decimal("0"))

    def left_of(invoice: Invoice) -> Decimal:
        return left.get(invoice.id, invoice.net_total.amount + credited_on(invoice))

    for charge in _unique(charges, lambda c: c.charge_id, "charges"):
        try:
            _check_charge(charge)
            sources = credit_sources.get(charge.charge_id) if charge.kind is ChargeKind.CREDIT else None
            if sources:
                payer, portions, _ = _place_credit(charge, sources, now, customers, partners)
            elif charge.billed_to_partner:
                payer = _reseller(charge, partners)
                portions = _whole(charge, payer)
            else:
                payer = _payer(charge.customer_id, charge.partner_id, now, customers, partners)
                portions = _whole(charge, payer)
        except _Skip as skip:
            skipped.append(SkippedItem(charge.charge_id, charge.customer_id, skip.reason))
            continue
        # Shares of seats on issued invoices correct those invoices; a share of seats not billed yet nets with the
        # payer's new charges. A credit with both (seats added and all cancelled before the run) has both kinds.
        corrective = [p for p in portions if p.corrects is not None]
        plain = [p for p in portions if p.corrects is None]
        if not corrective:
            group_for(payer, charge.customer_id, charge.partner_id, charge.amount.currency).portions.extend(plain)
            continue
        # One credit note per corrected invoice: each names the invoice it corrects and is registered on it.
        open_portions = [p for p in corrective if not _credited_by(p, credit_notes.get(p.corrects.id, ()))]
        if not open_portions and not plain:
            skipped.append(SkippedItem(charge.charge_id, charge.customer_id, f"credit {charge.charge_id} is credited already; mark it billed by hand"))
            continue
        over = [p for p in open_portions if _net_of(p) > left_of(p.corrects)]
        if over:
            numbers = ", ".join(sorted({p.corrects.number for p in over}))
            reason = (f"credit {charge.charge_id} takes back more than is left to credit of {numbers} "
                      f"(credited already: {', '.join(str(-credited_on(p.corrects)) for p in over)}); decide and credit by hand")
            if plain:  # its seats not billed yet are credited now (they net with their charge); the rest is reported once
                group_for(payer, charge.customer_id, charge.partner_id, charge.amount.currency).portions.extend(plain)
                reason += "; its share of seats not billed yet is credited"
            skipped.append(SkippedItem(charge.charge_id, charge.customer_id, reason))
            continue
        for portion in open_portions:
            left[portion.corrects.id] = left_of(portion.corrects) - _net_of(portion)
        for portion in open_portions:  # shares a crashed run credited already are left out
            group_for(payer, charge.customer_id, charge.partner_id, charge.amount.currency, True, corrects=portion.corrects.id).portions.append(portion)
        if plain:
            group_for(payer, charge.customer_id, charge.partner_id, charge.amount.currency).portions.extend(plain)

    for item in _unique(service_items, lambda i: i.reference, "service items"):
        try:
            payer = _payer(item.customer_id, item.partner_id, now, customers, partners)
        except _Skip as skip:
            skipped.append(SkippedItem(item.reference, item.customer_id, skip.reason))
            continue
        account = customers[item.customer_id]
        branch = account.branch(item.branch_key)
        billed_per_branch = (
            branch is not None and account.branch_billing is BranchBilling.PER_BRANCH
            and payer.party.organisation_id == account.customer_id
            and branch.address.country.upper() == payer.party.country.upper()  # abroad: on the head office's invoice
        )
        group = group_for(payer, item.customer_id, item.partner_id, item.unit_price.currency, separate=item.separate_invoice,
                          branch=branch if billed_per_branch else None)
        group.items.append(item)
        if item.branch_key:  # a branch no longer recorded: the line names the key it was made for
            group.branch_names[item.reference] = branch.name if branch is not None else item.branch_key

    planned = [
        _plan_invoice(group, run_date=run_date, issuer_id=issuer_id, payment_terms_days=payment_terms_days, creditor_id=sepa_creditor_id)
        for _, group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] or "", *kv[0][3:]))
    ]
    return BillingPlan(run_date, _consumed_once(planned), tuple(sorted(skipped, key=lambda s: (s.customer_id, s.reference))))


def _net_of(portion: _Portion) -> Decimal:
    """What a share of a credit takes back of its invoice's net (positive), as its line will say."""
    return -round_cents(portion.amount.amount * (Decimal(100) - portion.discount_percent) / Decimal(100))


def _credited_by(portion: _Portion, notes: Sequence[Invoice]) -> bool:
    """Whether a credit note of the corrected invoice has a line of this credit already (issued by an earlier attempt)."""
    return any(line.source_reference == portion.charge.charge_id for note in notes for line in note.lines)


def _consumed_once(planned: list[PlannedInvoice]) -> tuple[PlannedInvoice, ...]:
    """A credit shared by several credit notes is marked billed with the last of them (they are issued in plan order):
    after a crash in between, the credit is still due and the re-run issues the notes not issued yet."""
    last = {charge_id: n for n, p in enumerate(planned) for charge_id in p.charge_ids}
    return tuple(
        replace(p, charge_ids=frozenset(c for c in p.charge_ids if last[c] == n), credited_charge_ids=p.charge_ids)
        for n, p in enumerate(planned)
    )


def _corrections(portions: Iterable[_Portion], lines: Iterable[InvoiceLine], currency: str) -> tuple[Correction, ...]:
    credited: dict[str, tuple[str, Decimal]] = {}
    for portion, line in zip(portions, lines):
        if portion.corrects is not None:
            number, total = credited.get(portion.corrects.id, (portion.corrects.number, Decimal("0")))
            credited[portion.corrects.id] = (number, total - line.net_amount.amount)
    return tuple(Correction(invoice_id, number, Money(net, currency)) for invoice_id, (number, net) in sorted(credited.items()))


def _plan_invoice(group: _Group, *, run_date: date, issuer_id: str, payment_terms_days: int, creditor_id: str | None) -> PlannedInvoice:
    payer = group.payer
    corrected = {p.corrects.id: p.corrects for p in group.portions if p.corrects is not None}
    # A credit note correcting one invoice keeps that invoice's VAT treatment and payment method.
    only = next(iter(corrected.values())) if group.correction and len(corrected) == 1 else None
    treatment = only.vat_treatment if only else vat_treatment_for(payer.party)
    rate = vat_rate_for(treatment)
    portions = sorted(
        group.portions, key=lambda p: (p.charge.period_start, _KIND_ORDER[p.charge.kind], p.charge.charge_id)
    )  # stable: the shares of one credit keep their order, newest seats first
    items = sorted(group.items, key=lambda i: (i.period_start or run_date, i.reference))
    charge_lines = [_charge_line(portion, rate) for portion in portions]
    branch_names = group.branch_names or {}
    lines = tuple(charge_lines + [_item_line(item, rate, branch_names.get(item.reference)) for item in items])
    invoice_id = invoice_id_for_run(
        run_date, payer.party.organisation_id, group.customer_id, group.partner_id, group.currency, correction=group.correction,
        separate=group.separate, corrects=group.corrects, branch=group.branch.key if group.branch else None,
    )
    net = sum((line.net_amount.amount for line in lines), Decimal("0"))
    credit_note = net < 0
    if only:
        payment_method, direct_debit = only.payment_method, None
    else:
        payment_method = payment_method_for(payer.party, rental_or_hosting=group.separate is SeparateInvoice.RENTAL_AND_HOSTING)
        direct_debit = None
        if payment_method is PaymentMethod.SEPA_DIRECT_DEBIT and not credit_note and payer.party.sepa_mandate is not None:
            direct_debit = DirectDebit.of(payer.party.sepa_mandate, creditor_id)
    draft = InvoiceDraft(
        invoice_id=invoice_id,
        kind=InvoiceKind.CREDIT_NOTE if credit_note else InvoiceKind.INVOICE,
        issuer_id=issuer_id,
        payer_id=payer.party.organisation_id,
        customer_id=group.customer_id,
        currency=group.currency,
        lines=lines,
        vat_treatment=treatment,
        payment_method=payment_method,
        partner_id=group.partner_id,
        billing_mode=payer.mode,
        payer_vat_id=only.payer_vat_id if only else payer.party.vat_id,
        payer_country=only.payer_country if only else payer.party.country,
        notes=only.notes if only else notes_for(treatment),
        payment_terms_days=0 if credit_note else payment_terms_days,
        corrects_invoice_id=only.id if only and credit_note else None,
        corrects_invoice_number=only.number if only and credit_note else None,
        reason=BILLING_RUN_CREDIT_REASON if credit_note else None,
        billing_run_date=run_date,
        direct_debit=direct_debit,
        branch=InvoiceBranch(group.branch.key, group.branch.name, group.branch.address) if group.branch else None,
    )
    cashback = None
    if payer.mode is BillingMode.CUSTOMER_PAYS and payer.cashback_percent and group.partner_id:
        # Credits of seats billed on an issued invoice reduce that invoice's cashback in the ledger (``corrections``).
        base = sum((line.net_amount.amount for p, line in zip(portions, charge_lines) if p.corrects is None), Decimal("0"))
        amount = round_cents(base * payer.cashback_percent / Decimal(100))
        if amount:
            cashback = Cashback(
                group.partner_id, invoice_id, Money(amount, group.currency), Money(base, group.currency), payer.cashback_percent
            )
    return PlannedInvoice(
        draft=draft,
        charge_ids=frozenset(portion.charge.charge_id for portion in portions),
        service_item_references=frozenset(item.reference for item in items),
        cashback=cashback,
        corrections=_corrections(portions, charge_lines, group.currency),
    )
