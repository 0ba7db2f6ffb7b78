"""Invoices feed the partner programme: a paid invoice of a referred customer books the referral commission,
a credit note voids it, and a customer-pays subscription invoice books the partner's cashback.

Demo: Direktkunde Müller has no partner and pays itself; NordIT (Registered: 10% commission, 3% cashback in the
default terms) referred it. Kanzlei pays itself for what NordIT resells (customer pays: NordIT earns cashback).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from domain.calendar import berlin_date
from domain.policy import Principal
from domain.referrals import Attribution
from infra.demo import enrol_demo_partner
from tests.conftest import NOW
from tests.e2e.test_invoices_api import CREDIT, PAY, biller  # noqa: F401  (biller is a fixture)

COMMISSIONS = """query($id: ID!) { commissions(partnerId: $id) { nodes { kind status amount { amount } invoiceId customerPaidOn approvalDate } } }"""


@pytest.fixture
def referred(services, demo):
    """NordIT joins the programme and Direkt counts as referred by it (as customerSignUp with its link records)."""
    ops = Principal.of(demo.users["distributor"])
    nordit = demo.partners["nordit"].id
    number = enrol_demo_partner(services.uow(), services.documents, ops, nordit, now=NOW - timedelta(days=30)).partner_number
    uow = services.uow()
    with uow:
        uow.referrals.add(Attribution(demo.customers["direkt"].id, nordit, number, NOW - timedelta(days=20), NOW - timedelta(days=19)))
        uow.commit()
    return nordit


def commissions(as_user, partner_id):
    return as_user("nordit_admin")(COMMISSIONS, {"id": partner_id})["commissions"]["nodes"]


def test_paying_a_referred_customers_invoice_books_the_commission_and_a_credit_note_voids_it(as_user, biller, referred, clock):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    assert commissions(as_user, referred) == []  # nothing before the customer pays

    clock.now = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the payment of 2026-11-30 is recorded the next day
    ops = as_user("distributor")
    paid = ops(PAY, {"input": {"invoiceId": invoice.id, "amount": "1190.00", "paidOn": "2026-11-30", "reference": "BANK-1"}})
    assert paid["paymentRecord"]["errors"] == []
    [booked] = commissions(as_user, referred)
    assert booked == {"kind": "COMMISSION", "status": "PENDING", "amount": {"amount": "100.00"}, "invoiceId": invoice.id,
                      "customerPaidOn": "2026-11-30", "approvalDate": "2027-02-28"}  # 90 days after the payment

    # the same payment again (a replayed bank import) books nothing more
    ops(PAY, {"input": {"invoiceId": invoice.id, "amount": "1190.00", "paidOn": "2026-11-30", "reference": "BANK-1"}})
    assert len(commissions(as_user, referred)) == 1

    credited = ops(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "Einsatz doppelt berechnet"}})["creditNoteCreate"]
    assert credited["errors"] == [] and credited["creditNote"]["netTotal"] == {"amount": "-1000.00"}
    [voided] = commissions(as_user, referred)
    assert voided["status"] == "VOID"


def test_an_unpaid_invoice_of_a_customer_nobody_referred_books_nothing(as_user, biller, referred, demo, clock):
    [invoice] = biller.run(NOW, biller.item("hanse", "500.00", partner="nordit"))  # NordIT pays for Hanse: no commission
    clock.now = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    ops = as_user("distributor")
    paid = ops(PAY, {"input": {"invoiceId": invoice.id, "amount": invoice.gross_total.amount.__str__(), "paidOn": "2026-11-30",
                               "reference": "BANK-2"}})
    assert paid["paymentRecord"]["invoice"]["status"] == "PAID"
    assert commissions(as_user, referred) == []


def bill_kanzlei_for_ten_seats_nordit_resells(services, demo) -> str:
    """NordIT (enrolled, 3 % cashback) resells 10 seats of Microsoft 365 Business Standard to Kanzlei, which pays itself;
    the billing run of 2026-11-23 issues Kanzlei's invoice and books NordIT's cashback. NordIT's id."""
    from domain.catalogue import M365_BUSINESS_STANDARD
    from domain.services import billing
    from domain.services import subscriptions as subs

    nordit = demo.partners["nordit"].id
    enrol_demo_partner(services.uow(), services.documents, Principal.of(demo.users["distributor"]), nordit, now=NOW - timedelta(days=30))
    sales = Principal.of(demo.users["nordit_sales"])
    kanzlei = demo.customers["kanzlei"].id
    subs.create_tenant(services.uow(), sales, customer_id=kanzlei, prefix="kanzleicash")
    subs.accept_customer_agreement(services.uow(), sales, customer_id=kanzlei, name="Karl", email="office@kanzlei.example", now=NOW)
    subs.order_subscription(services.uow(), sales, subs.SubscriptionOrder(kanzlei, M365_BUSINESS_STANDARD, subs.Term.P1Y,
                                                                         subs.Billing.MONTHLY, quantity=10), now=NOW)
    s = services
    billing.run_billing(s.uow, run_date=berlin_date(NOW), now=NOW, documents=s.documents, mailer=s.mailer, renderer=s.invoice_renderer)
    return nordit


def test_a_customer_pays_subscription_invoice_books_the_cashback_which_waits_for_the_payment(as_user, services, demo, clock):
    nordit = bill_kanzlei_for_ten_seats_nordit_resells(services, demo)
    kanzlei = demo.customers["kanzlei"].id
    [awaiting] = commissions(as_user, nordit)
    assert awaiting["kind"] == "CASHBACK" and awaiting["status"] == "AWAITING_PAYMENT"
    invoice_id = awaiting["invoiceId"]
    invoice = services.uow().invoices.get(invoice_id)
    assert invoice.payer_id == kanzlei

    clock.now = datetime(2026, 12, 2, 9, tzinfo=timezone.utc)
    as_user("distributor")(PAY, {"input": {"invoiceId": invoice_id, "amount": str(invoice.gross_total.amount), "paidOn": "2026-12-01",
                                           "reference": "BANK-3"}})
    [pending] = commissions(as_user, nordit)
    assert (pending["status"], pending["customerPaidOn"], pending["approvalDate"]) == ("PENDING", "2026-12-01", "2027-03-01")
    assert date.fromisoformat(pending["approvalDate"]) - date(2026, 12, 1) == timedelta(days=90)


CASHBACK_INVOICE = """query($id: ID!) { commissions(partnerId: $id) { nodes { kind amount { amount } ratePercent baseAmount { amount }
  invoiceNumber invoiceDate } } }"""


def test_the_reseller_sees_its_cashback_but_not_the_number_or_net_of_the_invoice_its_customer_pays(as_user, services, demo):
    """Kanzlei's customer-pays invoice (10 seats, net 116.60) is Kanzlei's: NordIT sees its 3 % cashback of 3.50 and the date."""
    nordit = bill_kanzlei_for_ten_seats_nordit_resells(services, demo)
    [seen] = as_user("nordit_admin")(CASHBACK_INVOICE, {"id": nordit})["commissions"]["nodes"]
    assert seen == {"kind": "CASHBACK", "amount": {"amount": "3.50"}, "ratePercent": "3", "baseAmount": None, "invoiceNumber": None,
                    "invoiceDate": "2026-11-23"}
    [ops] = as_user("distributor")(CASHBACK_INVOICE, {"id": nordit})["commissions"]["nodes"]
    assert ops["baseAmount"] == {"amount": "116.60"}
