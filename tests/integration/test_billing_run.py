"""The billing run: right payer and amounts, gap-free numbers, PDF in S3, e-mail, reads only what is due,
idempotent and resumable.

Demo catalogue: Business Standard P1Y/ANNUAL costs EUR 139.86 per seat and year (since 2023-04-01).
NordIT is a Registered partner (not in the programme: the entry tier) with the default programme terms:
5% reseller discount when it pays, 3% cashback when its customer pays.
Hanse: partner pays (NordIT); Kanzlei: customer pays (NordIT); Alpen: partner pays (SüdCloud); Direkt: no partner.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.calendar import CATCH_UP_DAYS
from domain.organisations import BillingMode
from domain.policy import Principal
from domain.services import organisations as svc
from domain.services import subscriptions as subs
from domain.services.invoices import document_key
from domain.invoices import InvoiceKind
from domain.subscriptions import CancelSubscription, IncreaseSeats, ReduceSeats
from infra.demo import enrol_demo_partner
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.integration.billing_world import build_world, pdf_text, utc
from tests.crash import crash_after_commit, crash_after_commits, refuse_one
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.request_counter import count_requests

RUN_AT = utc("2024-01-15T22:30:00")  # 23:30 in Berlin


@pytest.fixture
def world(aws):
    return build_world()


def amounts(invoice) -> tuple[str, str, str]:
    return str(invoice.net_total.amount), str(invoice.vat_total.amount), str(invoice.gross_total.amount)


def test_annual_upfront_subscription_with_a_mid_term_increase_is_billed_pro_rata_to_the_day(world):
    subscription_id = world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    # 2024-05-10: two more seats for the rest of the term 2024-01-15 .. 2025-01-15 (366 days): 250 days left.
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, IncreaseSeats(2), now=utc("2024-05-10T08:00:00"))
    world.run(date(2024, 5, 10), utc("2024-05-10T21:30:00"))

    first, increase = world.invoices_of("nordit")  # partner pays: both go to NordIT
    assert first.number == "PH-2024-000001" and increase.number == "PH-2024-000002"
    # 10 × 139.86 = 1398.60 less 5% = 1328.67; VAT 19% 252.45
    assert amounts(first) == ("1328.67", "252.45", "1581.12")
    # 139.86 × 2 × 250 / 366 = 191.07 (half-up), less 5% = 181.52; VAT 34.49
    (line,) = increase.lines
    assert (line.quantity, str(line.unit_price.amount), line.period_start, line.period_end) == (2, "139.86", date(2024, 5, 10), date(2025, 1, 15))
    assert amounts(increase) == ("181.52", "34.49", "216.01")
    assert increase.customer_id == world.customer("hanse") and increase.billing_mode is BillingMode.PARTNER_PAYS
    assert world.invoices_of("hanse") == []


def test_after_an_outage_of_up_to_a_week_the_next_run_bills_what_the_missed_runs_left(world):
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)  # due 2024-01-15; no run from 01-15 to 01-21
    summary = world.run(date(2024, 1, 22), utc("2024-01-22T22:00:00"))
    assert (summary.invoices_issued, summary.delivered) == (1, 1)
    (invoice,) = world.invoices_of("nordit")
    assert invoice.issue_date == date(2024, 1, 22) and amounts(invoice) == ("1328.67", "252.45", "1581.12")
    assert world.run(date(2024, 1, 23), utc("2024-01-23T22:00:00")).invoices_issued == 0  # billed once


def test_customer_pays_invoice_goes_to_the_customer_at_public_price_and_records_the_partners_cashback(world):
    world.make_csp_ready("kanzlei")
    world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)

    (invoice,) = world.invoices_of("kanzlei")
    assert amounts(invoice) == ("1398.60", "265.73", "1664.33")
    assert world.invoices_of("nordit") == []
    cashback = DynamoUnitOfWork().cashbacks.get(invoice.id)
    assert (cashback.partner_id, str(cashback.amount.amount)) == (world.partner("nordit"), "41.96")  # 3% of 1398.60
    assert [c.invoice_id for c in DynamoUnitOfWork().cashbacks.list_for_partner(world.partner("nordit"), limit=10, cursor=None).items] == [invoice.id]


def test_a_billing_mode_switch_mid_year_moves_later_charges_and_never_issued_invoices(world):
    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    kanzlei_office = Principal.of(world.data.users["kanzlei_office"])
    svc.switch_billing_mode(
        DynamoUnitOfWork(), world.mailer, kanzlei_office, customer_id=world.customer("kanzlei"), partner_id=world.partner("nordit"),
        billing_mode=BillingMode.PARTNER_PAYS, now=utc("2024-03-01T09:00:00"),
    )
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, IncreaseSeats(2), now=utc("2024-05-10T08:00:00"))
    world.run(date(2024, 5, 10), utc("2024-05-10T21:30:00"))

    (january,) = world.invoices_of("kanzlei")
    (may,) = world.invoices_of("nordit")
    assert (january.number, january.billing_mode, str(january.net_total.amount)) == ("PH-2024-000001", BillingMode.CUSTOMER_PAYS, "1398.60")
    assert (may.number, may.billing_mode, str(may.net_total.amount)) == ("PH-2024-000002", BillingMode.PARTNER_PAYS, "181.52")
    assert DynamoUnitOfWork().cashbacks.get(may.id) is None  # no cashback when the partner pays


def switch(world, customer_key: str, user_key: str, mode: BillingMode, at: str) -> None:
    svc.switch_billing_mode(
        DynamoUnitOfWork(), world.mailer, Principal.of(world.data.users[user_key]), customer_id=world.customer(customer_key),
        partner_id=world.partner("nordit"), billing_mode=mode, now=utc(at),
    )


def test_a_cancellation_after_a_switch_to_partner_pays_credits_the_customer_who_paid_at_public_price(world):
    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    switch(world, "kanzlei", "kanzlei_office", BillingMode.PARTNER_PAYS, "2024-01-16T09:00:00")
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))

    first, note = world.invoices_of("kanzlei")
    assert world.invoices_of("nordit") == []
    # 10 × 139.86 × 364/366 unused days = 1390.96, at public price, correcting the customer's invoice
    assert (note.number, note.kind, note.billing_mode, amounts(note)) == (
        "PH-2024-000002", InvoiceKind.CREDIT_NOTE, BillingMode.CUSTOMER_PAYS, ("-1390.96", "-264.28", "-1655.24"))
    assert (note.corrects_invoice_id, note.corrects_invoice_number) == (first.id, "PH-2024-000001")
    assert note.lines[0].discount_percent == 0
    assert [n.id for n in DynamoUnitOfWork().invoices.credit_notes_of([first.id])[first.id]] == [note.id]


def test_a_cancellation_after_a_switch_to_customer_pays_credits_the_partner_who_paid_at_its_discount(world):
    subscription_id = world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    switch(world, "hanse", "hanse_it", BillingMode.CUSTOMER_PAYS, "2024-01-16T09:00:00")
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))

    first, note = world.invoices_of("nordit")
    assert world.invoices_of("hanse") == []
    assert (note.kind, note.billing_mode, note.corrects_invoice_number) == (InvoiceKind.CREDIT_NOTE, BillingMode.PARTNER_PAYS, first.number)
    assert (note.lines[0].discount_percent, str(note.net_total.amount)) == (first.lines[0].discount_percent, "-1321.41")  # 1390.96 less 5%
    assert DynamoUnitOfWork().cashbacks.get(note.id) is None


def test_seats_removed_before_seats_are_added_the_same_day_are_credited_to_the_partner_who_paid_for_them(world):
    # NordIT paid for Hanse's 10 seats (PH-2024-000001); Hanse pays from 01-16. On 01-17 3 seats are removed at 09:00,
    # then 5 added at 10:00: the 3 are NordIT's, the 5 Hanse's.
    subscription_id = world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    switch(world, "hanse", "hanse_it", BillingMode.CUSTOMER_PAYS, "2024-01-16T09:00:00")
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, ReduceSeats(3), now=utc("2024-01-17T09:00:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, IncreaseSeats(5), now=utc("2024-01-17T10:00:00"))
    summary = world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    assert summary.skipped == []

    first, note = world.invoices_of("nordit")
    # 139.86 × 3 × 364/366 = 417.29 less NordIT's 5% = 396.43, on a note correcting the invoice that billed the 3 seats
    assert (note.kind, note.corrects_invoice_number, str(note.net_total.amount)) == (InvoiceKind.CREDIT_NOTE, first.number, "-396.43")
    (invoice,) = world.invoices_of("hanse")
    # 139.86 × 5 × 364/366 = 695.48 at public price, not netted with a credit of seats Hanse never paid for (278.19)
    assert (invoice.kind, str(invoice.net_total.amount)) == (InvoiceKind.INVOICE, "695.48")
    assert str(DynamoUnitOfWork().cashbacks.get(invoice.id).amount.amount) == "20.86"  # 3% of 695.48


def referred_by_suedcloud(world, customer_key: str) -> str:
    """SüdCloud joins the programme (Registered: 10 % commission) and referred the customer (which buys through NordIT)."""
    from domain.referrals import Attribution

    sued = world.partner("suedcloud")
    number = enrol_demo_partner(DynamoUnitOfWork(), world.documents, world.ops, sued, now=utc("2024-01-02T09:00:00")).partner_number
    uow = DynamoUnitOfWork()
    with uow:
        uow.referrals.add(Attribution(world.customer(customer_key), sued, number, utc("2024-01-03T09:00:00"), utc("2024-01-04T09:00:00")))
        uow.commit()
    return sued


def pay(world, invoice, paid_on: date) -> None:
    from domain.partner_programme import ProgrammeTerms
    from domain.services import commissions as ledger
    from domain.services import invoices as invoicing

    at = utc(f"{paid_on.isoformat()}T22:40:00")
    invoicing.record_payment(DynamoUnitOfWork, world.ops, invoice.id, amount=invoice.gross_total, paid_on=paid_on, reference="BANK-1",
                             now=at, ledger=ledger.PartnerProgrammeLedger(ProgrammeTerms.default()))


def entries_of(invoice_id: str, kind):
    return [(e.status.value, str(e.amount.amount)) for e in DynamoUnitOfWork().commissions.list_for_invoice(invoice_id) if e.kind is kind]


def test_a_cancellation_credited_by_the_run_before_approval_reduces_the_referral_commission_to_what_is_left(world):
    from domain.commissions import CommissionKind
    from domain.services import commissions as ledger

    referred_by_suedcloud(world, "kanzlei")
    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("kanzlei")
    pay(world, invoice, date(2024, 1, 16))
    assert entries_of(invoice.id, CommissionKind.COMMISSION) == [("PENDING", "139.86")]  # 10 % of 1398.60, approved 2024-04-15

    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    _, note = world.invoices_of("kanzlei")
    assert str(note.net_total.amount) == "-1390.96"
    # What the customer keeps paying: 1398.60 - 1390.96 = 7.64 (the day used); 10 % of it, and NordIT's 3 % cashback of it.
    assert entries_of(invoice.id, CommissionKind.COMMISSION) == [("PENDING", "0.76")]
    assert entries_of(invoice.id, CommissionKind.CASHBACK) == [("PENDING", "0.23")]
    ledger.approve_due_commissions(DynamoUnitOfWork, run_date=date(2024, 4, 15), now=utc("2024-04-15T03:00:00"))
    assert entries_of(invoice.id, CommissionKind.COMMISSION) == [("APPROVED", "0.76")]


def test_a_cancellation_credited_in_full_by_the_run_before_approval_voids_the_referral_commission(world):
    from domain.commissions import CommissionKind
    from domain.services import commissions as ledger

    referred_by_suedcloud(world, "kanzlei")
    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("kanzlei")
    pay(world, invoice, date(2024, 1, 15))
    # Cancelled 23:45 Berlin, still 2024-01-15: all 366 days are credited.
    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-15T22:45:00"))
    world.run(date(2024, 1, 16), utc("2024-01-16T22:30:00"))
    _, note = world.invoices_of("kanzlei")
    assert (str(note.net_total.amount), note.corrects_invoice_id) == ("-1398.60", invoice.id)
    assert entries_of(invoice.id, CommissionKind.COMMISSION) == [("VOID", "139.86")]
    assert ledger.approve_due_commissions(DynamoUnitOfWork, run_date=date(2024, 4, 14), now=utc("2024-04-14T03:00:00")).approved == 0
    assert entries_of(invoice.id, CommissionKind.COMMISSION) == [("VOID", "139.86")]


def ledger_of(invoice_id: str):
    return sorted((e.kind.value, e.status.value, str(e.amount.amount), str(e.paid_on), str(e.approval_date))
                  for e in DynamoUnitOfWork().commissions.list_for_invoice(invoice_id))


@pytest.mark.parametrize("issued_by", ["billing run", "creditNoteCreate"])
def test_a_credit_note_that_settles_the_rest_of_a_partly_paid_invoice_books_its_commission_and_starts_its_cashback_whoever_issues_it(
    world, issued_by,
):
    """1398.60 net (1664.33 gross), 9.09 paid on 2024-01-16; the cancellation of 2024-01-17 credits 1390.96 net (1655.24
    gross): nothing is owed, so the invoice is paid on 2024-01-16, SüdCloud earns 10 % of the 7.64 left and NordIT's 3 %
    cashback of it starts its 90 days, approved on 2024-04-15. The credit note refunds nothing (OFFSET)."""
    from domain.invoices import CreditItem, InvoiceStatus
    from domain.money import Money
    from domain.partner_programme import ProgrammeTerms
    from domain.services import commissions as ledger
    from domain.services import invoices as invoicing

    referred_by_suedcloud(world, "kanzlei")
    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("kanzlei")
    assert str(invoice.gross_total.amount) == "1664.33"
    programme = ledger.PartnerProgrammeLedger(ProgrammeTerms.default())
    invoicing.record_payment(DynamoUnitOfWork, world.ops, invoice.id, amount=Money.of("9.09"), paid_on=date(2024, 1, 16),
                             reference="BANK-1", now=utc("2024-01-16T10:00:00"), ledger=programme)
    assert DynamoUnitOfWork().invoices.get(invoice.id).status is InvoiceStatus.PARTIALLY_PAID
    assert ledger_of(invoice.id) == [("CASHBACK", "AWAITING_PAYMENT", "41.96", "None", "None")]

    if issued_by == "billing run":
        subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
        world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    else:
        invoicing.create_credit_note(DynamoUnitOfWork, world.ops, invoice.id, reason="storniert", lines=[CreditItem(1, Money.of("1390.96"))],
                                     now=utc("2024-01-17T22:30:00"), prefix="PH", ledger=programme)
    _, note = world.invoices_of("kanzlei")
    assert (str(note.net_total.amount), str(note.gross_total.amount)) == ("-1390.96", "-1655.24")
    settled = DynamoUnitOfWork().invoices.get(invoice.id)
    assert (settled.status, settled.outstanding) == (InvoiceStatus.PAID, Money.of("0.00"))
    assert (note.status, note.refund_due, note.outstanding) == (InvoiceStatus.OFFSET, Money.of("0.00"), Money.of("0.00"))
    assert ledger_of(invoice.id) == [("CASHBACK", "PENDING", "0.23", "2024-01-16", "2024-04-15"),
                                     ("COMMISSION", "PENDING", "0.76", "2024-01-16", "2024-04-15")]


def test_a_credit_reaches_a_cashback_the_run_recorded_but_the_ledger_missed(world, monkeypatch):
    from domain.commissions import CommissionKind
    from domain.services import commissions as ledger

    def failing(*args, **kwargs):
        raise ConnectionError("ledger unavailable")

    world.make_csp_ready("kanzlei")
    subscription_id = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "record_cashback", failing)
        world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("kanzlei")
    assert entries_of(invoice.id, CommissionKind.CASHBACK) == [] and DynamoUnitOfWork().cashbacks.get(invoice.id) is not None

    subs.change_subscription(DynamoUnitOfWork(), world.sales, subscription_id, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    _, note = world.invoices_of("kanzlei")
    (cashback,) = [e for e in DynamoUnitOfWork().commissions.list_for_invoice(invoice.id) if e.kind is CommissionKind.CASHBACK]
    assert cashback.credit_references == (note.id,)  # entered the ledger with the credit applied
    assert DynamoUnitOfWork().cashbacks.get(note.id) is None  # and no cashback of the credit note's own


def test_credit_notes_after_approval_take_back_the_cashback_rate_of_their_net_never_more_than_was_earned(world):
    from domain.commissions import CommissionKind
    from domain.invoices import CreditItem
    from domain.money import Money
    from domain.services import commissions as ledger
    from domain.services import invoices as invoicing

    world.make_csp_ready("kanzlei")
    world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("kanzlei")
    pay(world, invoice, date(2024, 1, 16))
    ledger.approve_due_commissions(DynamoUnitOfWork, run_date=date(2024, 4, 15), now=utc("2024-04-15T03:00:00"))
    assert entries_of(invoice.id, CommissionKind.CASHBACK) == [("APPROVED", "41.96")]  # 3 % of 1398.60

    def credit(day: str, lines) -> None:
        note = invoicing.create_credit_note(DynamoUnitOfWork, world.ops, invoice.id, reason="goodwill", lines=lines, now=utc(f"{day}T10:00:00"), prefix="PH", ledger=None)
        ledger.record_credit_note(DynamoUnitOfWork(), note, now=utc(f"{day}T10:00:00"))

    credit("2024-04-20", [CreditItem(1, Money.of("100.00"))])
    credit("2024-04-21", [CreditItem(1, Money.of("100.00"))])
    assert sorted(entries_of(invoice.id, CommissionKind.ADJUSTMENT)) == [("APPROVED", "-3.00"), ("APPROVED", "-3.00")]
    credit("2024-04-22", None)  # the rest of the invoice, 1198.60
    adjustments = entries_of(invoice.id, CommissionKind.ADJUSTMENT)
    assert sorted(amount for _, amount in adjustments) == ["-3.00", "-3.00", "-35.96"]  # 41.96 in all


def test_the_partner_is_billed_with_the_rates_of_its_programme_tier_on_the_billing_date(world):
    from domain.partner_programme import Tier
    from domain.services import partner_programme as programme

    nordit = world.partner("nordit")
    enrol_demo_partner(DynamoUnitOfWork(), world.documents, world.ops, nordit, now=utc("2024-01-02T09:00:00"))
    programme.change_tier(DynamoUnitOfWork(), world.ops, nordit, Tier.CERTIFIED, effective_from=date(2024, 1, 15), now=utc("2024-01-02T09:00:00"))
    world.make_csp_ready("kanzlei")
    world.order("hanse", "2024-01-14T10:00:00", quantity=10)
    world.run(date(2024, 1, 14), utc("2024-01-14T22:30:00"))  # still Registered: 5 % discount
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)  # Certified from today: 15 % discount, 5 % cashback

    registered, certified = world.invoices_of("nordit")
    assert (registered.lines[0].discount_percent, str(registered.net_total.amount)) == (Decimal("5"), "1328.67")
    assert (certified.lines[0].discount_percent, str(certified.net_total.amount)) == (Decimal("15"), "1188.81")  # 1398.60 less 15 %
    (kanzlei,) = world.invoices_of("kanzlei")
    assert str(DynamoUnitOfWork().cashbacks.get(kanzlei.id).amount.amount) == "69.93"  # 5 % of 1398.60


def test_the_rates_are_those_of_the_configured_programme_terms(world, monkeypatch):
    import dataclasses
    import json

    import handler
    from domain.partner_programme import DEFAULT_TERMS_CONFIG

    config = {**DEFAULT_TERMS_CONFIG, "REGISTERED": {"commission_percent": "10", "cashback_percent": "2", "reseller_discount_percent": "8"}}
    services = handler._services()
    monkeypatch.setattr(services, "clock", lambda: RUN_AT)
    monkeypatch.setattr(services, "settings", dataclasses.replace(services.settings, partner_programme_terms=json.dumps(config)))
    world.make_csp_ready("kanzlei")
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    handler.run_billing({"run_date": "2024-01-15"}, None)

    (partner_pays,) = world.invoices_of("nordit")
    assert (partner_pays.lines[0].discount_percent, str(partner_pays.net_total.amount)) == (Decimal("8"), "1286.71")  # 1398.60 less 8 %
    (customer_pays,) = world.invoices_of("kanzlei")
    assert str(DynamoUnitOfWork().cashbacks.get(customer_pays.id).amount.amount) == "27.97"  # 2 % of 1398.60


def test_an_individual_agreement_bills_with_its_agreed_rates(world):
    from domain.partner_programme import Tier, TierRates
    from domain.services import partner_programme as programme

    nordit = world.partner("nordit")
    enrol_demo_partner(DynamoUnitOfWork(), world.documents, world.ops, nordit, now=utc("2024-01-02T09:00:00"))
    agreed = TierRates.of(commission_percent="12", cashback_percent="4", reseller_discount_percent="12.5")
    programme.change_tier(DynamoUnitOfWork(), world.ops, nordit, Tier.INDIVIDUAL, effective_from=date(2024, 1, 10),
                          individual_rates=agreed, now=utc("2024-01-02T09:00:00"))
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("nordit")
    assert (invoice.lines[0].discount_percent, str(invoice.net_total.amount)) == (Decimal("12.5"), "1223.78")  # 1223.775 half-up


def test_each_invoice_is_stored_as_pdf_and_emailed_to_the_payers_billing_address(world):
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)
    (invoice,) = world.invoices_of("nordit")

    key = document_key(invoice)
    assert key == f"invoices/{world.data.distributor.id}/2024/PH-2024-000001.pdf"
    text = pdf_text(world.documents.get(key))
    assert "PH-2024-000001" in text and "Gesamtbetrag / Total 1.581,12 €" in text and "NordIT Systemhaus GmbH" in text
    (mail,) = world.mailer.sent
    assert mail.to == ("billing@nordit.example",) and "PH-2024-000001" in mail.subject
    (attachment,) = mail.attachments
    assert (attachment.filename, attachment.content_type) == ("PH-2024-000001.pdf", "application/pdf")
    assert "PH-2024-000001" in pdf_text(attachment.data)
    delivered_at, stored_key = DynamoUnitOfWork().invoices.delivery_state(invoice.id)
    assert delivered_at == RUN_AT and stored_key == key


def four_payers(world) -> None:
    """Service items due on 2024-01-15 for four payers: NordIT (for Hanse), Kanzlei, SüdCloud (for Alpen), Direkt."""
    world.add_service_item("hanse", "sr-1", "120.00", date(2024, 1, 15), partner="nordit")
    world.add_service_item("kanzlei", "sr-2", "80.00", date(2024, 1, 15), partner="nordit")
    world.add_service_item("alpen", "sr-3", "45.50", date(2024, 1, 14), partner="suedcloud")  # after yesterday's run
    world.add_service_item("direkt", "sr-4", "99.99", date(2024, 1, 15))


PAYERS = ("nordit", "kanzlei", "suedcloud", "direkt")


def billing_state(world):
    """Per payer: its invoices' gross totals and delivery; the numbers in the order of the plan (by customer id); the mails."""
    uow = DynamoUnitOfWork()
    invoices = {key: world.invoices_of(key) for key in PAYERS}
    per_payer = {key: [(str(i.gross_total.amount), uow.invoices.delivery_state(i.id)[0] is not None) for i in found] for key, found in invoices.items()}
    numbers_in_plan_order = [i.number for i in sorted((i for found in invoices.values() for i in found), key=lambda i: i.customer_id)]
    return per_payer, numbers_in_plan_order, sorted(m.to for m in world.mailer.sent)


def test_service_items_are_billed_to_the_payer_of_their_partnership(world):
    four_payers(world)
    summary = world.run(date(2024, 1, 15), RUN_AT)
    assert (summary.invoices_issued, summary.service_items_billed, summary.delivered) == (4, 4, 4)
    payers = {i.payer_id: str(i.net_total.amount) for key in ("nordit", "kanzlei", "suedcloud", "direkt") for i in world.invoices_of(key)}
    assert payers == {
        world.partner("nordit"): "120.00", world.customer("kanzlei"): "80.00",
        world.partner("suedcloud"): "45.50", world.customer("direkt"): "99.99",
    }  # services carry no reseller discount
    assert DynamoUnitOfWork().service_items.billed_invoice_id("sr-1") == world.invoices_of("nordit")[0].id


def test_running_twice_issues_and_sends_nothing_the_second_time(world):
    four_payers(world)
    world.run(date(2024, 1, 15), RUN_AT)
    first = billing_state(world)
    again = world.run(date(2024, 1, 15), RUN_AT)
    assert (again.invoices_issued, again.already_issued, again.delivered) == (0, 0, 0)
    assert billing_state(world) == first
    assert first[1] == ["PH-2024-000001", "PH-2024-000002", "PH-2024-000003", "PH-2024-000004"]


def test_the_run_reads_only_due_items(world):
    four_payers(world)
    world.add_service_item("direkt", "sr-future", "10.00", date(2024, 2, 1))
    world.add_service_item("direkt", "sr-old", "10.00", date(2024, 1, 7))  # 8 days before: beyond the catch-up
    world.order("hanse", "2024-03-01T10:00:00")  # a charge billed in March
    with count_requests() as count:
        summary = world.run(date(2024, 1, 15), RUN_AT)
    assert summary.invoices_issued == 4
    assert count.operations["Scan"] == 0
    # Queries: charges and service items of the run date and the 7 days it catches up on (16), the distributor (1),
    # the undelivered invoices of those 8 days (8). Items: the 4 due service items, the
    # distributor, 4 customers and 2 partners (BatchGet; also the issuer and payers of the
    # PDFs), the 2 partners' programme standing for their rates (BatchGet; neither joined:
    # no item). The counter is read once, before the first invoice (absent: no item).
    assert count.operations["Query"] == 1 + 3 * (1 + CATCH_UP_DAYS)
    assert count.items_read == 4 + 1 + 4 + 2
    # Per invoice: the transaction that issues it and claims its delivery, and the delivered mark.
    assert (count.operations["GetItem"], count.operations["BatchGetItem"]) == (1, 3)
    assert (count.operations["TransactWriteItems"], count.operations["UpdateItem"]) == (4, 4)


UNINTERRUPTED = (
    # per payer: gross (net + 19%) and delivered
    {"nordit": [("142.80", True)], "kanzlei": [("95.20", True)], "suedcloud": [("54.15", True)], "direkt": [("118.99", True)]},
    ["PH-2024-000001", "PH-2024-000002", "PH-2024-000003", "PH-2024-000004"],  # in the plan's order
    sorted([("billing@nordit.example",), ("rechnung@kanzlei.example",), ("billing@suedcloud.example",), ("rechnung@direkt.example",)]),
)


def test_an_uninterrupted_run_reaches_the_reference_state(world):
    four_payers(world)
    world.run(date(2024, 1, 15), RUN_AT)
    assert billing_state(world) == UNINTERRUPTED


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])  # k = 0, 1, n/2, n-1 of n = 4 invoices
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_run(world, crash_after):
    four_payers(world)
    with crash_after_commits(crash_after):
        world.run(date(2024, 1, 15), RUN_AT)
    assert len(world.mailer.sent) == crash_after  # what was issued before the crash was delivered
    world.run(date(2024, 1, 15), RUN_AT)
    assert billing_state(world) == UNINTERRUPTED  # same invoices, same gap-free numbers, each e-mailed once


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])  # the (k+1)-th of n = 4 invoices is issued, then the Lambda dies
def test_a_run_that_died_right_after_issuing_sends_that_invoice_once_when_its_claim_has_expired(world, crash_after):
    """The issuing transaction claims the delivery until 22:45 (RUN_AT + 15 minutes), so the invoice is e-mailed by the
    first run after that, never by two runs, and the numbers stay those of an uninterrupted run."""
    four_payers(world)
    with crash_after_commit(crash_after):
        world.run(date(2024, 1, 15), RUN_AT)
    assert len(world.mailer.sent) == crash_after  # the invoice issued last was not sent

    # Retried at 22:40, while the dead run's claim holds: the rest is issued and sent, that invoice waits.
    retried = world.run(date(2024, 1, 15), utc("2024-01-15T22:40:00"))
    assert (retried.invoices_issued, retried.delivered) == (3 - crash_after, 3 - crash_after)
    assert len(world.mailer.sent) == 3

    # The next day's run (it delivers yesterday's leftovers too) sends it, once.
    next_day = world.run(date(2024, 1, 16), utc("2024-01-16T22:30:00"))
    assert (next_day.invoices_issued, next_day.delivered) == (0, 1)
    assert billing_state(world) == UNINTERRUPTED
    assert world.run(date(2024, 1, 16), utc("2024-01-16T23:00:00")).delivered == 0


def test_a_number_taken_by_someone_else_during_the_run_costs_one_counter_read_and_leaves_no_gap(world, monkeypatch):
    """After the run's second invoice, the distributor issues a EUR 25.00 invoice by hand: it gets PH-2024-000003; the
    run's next transaction, which expected the counter at 2, is refused, reads the counter and takes 4 and 5."""
    from decimal import Decimal

    from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment
    from domain.money import Money
    from domain.services import invoices as invoicing
    from infra.pdf import PdfInvoiceRenderer
    from infra.settings import get_settings

    four_payers(world)
    manual = InvoiceDraft(
        invoice_id="inv_manual0001", kind=InvoiceKind.INVOICE, issuer_id=world.data.distributor.id, payer_id=world.customer("hanse"),
        customer_id=world.customer("hanse"), currency="EUR", lines=(InvoiceLine.priced("Einrichtung", 1, Money.of("25.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER,
    )
    sent = world.mailer.send

    def send_then_someone_issues(message):
        sent(message)
        if len(world.mailer.sent) == 2:  # issued and delivered at once, as the API does
            at = utc("2024-01-15T22:31:00")
            invoice = invoicing.issue_draft(DynamoUnitOfWork, manual, now=at, prefix="PH")
            invoicing.deliver(DynamoUnitOfWork, invoice, documents=world.documents, mailer=world.mailer, renderer=PdfInvoiceRenderer(), now=at)

    monkeypatch.setattr(world.mailer, "send", send_then_someone_issues)
    with count_requests() as count:
        summary = world.run(date(2024, 1, 15), RUN_AT)

    assert (summary.invoices_issued, summary.delivered) == (4, 4)
    run_numbers = billing_state(world)[1]
    assert run_numbers == ["PH-2024-000001", "PH-2024-000002", "PH-2024-000004", "PH-2024-000005"]
    assert DynamoUnitOfWork().invoices.get("inv_manual0001").number == "PH-2024-000003"
    counters = get_settings().table_name("counters")
    counter_reads = [p for op, p in count.calls if op == "GetItem" and p["TableName"] == counters]
    assert len(counter_reads) == 3  # the run's first invoice, the manual invoice, the run's retry after the refusal
    assert len(world.mailer.sent) == 5
    assert DynamoUnitOfWork().invoice_numbers.last_sequence(world.data.distributor.id, 2024) == 5


@pytest.mark.parametrize("operation", ["TransactWriteItems", "UpdateItem", "BatchGetItem"])
def test_throttled_issuing_delivery_and_reads_are_retried_without_gap_or_second_mail(world, throttle, operation):
    """DynamoDB refuses two issuing transactions (or delivered marks, or batch reads); botocore retries them."""
    four_payers(world)
    plan = throttle(operation, times=2)
    world.run(date(2024, 1, 15), RUN_AT)
    assert plan["refused"] == 2
    assert billing_state(world) == UNINTERRUPTED


def test_an_invoice_committed_but_not_delivered_before_a_crash_is_delivered_by_the_next_run_once(world, monkeypatch):
    four_payers(world)
    sent = world.mailer.send
    calls = {"n": 0}

    def failing_send(message):
        calls["n"] += 1
        if calls["n"] in (2, 5):  # the second invoice's e-mail fails twice (also in the end-of-run retry)
            raise ConnectionError("SES unavailable")
        sent(message)

    monkeypatch.setattr(world.mailer, "send", failing_send)
    summary = world.run(date(2024, 1, 15), RUN_AT)
    assert (summary.invoices_issued, summary.delivered, summary.delivery_failures) == (4, 3, 1)
    monkeypatch.setattr(world.mailer, "send", sent)
    with count_requests() as count:
        again = world.run(date(2024, 1, 15), utc("2024-01-16T06:00:00"))
    assert (again.invoices_issued, again.delivered) == (0, 1)
    # Nothing due: 16 empty queries (8 days, charges and items); the undelivered invoices of those days (8 queries),
    # their issuer and payer (1 BatchGet).
    assert (count.operations["Query"], count.operations["BatchGetItem"], count.operations["GetItem"]) == (3 * (1 + CATCH_UP_DAYS), 1, 0)
    subjects = [m.subject for m in world.mailer.sent]
    assert len(subjects) == len(set(subjects)) == 4


def test_scheduled_entry_point_bills_the_berlin_date_of_its_trigger(world, monkeypatch):
    import handler

    four_payers(world)
    monkeypatch.setattr(handler._services(), "clock", lambda: RUN_AT)
    result = handler.run_billing({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-01-15T22:30:00Z", "detail": {}}, None)
    assert (result["run_date"], result["invoices_issued"], result["delivered"], result["skipped"]) == ("2024-01-15", 4, 4, [])
    assert handler.run_billing({"run_date": "2024-01-15"}, None)["invoices_issued"] == 0


def test_an_item_without_a_payer_is_reported_and_left_due_while_the_rest_is_billed(world):
    four_payers(world)
    world.add_service_item("direkt", "sr-orphan", "10.00", date(2024, 1, 15), partner="nordit")  # Direkt has no link to NordIT
    summary = world.run(date(2024, 1, 15), RUN_AT)
    assert summary.invoices_issued == 4
    assert summary.skipped == [f"sr-orphan: customer {world.customer('direkt')} has no partnership link with {world.partner('nordit')}"]
    assert DynamoUnitOfWork().service_items.billed_invoice_id("sr-orphan") is None
    assert [i.reference for i in DynamoUnitOfWork().service_items.list_due(date(2024, 1, 15), limit=10, cursor=None).items] == ["sr-orphan"]


def test_through_ses_the_payer_receives_the_invoice_pdf_as_an_attachment(world):
    import email

    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from infra.email import SesMailer
    from infra.settings import get_settings

    settings = get_settings()
    boto3.client("ses", region_name=settings.region).verify_email_identity(EmailAddress=settings.mail_from)
    world.mailer = SesMailer(settings)
    world.order("hanse", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), RUN_AT)

    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID][settings.region].sent_messages
    message = email.message_from_string(sent.raw_data)
    assert message["To"] == "billing@nordit.example" and "PH-2024-000001" in message["Subject"]
    (pdf,) = [part.get_payload(decode=True) for part in message.walk() if part.get_filename() == "PH-2024-000001.pdf"]
    assert "Gesamtbetrag / Total 1.581,12 €" in pdf_text(pdf)


def cancel_after_an_addition(world, **run_kwargs):
    """Kanzlei (customer pays) orders 10 seats on 2024-01-15 (A), adds 5 on 01-16 (B), cancels all 15 on 01-17."""
    world.make_csp_ready("kanzlei")
    sid = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, IncreaseSeats(5), now=utc("2024-01-16T10:00:00"))
    world.run(date(2024, 1, 16), utc("2024-01-16T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, CancelSubscription(), now=utc("2024-01-17T09:00:00"))


def test_a_cancellation_of_seats_of_two_invoices_is_one_credit_note_per_invoice_each_registered_on_it(world):
    from domain.errors import Conflict
    from domain.services import invoices as invoicing

    cancel_after_an_addition(world)
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    a, b, *notes = world.invoices_of("kanzlei")
    assert (a.net_total.amount, b.net_total.amount) == (Decimal("1398.60"), Decimal("697.39"))
    assert sorted((n.corrects_invoice_number, n.net_total.amount) for n in notes) == [
        (a.number, Decimal("-1390.96")), (b.number, Decimal("-695.48"))]  # 2086.44 in all, as one note before
    reader = DynamoUnitOfWork().invoices
    assert [n.net_total.amount for n in reader.list_credit_notes(a.id)] == [Decimal("-1390.96")]
    assert [n.net_total.amount for n in reader.list_credit_notes(b.id)] == [Decimal("-695.48")]
    with pytest.raises(Conflict):  # the run credited 1390.96 of A's 1398.60: a full credit by hand is refused
        invoicing.create_credit_note(DynamoUnitOfWork, world.ops, a.id, reason="goodwill", lines=None,
                                     now=utc("2024-01-18T10:00:00"), prefix="PH", ledger=None)


def test_a_run_that_crashed_between_the_two_credit_notes_of_one_credit_issues_only_the_other_on_resume(world):
    cancel_after_an_addition(world)
    with crash_after_commits(1):
        world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    assert len(world.invoices_of("kanzlei")) == 3  # one credit note issued, the credit still due
    world.run(date(2024, 1, 18), utc("2024-01-18T22:30:00"))  # resumed the next day (other ids): nothing twice
    a, b, *notes = world.invoices_of("kanzlei")
    assert sorted((n.corrects_invoice_number, n.net_total.amount) for n in notes) == [
        (a.number, Decimal("-1390.96")), (b.number, Decimal("-695.48"))]


def test_the_run_never_credits_an_invoice_beyond_what_a_manual_credit_note_left_of_it(world):
    from domain.services import invoices as invoicing

    world.make_csp_ready("kanzlei")
    sid = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    (a,) = world.invoices_of("kanzlei")  # 1398.60
    invoicing.create_credit_note(DynamoUnitOfWork, world.ops, a.id, reason="wrong price", lines=None,
                                 now=utc("2024-01-16T10:00:00"), prefix="PH", ledger=None)  # -1398.60
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    summary = world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))  # the cancellation's credit: -1390.96
    assert [n.net_total.amount for n in DynamoUnitOfWork().invoices.list_credit_notes(a.id)] == [Decimal("-1398.60")]
    assert summary.invoices_issued == 0 and len(summary.skipped) == 1
    assert f"more than is left to credit of {a.number} (credited already: 1398.60)" in summary.skipped[0]


def test_a_credit_of_the_service_line_of_a_mixed_invoice_keeps_the_cashback_on_its_subscriptions(world):
    from domain.commissions import CommissionKind, CommissionStatus
    from domain.invoices import CreditItem
    from domain.services import commissions as ledger
    from domain.services import invoices as invoicing

    world.make_csp_ready("kanzlei")  # customer pays through NordIT: 3 % cashback
    world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)  # 1398.60
    world.add_service_item("kanzlei", "sr-1", "1500.00", date(2024, 1, 15), partner="nordit")
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    (invoice,) = world.invoices_of("kanzlei")
    service_line = next(n for n, line in enumerate(invoice.lines, 1) if line.source_reference == "sr-1")
    note = invoicing.create_credit_note(DynamoUnitOfWork, world.ops, invoice.id, reason="service report disputed",
                                        lines=[CreditItem(service_line)], now=utc("2024-01-20T10:00:00"), prefix="PH", ledger=None)
    assert note.net_total.amount == Decimal("-1500.00")
    ledger.record_credit_note(DynamoUnitOfWork(), note, now=utc("2024-01-20T10:00:00"))
    (cashback,) = [e for e in DynamoUnitOfWork().commissions.list_for_invoice(invoice.id) if e.kind is CommissionKind.CASHBACK]
    assert (cashback.status, cashback.amount.amount) == (CommissionStatus.AWAITING_PAYMENT, Decimal("41.96"))  # 3 % of 1398.60


def _credited_in_all(world, customer: str) -> Decimal:
    return sum((n.net_total.amount for n in world.invoices_of(customer) if n.kind is InvoiceKind.CREDIT_NOTE), Decimal("0"))


def test_a_second_run_on_the_same_date_never_loses_a_share_of_a_new_credit(world):
    # S1: 10 seats on A (01-15); S2: 10 on A and 5 more on B (01-16). S1 cancelled and the run of 01-17 credits it on a
    # note correcting A; then S2 is cancelled and the run of 01-17 runs again. S2's share on A would get the id of S1's
    # note: it waits for the next run instead of being counted as issued while S2's note on B marks S2 billed. (The old
    # code lost it only when the note on A came first in the plan, which depends on random ids: this test does not
    # always catch it; the crash variant below did in every run.)
    world.make_csp_ready("kanzlei")
    s1 = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    s2 = world.order("kanzlei", "2024-01-15T10:05:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, s2, IncreaseSeats(5), now=utc("2024-01-16T10:00:00"))
    world.run(date(2024, 1, 16), utc("2024-01-16T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, s1, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T20:00:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, s2, CancelSubscription(), now=utc("2024-01-17T21:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:00:00"))
    world.run(date(2024, 1, 18), utc("2024-01-18T22:30:00"))
    assert _credited_in_all(world, "kanzlei") == Decimal("-1390.96") * 2 - Decimal("695.48")  # S1, and S2 on A and on B
    assert world.run(date(2024, 1, 19), utc("2024-01-19T22:30:00")).invoices_issued == 0  # and nothing twice


def test_a_same_date_rerun_after_a_crash_credits_every_share_once(world):
    world.make_csp_ready("kanzlei")
    s1 = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    s2 = world.order("kanzlei", "2024-01-15T10:05:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    for sid in (s1, s2):
        subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, IncreaseSeats(5), now=utc("2024-01-16T10:00:00"))
    world.run(date(2024, 1, 16), utc("2024-01-16T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, s1, CancelSubscription(), now=utc("2024-01-17T09:00:00"))
    with crash_after_commits(1):
        world.run(date(2024, 1, 17), utc("2024-01-17T20:00:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, s2, CancelSubscription(), now=utc("2024-01-17T21:00:00"))
    for day in (17, 18, 19):
        world.run(date(2024, 1, day), utc(f"2024-01-{day}T22:30:00"))
    assert _credited_in_all(world, "kanzlei") == 2 * (Decimal("-1390.96") - Decimal("695.48"))


def test_a_credit_of_billed_and_unbilled_seats_corrects_the_issued_invoice_on_its_own_note(world):
    from domain.errors import Conflict
    from domain.services import invoices as invoicing

    # 10 seats billed on A (01-15, 1398.60); on 01-17 5 seats are added at 09:00 and all 15 cancelled at 10:00.
    world.make_csp_ready("kanzlei")
    sid = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, IncreaseSeats(5), now=utc("2024-01-17T09:00:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, CancelSubscription(), now=utc("2024-01-17T10:00:00"))
    world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    a = world.invoices_of("kanzlei")[0]
    notes = [i for i in world.invoices_of("kanzlei") if i.kind is InvoiceKind.CREDIT_NOTE]
    (note,) = notes  # A's share on a note that names A (and is registered on it); the new seats net on the run's invoice
    assert (note.corrects_invoice_id, note.net_total.amount) == (a.id, Decimal("-1390.96"))
    assert [n.id for n in DynamoUnitOfWork().invoices.list_credit_notes(a.id)] == [note.id]
    with pytest.raises(Conflict):  # so a manual full credit of A on top is refused
        invoicing.create_credit_note(DynamoUnitOfWork, world.ops, a.id, reason="goodwill", lines=None, now=utc("2024-01-18T10:00:00"), prefix="PH", ledger=None)


def test_after_a_manual_full_credit_a_mixed_credit_credits_only_its_unbilled_seats_and_reports_the_rest(world):
    from domain.services import invoices as invoicing

    world.make_csp_ready("kanzlei")
    sid = world.order("kanzlei", "2024-01-15T10:00:00", quantity=10)
    world.run(date(2024, 1, 15), utc("2024-01-15T22:30:00"))
    (a,) = world.invoices_of("kanzlei")
    invoicing.create_credit_note(DynamoUnitOfWork, world.ops, a.id, reason="goodwill", lines=None, now=utc("2024-01-16T10:00:00"), prefix="PH", ledger=None)
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, IncreaseSeats(5), now=utc("2024-01-17T09:00:00"))
    subs.change_subscription(DynamoUnitOfWork(), world.sales, sid, CancelSubscription(), now=utc("2024-01-17T10:00:00"))
    summary = world.run(date(2024, 1, 17), utc("2024-01-17T22:30:00"))
    assert any("more than is left to credit" in s for s in summary.skipped)
    assert _credited_in_all(world, "kanzlei") == Decimal("-1398.60")  # A never credited twice
    run_invoice = world.invoices_of("kanzlei")[-1]
    assert run_invoice.kind is InvoiceKind.INVOICE and run_invoice.net_total.amount == Decimal("0.00")  # +695.48 - 695.48


def test_an_invoice_a_rule_refuses_fails_alone_and_is_issued_once_when_the_rule_passes(world, monkeypatch):
    """Of the four payers' invoices of 2024-01-15, a rule refuses Kanzlei's (simulated: issuing it raises a domain
    error): the other three are issued as PH-2024-000001 to 000003 and sent; Kanzlei's EUR 80.00 item stays due,
    unbilled, reported and raised. Once the rule passes, the next run issues it as PH-2024-000004 (EUR 95.20), once."""
    import handler
    from domain.errors import ValidationFailed
    from domain.invoices import InvoiceDraft
    from domain.services.job_runs import ItemsFailed

    four_payers(world)
    kanzlei = world.customer("kanzlei")
    real_issue = refuse_one(monkeypatch, InvoiceDraft, "issue", lambda draft, **_: ValidationFailed(
        f"The payer {kanzlei} has no VAT treatment for its country.", field="payerId") if draft.payer_id == kanzlei else None)
    monkeypatch.setattr(handler._services(), "clock", lambda: RUN_AT)
    with pytest.raises(ItemsFailed) as raised:
        handler.run_billing({"run_date": "2024-01-15"}, None)
    summary = raised.value.summary
    (poison,) = summary["failed"]
    assert (summary["invoices_issued"], summary["service_items_billed"], summary["delivered"], summary["skipped"]) == (3, 3, 3, [])
    assert poison in str(raised.value)
    assert world.invoices_of("kanzlei") == []
    assert DynamoUnitOfWork().service_items.billed_invoice_id("sr-2") is None
    assert sorted(i.number for key in ("nordit", "suedcloud", "direkt") for i in world.invoices_of(key)) == [
        "PH-2024-000001", "PH-2024-000002", "PH-2024-000003",
    ]

    monkeypatch.setattr(InvoiceDraft, "issue", real_issue)
    again = handler.run_billing({"run_date": "2024-01-15"}, None)
    assert (again["invoices_issued"], again["delivered"], again["failed"]) == (1, 1, [])
    assert handler.run_billing({"run_date": "2024-01-15"}, None)["invoices_issued"] == 0
    (invoice,) = world.invoices_of("kanzlei")
    assert (invoice.id, invoice.number, str(invoice.gross_total.amount)) == (poison, "PH-2024-000004", "95.20")
    assert DynamoUnitOfWork().service_items.billed_invoice_id("sr-2") == poison
