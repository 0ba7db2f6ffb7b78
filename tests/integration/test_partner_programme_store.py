"""Partner programme over DynamoDB (moto): partner numbers, attribution at sign-up, commissions from paid
invoices and credit notes, the approval job (reads only what is due, idempotent, resumable) and payouts
(one transaction; two concurrent requests never pay twice)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.commissions import CommissionKind, CommissionStatus, PayoutBelowThreshold
from domain.errors import Conflict
from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment, credit_note_for, record_payment
from domain.money import Money
from domain.organisations import Address, BillingMode
from domain.partner_programme import ProgrammeTerms
from domain.policy import Principal
from domain.referrals import ReferralClick
from domain.services import commissions as commission_svc
from domain.services import partner_programme as programme
from domain.services.organisations import NewCustomer
from infra.demo import enrol_demo_partner
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.settings import get_settings
from infra.storage import S3DocumentStore
from tests.crash import crash_after_commits, refuse_one
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.request_counter import count_requests

UTC = timezone.utc
TERMS = ProgrammeTerms.default()  # Registered: 10 % commission


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def world(aws):
    from infra.demo import seed

    data = seed(DynamoUnitOfWork(), utc("2023-12-01T09:00:00"))
    ops = Principal.of(data.users["distributor"])
    nordit = enrol_demo_partner(DynamoUnitOfWork(), S3DocumentStore(get_settings()), ops, data.partners["nordit"].id, now=utc("2023-12-01T09:00:00"))
    return data, ops, nordit


def sign_up(ops, number, *, clicked: str, at: str, name="Neukunde GmbH"):
    command = NewCustomer(name=name, address=Address.create("Weg 1", "20095", "Hamburg"), billing_email="billing@neukunde.example",
                          billing_mode=BillingMode.CUSTOMER_PAYS)
    click = ReferralClick.of(number, utc(clicked))
    return programme.sign_up_customer(DynamoUnitOfWork(), ops, command, cookie_clicks=[click], referral_code=None, now=utc(at))


def paid_invoice(customer_id: str, *, invoice_id="inv_00000000000000000001", net="1000.00", issued="2024-02-01T10:00:00", paid_on=date(2024, 2, 10)):
    draft = InvoiceDraft(
        invoice_id=invoice_id, kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id=customer_id, customer_id=customer_id,
        currency="EUR", lines=(InvoiceLine.priced("Microsoft 365 Business Standard", 1, Money.of(net), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER, billing_mode=BillingMode.CUSTOMER_PAYS,
    )
    invoice = draft.issue(number=f"PH-2024-{int(invoice_id[-6:]):06d}", issued_at=utc(issued))
    outcome = record_payment(invoice, invoice.amount_due, paid_on, f"ref-{invoice_id}", today=paid_on)
    return outcome.invoice, outcome.event


def test_partner_numbers_are_allocated_in_sequence_from_the_counters_table(world):
    data, ops, nordit = world
    sued = enrol_demo_partner(DynamoUnitOfWork(), S3DocumentStore(get_settings()), ops, data.partners["suedcloud"].id, now=utc("2023-12-02T09:00:00"))
    assert (nordit.partner_number, sued.partner_number) == (1, 2)
    assert DynamoUnitOfWork().programme_partners.get_by_number(2).partner_id == data.partners["suedcloud"].id


def test_concurrent_allocations_never_share_a_number(world):
    data, ops, _ = world
    import infra.dynamo.partner_repositories as repos

    # Both read the counter before either commits: one commit must fail, the retry takes the next number.
    uow_a, uow_b = DynamoUnitOfWork(), DynamoUnitOfWork()
    with uow_a, uow_b:
        number_a = uow_a.programme_partners.next_partner_number()
        number_b = uow_b.programme_partners.next_partner_number()
        assert number_a == number_b == 2
        uow_a.commit()
        with pytest.raises(Conflict):
            uow_b.commit()
    assert repos.CounterModel.get(repos.PARTNER_NUMBER_COUNTER).value == 2


def test_sign_up_within_90_days_of_the_signed_click_is_attributed_in_the_same_transaction(world):
    _, ops, nordit = world
    customer, attribution = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-03-31T10:00:00")
    assert attribution.partner_id == nordit.partner_id
    assert DynamoUnitOfWork().referrals.get_for_customer(customer.id).partner_number == nordit.partner_number


def test_sign_up_on_day_91_is_not_attributed(world):
    _, ops, nordit = world
    customer, attribution = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-04-01T10:00:00")
    assert attribution is None and DynamoUnitOfWork().referrals.get_for_customer(customer.id) is None


def test_a_paid_invoice_of_a_referred_customer_books_a_pending_commission_once(world):
    _, ops, nordit = world
    customer, _ = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-01-05T10:00:00")
    invoice, event = paid_invoice(customer.id)
    booked = commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    assert [(c.status, c.amount, c.approval_date) for c in booked] == [(CommissionStatus.PENDING, Money.of("100.00"), date(2024, 5, 10))]
    again = commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    assert again == [] and len(DynamoUnitOfWork().commissions.list_for_invoice(invoice.id)) == 1


def test_an_invoice_of_a_customer_nobody_referred_books_nothing(world):
    data, _, _ = world
    invoice, event = paid_invoice(data.customers["direkt"].id)
    assert commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00")) == []


def _referred_commission(world, **invoice_kwargs):
    _, ops, nordit = world
    customer, _ = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-01-05T10:00:00")
    invoice, event = paid_invoice(customer.id, **invoice_kwargs)
    commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    return invoice


def test_credit_note_before_approval_voids_the_commission(world):
    invoice = _referred_commission(world)
    note = credit_note_for(invoice, reason="cancelled", now=utc("2024-03-01T10:00:00"), number="PH-2024-000101")
    commission_svc.record_credit_note(DynamoUnitOfWork(), note, now=utc("2024-03-01T10:00:00"))
    summary = commission_svc.approve_due_commissions(DynamoUnitOfWork, run_date=date(2024, 5, 10), now=utc("2024-05-10T03:00:00"))
    (entry,) = DynamoUnitOfWork().commissions.list_for_invoice(invoice.id)
    assert entry.status is CommissionStatus.VOID and summary.approved == 0


def test_credit_note_after_approval_books_a_negative_adjustment(world):
    invoice = _referred_commission(world)
    commission_svc.approve_due_commissions(DynamoUnitOfWork, run_date=date(2024, 5, 10), now=utc("2024-05-10T03:00:00"))
    note = credit_note_for(invoice, reason="refund", now=utc("2024-06-01T10:00:00"), number="PH-2024-000102")
    commission_svc.record_credit_note(DynamoUnitOfWork(), note, now=utc("2024-06-01T10:00:00"))
    commission_svc.record_credit_note(DynamoUnitOfWork(), note, now=utc("2024-06-01T10:00:00"))  # replayed: nothing more
    entries = sorted(DynamoUnitOfWork().commissions.list_for_invoice(invoice.id), key=lambda c: c.kind.value)
    assert [(c.kind, c.status, c.amount) for c in entries] == [
        (CommissionKind.ADJUSTMENT, CommissionStatus.APPROVED, Money.of("-100.00")),
        (CommissionKind.COMMISSION, CommissionStatus.APPROVED, Money.of("100.00")),
    ]


def test_cashback_waits_for_the_payment_then_for_90_days(world):
    from domain.billing import Cashback

    data, _, nordit = world
    customer_id = data.customers["kanzlei"].id
    invoice, event = paid_invoice(customer_id, invoice_id="inv_00000000000000000077")
    entry = commission_svc.record_cashback(
        DynamoUnitOfWork(), Cashback(nordit.partner_id, invoice.id, Money.of("30.00")), customer_id=customer_id,
        invoice_date=invoice.issue_date, now=utc("2024-02-01T10:00:00"),
    )
    assert entry.status is CommissionStatus.AWAITING_PAYMENT
    commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    assert DynamoUnitOfWork().commissions.get(entry.id).approval_date == date(2024, 5, 10)


# --- the approval job -----------------------------------------------------------------------

N = 6


@pytest.fixture
def due(world):
    """N commissions paid 2024-02-10 (due 2024-05-10) and one paid 2024-02-11 (due 2024-05-11)."""
    _, ops, nordit = world
    customer, _ = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-01-05T10:00:00")
    ids = []
    for n in range(N + 1):
        paid_on = date(2024, 2, 10) if n < N else date(2024, 2, 11)
        invoice, event = paid_invoice(customer.id, invoice_id=f"inv_{n + 1:020d}", net="100.00", paid_on=paid_on)
        (c,) = commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-11T12:00:00"))
        ids.append(c.id)
    return ids


def statuses(ids):
    uow = DynamoUnitOfWork()
    return [uow.commissions.get(i).status for i in ids]


def approve(run_date=date(2024, 5, 10), **kwargs):
    return commission_svc.approve_due_commissions(DynamoUnitOfWork, run_date=run_date, now=utc(f"{run_date}T03:00:00"), **kwargs)


def test_nothing_is_approved_on_2024_05_09(due):
    assert approve(date(2024, 5, 9)).approved == 0
    assert set(statuses(due)) == {CommissionStatus.PENDING}


def test_the_job_approves_on_2024_05_10_what_is_due_and_reads_only_that(due):
    with count_requests() as count:
        summary = approve(page_limit=4)
    assert summary.approved == N
    assert statuses(due) == [CommissionStatus.APPROVED] * N + [CommissionStatus.PENDING]
    assert count.operations["Scan"] == 0
    assert count.operations["Query"] == 2  # two pages of 4 (6 due items), then nothing more
    assert count.items_read == N


def test_running_twice_approves_nothing_the_second_time(due):
    approve()
    with count_requests() as count:
        assert approve().approved == 0
    assert count.items_read == 0 and count.operations["Query"] == 1


@pytest.mark.parametrize("crash_after", [0, 1, N // 2, N - 1])
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_one(due, crash_after):
    with crash_after_commits(crash_after):
        approve(page_limit=4)
    assert statuses(due).count(CommissionStatus.APPROVED) == crash_after
    assert approve(page_limit=4).approved == N - crash_after
    assert statuses(due) == [CommissionStatus.APPROVED] * N + [CommissionStatus.PENDING]


@pytest.mark.parametrize("operation", ["Query", "PutItem"])
def test_throttled_pages_and_approvals_are_retried_and_approve_each_entry_once(due, throttle, operation):
    """DynamoDB refuses two due-index pages (or approvals); botocore retries them."""
    plan = throttle(operation, times=2)
    assert approve(page_limit=4).approved == N
    assert plan["refused"] == 2
    assert statuses(due) == [CommissionStatus.APPROVED] * N + [CommissionStatus.PENDING]


def test_the_scheduled_entry_point_uses_the_event_time_for_its_run_date(due, monkeypatch):
    import handler

    monkeypatch.setattr(handler._services(), "clock", lambda: utc("2024-05-10T03:00:00"))
    result = handler.approve_commissions({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-05-10T03:00:00Z", "detail": {}}, None)
    assert result["run_date"] == "2024-05-10" and result["approved"] == N



def test_an_entry_a_rule_refuses_stays_pending_alone_and_is_approved_once_when_the_rule_passes(due, monkeypatch):
    """Of the 6 commissions of EUR 10.00 due 2024-05-10, a rule refuses the third (simulated: its approval raises a
    domain error): the other 5 are approved (EUR 50.00), it stays pending, reported and raised; the next run approves
    it alone, once."""
    import handler
    from domain.commissions import Commission
    from domain.errors import PreconditionFailed
    from domain.services.job_runs import ItemsFailed

    poison = due[2]
    real_approve = refuse_one(monkeypatch, Commission, "approve", lambda commission, today, now: PreconditionFailed(
        f"Commission {commission.id} cannot be approved yet.") if commission.id == poison else None)
    monkeypatch.setattr(handler._services(), "clock", lambda: utc("2024-05-10T03:00:00"))
    before = DynamoUnitOfWork().commissions.get(poison)
    with pytest.raises(ItemsFailed) as raised:
        handler.approve_commissions({"run_date": "2024-05-10"}, None)
    summary = raised.value.summary
    assert (summary["approved"], summary["amount_cents"], summary["failed"]) == (N - 1, 5000, [poison])
    assert poison in str(raised.value)
    assert statuses(due) == [CommissionStatus.APPROVED] * 2 + [CommissionStatus.PENDING] + [CommissionStatus.APPROVED] * 3 + [CommissionStatus.PENDING]
    assert DynamoUnitOfWork().commissions.get(poison) == before  # nothing written

    monkeypatch.setattr(Commission, "approve", real_approve)  # the cause is fixed
    again = handler.approve_commissions({"run_date": "2024-05-10"}, None)
    assert (again["approved"], again["amount_cents"], again["failed"]) == (1, 1000, [])
    assert handler.approve_commissions({"run_date": "2024-05-10"}, None)["approved"] == 0
    assert statuses(due) == [CommissionStatus.APPROVED] * N + [CommissionStatus.PENDING]

# --- payouts ----------------------------------------------------------------------------------


@pytest.fixture
def payable(world):
    """Nordit has bank details and approved commissions of EUR 49.99 (threshold EUR 50.00)."""
    data, ops, nordit = world
    admin = Principal.of(data.users["nordit_admin"])
    programme.set_bank_details(DynamoUnitOfWork(), admin, nordit.partner_id, iban="DE89 3704 0044 0532 0130 00", account_holder="NordIT Systemhaus GmbH", bic=None)
    customer, _ = sign_up(ops, nordit.partner_number, clicked="2024-01-01T10:00:00", at="2024-01-05T10:00:00")
    for n, net in enumerate(["300.00", "199.90"]):
        invoice, event = paid_invoice(customer.id, invoice_id=f"inv_{n + 1:020d}", net=net)
        commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
    approve()

    def add_approved(net: str, n: int) -> None:
        invoice, event = paid_invoice(customer.id, invoice_id=f"inv_{n:020d}", net=net)
        commission_svc.record_commission_for_payment(DynamoUnitOfWork(), invoice, event, terms=TERMS, now=utc("2024-02-10T12:00:00"))
        approve()

    return admin, nordit, add_approved, ops


THRESHOLD = Money.of("50.00")


def test_payout_is_refused_at_threshold_minus_one_cent_and_allowed_above(payable):
    admin, nordit, add_approved, ops = payable
    with pytest.raises(PayoutBelowThreshold):
        commission_svc.request_payout(DynamoUnitOfWork(), admin, nordit.partner_id, threshold=THRESHOLD, now=utc("2024-05-11T09:00:00"))
    add_approved("0.20", 10)  # + EUR 0.02 → 50.01
    payout = commission_svc.request_payout(DynamoUnitOfWork(), admin, nordit.partner_id, threshold=THRESHOLD, now=utc("2024-05-11T09:00:00"))
    assert payout.amount == Money.of("50.01") and len(payout.commission_ids) == 3
    uow = DynamoUnitOfWork()
    assert {uow.commissions.get(i).status for i in payout.commission_ids} == {CommissionStatus.PAID}
    assert uow.commissions.list_payable(nordit.partner_id, limit=100) == []


def test_two_concurrent_payout_requests_never_pay_twice(payable):
    admin, nordit, add_approved, ops = payable
    add_approved("10.00", 10)
    barrier = threading.Barrier(2)
    results: list[object] = []
    import infra.dynamo.unit_of_work as unit_of_work

    original = unit_of_work.DynamoUnitOfWork.commit

    def commit_together(self):
        if self._pending and len(self._pending) > 1:
            barrier.wait(timeout=10)  # both have read the same approved commissions
        return original(self)

    unit_of_work.DynamoUnitOfWork.commit = commit_together
    try:
        def request():
            try:
                results.append(commission_svc.request_payout(DynamoUnitOfWork(), admin, nordit.partner_id, threshold=THRESHOLD, now=utc("2024-05-11T09:00:00")))
            except Conflict as exc:
                results.append(exc)

        threads = [threading.Thread(target=request) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        unit_of_work.DynamoUnitOfWork.commit = original
    payouts = [r for r in results if not isinstance(r, Exception)]
    assert len(results) == 2 and len(payouts) == 1, results
    stored = DynamoUnitOfWork().payouts.list_for_partner(nordit.partner_id, limit=10, cursor=None).items
    assert [p.id for p in stored] == [payouts[0].id]


def test_the_payout_run_writes_a_sepa_pain_001_file_with_each_payout(payable):
    from domain.services.commissions import Debtor
    from infra.sepa import render_payouts
    from infra.storage import S3DocumentStore
    from infra.settings import get_settings

    admin, nordit, add_approved, ops = payable
    add_approved("10.00", 10)
    payout = commission_svc.request_payout(DynamoUnitOfWork(), admin, nordit.partner_id, threshold=THRESHOLD, now=utc("2024-05-11T09:00:00"))
    documents = S3DocumentStore(get_settings())
    run = commission_svc.create_payout_run(
        DynamoUnitOfWork(), documents, ops, debtor=Debtor("Cloud Distribution GmbH", "DE02120300000000202051", "BYLADEM1001"),
        execution_date=date(2024, 5, 13), render=render_payouts, now=utc("2024-05-12T09:00:00"),
    )
    xml = documents.get(run.document_key).decode()
    assert "pain.001.001.03" in xml and "<InstdAmt Ccy=\"EUR\">50.99</InstdAmt>" in xml and "DE89370400440532013000" in xml
    assert run.payout_ids == (payout.id,)
    assert DynamoUnitOfWork().payouts.list_open(limit=10) == []



def test_demo_data_gives_the_partners_numbers_a_referral_and_commissions(aws):
    from infra.demo import seed

    now = utc("2026-11-23T09:00:00")
    data = seed(DynamoUnitOfWork(), now, partner_programme=True)
    uow = DynamoUnitOfWork()
    assert set(data.partner_numbers.values()) == {1, 2}
    entries = uow.commissions.all_for_partner(data.partners["nordit"].id)
    assert sorted((c.status.value, str(c.amount.amount)) for c in entries) == [("APPROVED", "120.00"), ("PENDING", "48.00")]
    assert uow.referrals.get_for_customer(data.customers["direkt"].id).partner_id == data.partners["nordit"].id


def test_a_payout_run_is_refused_until_the_distributors_account_is_configured(payable):
    from domain.errors import PreconditionFailed
    from domain.services.commissions import Debtor
    from infra.sepa import render_payouts
    from infra.settings import get_settings
    from infra.storage import S3DocumentStore

    admin, nordit, add_approved, ops = payable
    add_approved("10.00", 10)
    commission_svc.request_payout(DynamoUnitOfWork(), admin, nordit.partner_id, threshold=THRESHOLD, now=utc("2024-05-11T09:00:00"))
    with pytest.raises(PreconditionFailed, match="payout account"):
        commission_svc.create_payout_run(
            DynamoUnitOfWork(), S3DocumentStore(get_settings()), ops, debtor=Debtor("", "", None),
            execution_date=date(2024, 5, 13), render=render_payouts, now=utc("2024-05-12T09:00:00"),
        )
    assert len(DynamoUnitOfWork().payouts.list_open(limit=10)) == 1
