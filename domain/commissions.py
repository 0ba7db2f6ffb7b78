"""Commissions, cashback and payouts: the partner's ledger.

Every euro a partner earns is a ``Commission`` entry of one of three kinds: a referral
``COMMISSION`` on a paid invoice of a referred customer, a ``CASHBACK`` on a customer-pays
invoice of a customer the partner resells to, or an ``ADJUSTMENT`` (negative) when an
invoice is credited or refunded after its commission was approved.

Decided here, where ``DOMAIN.md`` leaves room:

* **Approval date** is the customer's payment date (the Berlin date the invoice became
  fully paid) plus 90 calendar days: paid 2024-02-10 → approved on 2024-05-10, pending on
  2024-05-09. The approval job approves everything whose date is on or before its run
  date, so a missed run is caught up by the next one.
* **Amount**: the eligible net (the invoice's net total; VAT is never commissioned) at the
  commission rate of the partner's tier in force on the invoice's issue date, rounded
  half-up to the cent once. Only invoices the customer pays itself are eligible; an
  invoice the partner pays (partner-pays billing) earns no commission: the partner buys at
  its reseller discount instead. An invoice of a customer the referring partner resells to
  under customer-pays billing earns cashback, not also a commission (no double pay).
* **Cashback** is booked when the billing run issues the invoice (``Cashback`` of
  ``domain.billing``) but it waits for the customer's payment like a commission
  (``AWAITING_PAYMENT`` until paid, then pending for 90 days). A negative cashback (credits
  netted in a run) is a deduction, approved at once. Its base is the resold net it was
  computed on, its rate the cashback percent.
* **Credits follow the net the customer keeps**, for commissions and cashback alike: after
  credit notes or refunds of C in total on an invoice of base B, the entry is worth its rate
  of B - C (``worth_after``; nothing when C ≥ B). **Before approval** the entry is reduced to
  that; nothing left → ``VOID``. **After approval** (paid out or not) the entry stays and a
  negative ``ADJUSTMENT`` of the difference the credit made is booked, approved at once, so
  it is deducted from the next payout. Computed on the cumulative credit, so the adjustments
  add up to exactly what was earned when the whole invoice is credited, never more
  (cashback 69.93 on 1398.60 at 5 %: two credits of 100.00 take back 5.00 each, crediting the
  rest takes back the other 59.93). A cashback recorded before its base was kept takes the
  invoice's net as its base (``invoice_net``), at the rate its amount is of it. The ledger is told the net a credit
  note credits, not its lines: a credit of a service line of a mixed invoice reduces the
  cashback too.
* **Payout**: the sum of all approved, unpaid entries (adjustments included) must exceed the
  threshold (strictly greater). One payout takes at most ``MAX_ENTRIES_PER_PAYOUT`` entries,
  oldest approval first, so request and marking fit one DynamoDB transaction (100 items);
  a partner with more simply requests again. Bank details are required. A suspended partner
  is paid its approved entries too: they were earned before the suspension.
* **What the partner sees of the invoice**: every entry is earned on an invoice its customer
  pays itself, which lives in the customer's organisation (``DOMAIN.md``: under customer-pays
  billing the partner cannot see those invoices). The partner sees what it earns, at which
  rate and when; the invoice's number and net (the base) only who may read the customer's
  invoices, i.e. the distributor (``shows_invoice_of``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Iterable, Sequence

from domain.calendar import berlin_date, ensure_utc
from domain.errors import Conflict, PreconditionFailed, ValidationFailed
from domain.money import Money, round_cents
from domain.partner_programme import BankDetails
from domain.policy import Principal, can_view_invoices_of

APPROVAL_DELAY_DAYS = 90
MAX_ENTRIES_PER_PAYOUT = 98  # + the payout item: 99 of the 100 items a DynamoDB transaction may hold
HUNDRED = Decimal(100)


class CommissionKind(str, Enum):
    COMMISSION = "COMMISSION"
    CASHBACK = "CASHBACK"
    ADJUSTMENT = "ADJUSTMENT"


class CommissionStatus(str, Enum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"  # cashback booked at issue, invoice not paid yet
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    VOID = "VOID"
    PAID = "PAID"


def approval_date_for(paid_on: date) -> date:
    """Day 90 after the customer's payment: paid 2024-02-10 → approved on 2024-05-10."""
    return paid_on + timedelta(days=APPROVAL_DELAY_DAYS)


def commission_amount(base: Money, percent: Decimal) -> Money:
    return Money(round_cents(base.amount * percent / HUNDRED), base.currency)


def deterministic_id(prefix: str, *parts: str) -> str:
    """The same event always yields the same id, so recording it twice is refused by a conditional put."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


@dataclass(frozen=True)
class Commission:
    id: str  # com_…
    partner_id: str
    customer_id: str
    invoice_id: str
    kind: CommissionKind
    status: CommissionStatus
    amount: Money  # signed; adjustments are negative
    base_amount: Money  # the eligible net it was computed from
    rate_percent: Decimal
    invoice_date: date | None
    created_at: datetime
    paid_on: date | None = None  # when the customer paid the invoice
    approval_date: date | None = None  # when it becomes (or became) approved
    approved_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    payout_id: str | None = None
    adjusts_commission_id: str | None = None
    credited_base: Money | None = None  # net credited by credit notes or refunds so far
    invoice_number: str | None = None
    credit_references: tuple[str, ...] = ()  # credit notes and refunds applied (a replay changes nothing)
    version: int = 0

    @property
    def is_payable(self) -> bool:
        return self.status is CommissionStatus.APPROVED and self.payout_id is None

    def is_due(self, today: date) -> bool:
        return self.status is CommissionStatus.PENDING and self.approval_date is not None and self.approval_date <= today

    @property
    def status_reason(self) -> str:
        """Why the entry is in its status, in words a partner understands."""
        s = self.status
        if s is CommissionStatus.AWAITING_PAYMENT:
            return "Waiting for the customer to pay the invoice."
        if s is CommissionStatus.PENDING:
            return f"Customer paid on {self.paid_on}; approved on {self.approval_date} (90 days later) unless credited before."
        if s is CommissionStatus.APPROVED:
            return f"Approved on {self.approval_date}; included in your next payout."
        if s is CommissionStatus.PAID:
            return f"Paid out with payout {self.payout_id}."
        return f"Void: {self.void_reason}"

    def approve(self, today: date, now: datetime) -> "Commission":
        if not self.is_due(today):
            raise Conflict(f"Commission {self.id} is not due for approval on {today}.")
        return replace(self, status=CommissionStatus.APPROVED, approved_at=ensure_utc(now))

    def with_payment(self, paid_on: date) -> "Commission":
        """A cashback waiting for the payment starts its 90 days."""
        if self.status is not CommissionStatus.AWAITING_PAYMENT:
            return self
        return replace(self, status=CommissionStatus.PENDING, paid_on=paid_on, approval_date=approval_date_for(paid_on))

    def paid_with(self, payout_id: str) -> "Commission":
        if not self.is_payable:
            raise Conflict(f"Commission {self.id} is not approved and unpaid.")
        return replace(self, status=CommissionStatus.PAID, payout_id=payout_id)


def shows_invoice_of(principal: Principal, entry: Commission) -> bool:
    """Whether ``principal`` sees the number and net of the invoice ``entry`` was earned on: who may read the invoices
    of its customer, the payer of every invoice that earns a commission or cashback (not the earning partner)."""
    return can_view_invoices_of(principal, entry.customer_id)


@dataclass(frozen=True)
class InvoiceFacts:
    """What the commission rules need from an invoice (built from ``domain.invoices.Invoice``)."""

    invoice_id: str
    invoice_number: str | None
    customer_id: str
    payer_id: str
    reseller_partner_id: str | None
    customer_pays: bool
    issue_date: date
    net_total: Money
    credited_net: Money | None = None  # what credit notes took off the net before the invoice was paid
    credit_references: tuple[str, ...] = ()  # those credit notes


def eligible_net(invoice: InvoiceFacts, referring_partner_id: str) -> Money | None:
    """The net a referral commission is computed from, or ``None`` when the invoice earns none."""
    if invoice.payer_id != invoice.customer_id:
        return None  # the partner pays (reseller discount) or someone else does
    if invoice.customer_pays and invoice.reseller_partner_id == referring_partner_id:
        return None  # the same partner earns cashback on it
    if invoice.net_total.amount <= 0:
        return None
    return invoice.net_total


def commission_for_paid_invoice(
    invoice: InvoiceFacts, *, partner_id: str, percent: Decimal | None, paid_on: date, now: datetime
) -> Commission | None:
    """The referral commission on a paid invoice: its rate of the net less what credit notes took off before the
    payment (net 1000.00, 400.00 credited, 10 %: 60.00), ``None`` when nothing is left."""
    base = eligible_net(invoice, partner_id)
    if base is None or not percent:
        return None
    credited = invoice.credited_net if invoice.credited_net is not None and invoice.credited_net.amount > 0 else None
    left = base - credited if credited is not None else base
    if left.amount <= 0:
        return None
    amount = commission_amount(left, percent)
    if amount.amount <= 0:
        return None
    return Commission(
        id=deterministic_id("com", "commission", invoice.invoice_id, partner_id),
        partner_id=partner_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.invoice_id,
        invoice_number=invoice.invoice_number,
        kind=CommissionKind.COMMISSION,
        status=CommissionStatus.PENDING,
        amount=amount,
        base_amount=base,
        rate_percent=percent,
        invoice_date=invoice.issue_date,
        created_at=ensure_utc(now),
        paid_on=paid_on,
        approval_date=approval_date_for(paid_on),
        credited_base=credited,
        credit_references=invoice.credit_references if credited is not None else (),
    )


def cashback_entry(
    *, partner_id: str, customer_id: str, invoice_id: str, amount: Money, invoice_date: date | None, now: datetime,
    base: Money | None = None, percent: Decimal = Decimal(0),
) -> Commission:
    """A billing run's cashback as a ledger entry: positive waits for payment, negative is deducted at once.

    ``base`` and ``percent``: the net the cashback was computed on and its rate (unknown on old records: zero).
    """
    now = ensure_utc(now)
    entry = Commission(
        id=deterministic_id("com", "cashback", invoice_id, partner_id),
        partner_id=partner_id,
        customer_id=customer_id,
        invoice_id=invoice_id,
        kind=CommissionKind.CASHBACK,
        status=CommissionStatus.AWAITING_PAYMENT,
        amount=amount.rounded(),
        base_amount=base if base is not None and percent > 0 else Money(Decimal(0), amount.currency),
        rate_percent=percent if base is not None else Decimal(0),
        invoice_date=invoice_date,
        created_at=now,
    )
    if amount.amount < 0:
        today = berlin_date(now)
        entry = replace(entry, status=CommissionStatus.APPROVED, approval_date=today, approved_at=now)
    return entry


@dataclass(frozen=True)
class CreditOutcome:
    updated: Commission  # the original entry (reduced or void before approval; unchanged after)
    adjustment: Commission | None  # the negative entry after approval


def worth_after(commission: Commission, credited: Money) -> Money:
    """What the entry is worth once ``credited`` (positive, in total) of its invoice's net is credited: its rate of
    what is left of its base. An entry without rate or base is worth nothing after any credit."""
    zero = Money(Decimal(0), commission.amount.currency)
    if commission.rate_percent <= 0 or commission.base_amount.amount <= 0:
        return commission.amount if credited.amount <= 0 else zero
    left = commission.base_amount - credited
    return commission_amount(left, commission.rate_percent) if left.amount > 0 else zero


def _with_base(commission: Commission, invoice_net: Money | None) -> Commission:
    """A cashback recorded before its base was kept: the invoice's net is its base, at the rate it amounts to."""
    if commission.rate_percent > 0 and commission.base_amount.amount > 0:
        return commission
    if invoice_net is None or invoice_net.amount <= 0 or commission.amount.amount <= 0 or commission.credited_base is not None:
        return commission
    return replace(commission, base_amount=invoice_net, rate_percent=commission.amount.amount * HUNDRED / invoice_net.amount)


def apply_credit(
    commission: Commission, *, credited_net: Money, credit_reference: str, now: datetime, invoice_net: Money | None = None
) -> CreditOutcome:
    """A credit note (or refund) of ``credited_net`` (positive) on the commission's invoice.

    ``invoice_net``: the invoice's net, the base of a cashback recorded without one.
    """
    now = ensure_utc(now)
    credited_net = Money(abs(credited_net.amount), credited_net.currency)
    if (
        commission.kind is CommissionKind.ADJUSTMENT
        or commission.status is CommissionStatus.VOID
        or credit_reference in commission.credit_references
    ):
        return CreditOutcome(commission, None)
    commission = replace(_with_base(commission, invoice_net), credit_references=commission.credit_references + (credit_reference,))
    previously = commission.credited_base or Money(Decimal(0), credited_net.currency)
    total_credited = previously + credited_net
    if commission.amount.amount <= 0:  # a deduction (negative cashback): nothing to take back
        return CreditOutcome(replace(commission, credited_base=total_credited), None)
    left = worth_after(commission, total_credited)
    if commission.status in (CommissionStatus.PENDING, CommissionStatus.AWAITING_PAYMENT):
        if left.amount <= 0:
            return CreditOutcome(
                replace(
                    commission, status=CommissionStatus.VOID, voided_at=now, credited_base=total_credited,
                    void_reason=f"invoice credited or refunded ({credit_reference}) before approval",
                ),
                None,
            )
        return CreditOutcome(replace(commission, amount=left, credited_base=total_credited), None)
    # Approved or paid: keep it, book the difference this credit makes to what it is worth.
    share = left - worth_after(commission, previously)
    updated = replace(commission, credited_base=total_credited)
    if share.amount >= 0:
        return CreditOutcome(updated, None)
    today = berlin_date(now)
    adjustment = Commission(
        id=deterministic_id("com", "adjustment", commission.id, credit_reference),
        partner_id=commission.partner_id,
        customer_id=commission.customer_id,
        invoice_id=commission.invoice_id,
        invoice_number=commission.invoice_number,
        kind=CommissionKind.ADJUSTMENT,
        status=CommissionStatus.APPROVED,
        amount=share,
        base_amount=-credited_net,
        rate_percent=commission.rate_percent,
        invoice_date=commission.invoice_date,
        created_at=now,
        approval_date=today,
        approved_at=now,
        adjusts_commission_id=commission.id,
    )
    return CreditOutcome(updated, adjustment)


# --- totals and payouts -------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionTotals:
    pending: Money
    approved: Money  # approved and not yet paid out
    paid: Money

    @classmethod
    def zero(cls, currency: str = "EUR") -> "CommissionTotals":
        nothing = Money(Decimal(0), currency)
        return cls(nothing, nothing, nothing)

    @classmethod
    def of(cls, entries: Iterable[Commission], currency: str = "EUR") -> "CommissionTotals":
        totals = {status: Decimal(0) for status in CommissionStatus}
        for entry in entries:
            totals[entry.status] += entry.amount.amount
        pending = totals[CommissionStatus.PENDING] + totals[CommissionStatus.AWAITING_PAYMENT]
        return cls(
            Money(round_cents(pending), currency),
            Money(round_cents(totals[CommissionStatus.APPROVED]), currency),
            Money(round_cents(totals[CommissionStatus.PAID]), currency),
        )


class PayoutBelowThreshold(PreconditionFailed):
    pass


class BankDetailsMissing(PreconditionFailed):
    pass


class PayoutStatus(str, Enum):
    REQUESTED = "REQUESTED"  # waiting for the distributor's next SEPA file
    EXPORTED = "EXPORTED"  # in a SEPA credit-transfer file handed to the bank


@dataclass(frozen=True)
class Payout:
    id: str  # pay_…
    partner_id: str
    partner_number: int
    amount: Money
    commission_ids: tuple[str, ...]
    bank_details: BankDetails  # as they were when requested
    requested_at: datetime
    requested_by: str
    status: PayoutStatus = PayoutStatus.REQUESTED
    run_id: str | None = None
    version: int = 0

    @property
    def remittance(self) -> str:
        return f"Partnerhub partner {self.partner_number} payout {self.id}"


def plan_payout(
    *,
    payout_id: str,
    partner_id: str,
    partner_number: int,
    bank_details: BankDetails | None,
    approved_unpaid: Sequence[Commission],
    threshold: Money,
    requested_by: str,
    now: datetime,
) -> tuple[Payout, list[Commission]]:
    """The payout of all approved, unpaid entries (oldest first, capped) and those entries marked paid."""
    if bank_details is None:
        raise BankDetailsMissing(
            "Enter your bank details before requesting a payout.",
            field="bankDetails",
            hint="Add the IBAN and account holder under the partner programme settings.",
        )
    entries = sorted(
        (e for e in approved_unpaid if e.is_payable and e.partner_id == partner_id),
        key=lambda e: (e.approval_date or date.min, e.id),
    )[:MAX_ENTRIES_PER_PAYOUT]
    total = Money(sum((e.amount.amount for e in entries), Decimal(0)), threshold.currency).rounded()
    if total.amount <= threshold.amount:
        raise PayoutBelowThreshold(
            f"Approved commissions of {total} do not exceed the payout threshold of {threshold}.",
            field="amount",
            hint="A payout is possible once the approved, unpaid commissions exceed the threshold; pending ones do not count.",
        )
    payout = Payout(
        id=payout_id,
        partner_id=partner_id,
        partner_number=partner_number,
        amount=total,
        commission_ids=tuple(e.id for e in entries),
        bank_details=bank_details,
        requested_at=ensure_utc(now),
        requested_by=requested_by,
    )
    return payout, [e.paid_with(payout_id) for e in entries]


def require_threshold(value: Money) -> Money:
    if value.amount < 0:
        raise ValidationFailed("The payout threshold cannot be negative.", field="payoutThreshold")
    return value


@dataclass(frozen=True)
class PayoutRun:
    """The distributor's run: the open payouts in one SEPA credit-transfer file (pain.001)."""

    id: str  # prn_…
    created_at: datetime
    created_by: str
    execution_date: date
    payout_ids: tuple[str, ...]
    total: Money
    document_key: str
    version: int = 0

    @property
    def filename(self) -> str:
        return f"sepa-payouts-{self.execution_date.isoformat()}-{self.id}.xml"
