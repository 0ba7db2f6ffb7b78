"""Commission ledger types: commissions with their status and why, referrals overview, payouts and SEPA runs."""

from datetime import date, datetime
from decimal import Decimal

import strawberry

from domain import commissions as d
from domain import referrals as r
from schema.common import Error, Money, enum_of
from schema.organisations import Customer
from schema.subscriptions import Billing

CommissionKind = enum_of(d.CommissionKind, "Referral commission, cashback (customer-pays reselling) or a negative adjustment.")
CommissionStatus = enum_of(d.CommissionStatus)
PayoutStatus = enum_of(d.PayoutStatus)


@strawberry.type
class Commission:
    id: strawberry.ID
    kind: CommissionKind
    status: CommissionStatus
    status_reason: str = strawberry.field(description="Why the entry is pending, approved, paid or void, with its dates.")
    amount: Money
    base_amount: Money | None = strawberry.field(
        description="The eligible net of the invoice it was computed from; null for the partner, who does not see the customer's invoices."
    )
    rate_percent: Decimal
    customer_id: strawberry.ID
    invoice_id: strawberry.ID
    invoice_number: str | None = strawberry.field(description="Null for the partner, who does not see the customer's invoices.")
    invoice_date: date | None
    customer_paid_on: date | None
    approval_date: date | None = strawberry.field(description="90 days after the customer paid: the day it is (or was) approved.")
    payout_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def of(cls, c: d.Commission, *, shows_invoice: bool) -> "Commission":
        """``shows_invoice``: whether the reader sees the invoice's number and net (``domain.commissions.shows_invoice_of``)."""
        return cls(
            id=strawberry.ID(c.id), kind=c.kind, status=c.status, status_reason=c.status_reason, amount=Money.of(c.amount),
            base_amount=Money.of(c.base_amount) if shows_invoice else None, rate_percent=c.rate_percent,
            customer_id=strawberry.ID(c.customer_id), invoice_id=strawberry.ID(c.invoice_id),
            invoice_number=c.invoice_number if shows_invoice else None, invoice_date=c.invoice_date,
            customer_paid_on=c.paid_on, approval_date=c.approval_date,
            payout_id=strawberry.ID(c.payout_id) if c.payout_id else None, created_at=c.created_at,
        )


@strawberry.type
class CommissionTotals:
    pending: Money
    approved: Money = strawberry.field(description="Approved and not yet paid out: what a payout request would take.")
    paid: Money

    @classmethod
    def of(cls, t: d.CommissionTotals) -> "CommissionTotals":
        return cls(pending=Money.of(t.pending), approved=Money.of(t.approved), paid=Money.of(t.paid))


@strawberry.type
class ReferralLine:
    product_name: str
    price: Money = strawberry.field(description="Net price per billing cycle (all seats).")
    billing_cycle: Billing
    recurring_commission: Money = strawberry.field(description="Per billing cycle at today's rate; zero when the customer does not pay it.")


@strawberry.type
class ReferredCustomer:
    customer_id: strawberry.ID
    customer_name: str
    referred_on: date
    lines: list[ReferralLine]


@strawberry.type
class ReferralsOverview:
    partner_id: strawberry.ID
    customers: list[ReferredCustomer]
    has_next_page: bool
    end_cursor: str | None
    totals: CommissionTotals

    @classmethod
    def of(cls, o: r.ReferralsOverview, next_cursor: str | None) -> "ReferralsOverview":
        return cls(
            partner_id=strawberry.ID(o.partner_id),
            customers=[
                ReferredCustomer(
                    customer_id=strawberry.ID(c.customer_id), customer_name=c.customer_name, referred_on=c.referred_on,
                    lines=[
                        ReferralLine(product_name=l.product_name, price=Money.of(l.price), billing_cycle=l.billing_cycle,
                                     recurring_commission=Money.of(l.recurring_commission))
                        for l in c.lines
                    ],
                )
                for c in o.customers
            ],
            has_next_page=next_cursor is not None, end_cursor=next_cursor, totals=CommissionTotals.of(o.totals),
        )


@strawberry.type
class Payout:
    id: strawberry.ID
    partner_id: strawberry.ID
    partner_number: int
    amount: Money
    status: PayoutStatus
    requested_at: datetime
    commission_ids: list[strawberry.ID]
    iban_masked: str
    account_holder: str
    run_id: strawberry.ID | None

    @classmethod
    def of(cls, p: d.Payout) -> "Payout":
        return cls(
            id=strawberry.ID(p.id), partner_id=strawberry.ID(p.partner_id), partner_number=p.partner_number, amount=Money.of(p.amount),
            status=p.status, requested_at=p.requested_at, commission_ids=[strawberry.ID(i) for i in p.commission_ids],
            iban_masked=p.bank_details.iban_masked, account_holder=p.bank_details.account_holder,
            run_id=strawberry.ID(p.run_id) if p.run_id else None,
        )


@strawberry.type
class PayoutPayload:
    payout: Payout | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type(description="The distributor's payout run: one SEPA credit-transfer file (pain.001.001.03) for the bank.")
class PayoutRun:
    id: strawberry.ID
    created_at: datetime
    execution_date: date
    total: Money
    payout_ids: list[strawberry.ID]
    download_url: str | None = strawberry.field(description="Presigned, valid for 5 minutes.")

    @classmethod
    def of(cls, run: d.PayoutRun, download_url: str | None) -> "PayoutRun":
        return cls(
            id=strawberry.ID(run.id), created_at=run.created_at, execution_date=run.execution_date, total=Money.of(run.total),
            payout_ids=[strawberry.ID(i) for i in run.payout_ids], download_url=download_url,
        )


@strawberry.type
class PayoutRunPayload:
    run: PayoutRun | None = None
    payouts: list[Payout] = strawberry.field(default_factory=list)
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerSignUpPayload:
    customer: Customer | None = None
    referred_by_partner_number: int | None = strawberry.field(default=None, description="The partner the customer is attributed to, if any.")
    errors: list[Error] = strawberry.field(default_factory=list)
