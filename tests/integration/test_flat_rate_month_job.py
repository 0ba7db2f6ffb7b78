"""The daily rental and hosting job: each month is handed to billing once, on its first day (the start date in the
first month), a missed run is caught up, only due contracts are read, and a crashed run resumes.

Direktkunde Müller hosts in the data centre from 2026-11-16 for EUR 300.00 a month and has a SEPA mandate on file;
Kanzlei rents from 2026-11-01 to 2027-01-31 for EUR 249.00 a month (its partner NordIT; Kanzlei pays itself).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.contracts import ContractKind, Rates
from domain.invoices import PaymentMethod
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import contracts as svc
from domain.services import organisations as org_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from tests.crash import crash_after_commits, refuse_one
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.request_counter import count_requests


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def contracts(demo):
    ops = Principal.of(demo.users["distributor"])
    direkt, kanzlei = demo.customers["direkt"].id, demo.customers["kanzlei"].id
    hosting = svc.create_contract(
        DynamoUnitOfWork(), ops,
        svc.NewContract(direkt, ContractKind.DATA_CENTRE_HOSTING, date(2026, 11, 16), Rates(Money.of("95.00")), monthly_flat_rate=Money.of("300.00")),
        now=utc(2026, 11, 2, 9),
    )
    rental = svc.create_contract(
        DynamoUnitOfWork(), ops,
        svc.NewContract(kanzlei, ContractKind.RENTAL_FLAT_RATE, date(2026, 11, 1), Rates(Money.of("95.00")), ends_on=date(2027, 1, 31),
                        monthly_flat_rate=Money.of("249.00")),
        now=utc(2026, 10, 20, 9),
    )
    quota_and_cooperation = [  # other kinds: never read by the job
        svc.create_contract(DynamoUnitOfWork(), ops, svc.NewContract(direkt, ContractKind.COOPERATION, date(2026, 1, 1), Rates(Money.of("95.00"))),
                            now=utc(2026, 1, 1, 9)),
    ]
    org_svc.set_sepa_mandate(DynamoUnitOfWork(), ops, direkt, org_svc.MandateDetails(
        "MNDT-2026-0042", "DE89370400440532013000", "Direktkunde Müller e.K.", date(2026, 11, 2)), now=utc(2026, 11, 2, 10))
    return hosting, rental, quota_and_cooperation


def run(day: date, page_limit: int = 1):
    return svc.book_flat_rate_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 45), page_limit=page_limit)


def due_items(day: date) -> list[tuple[str, str, str]]:
    items = DynamoUnitOfWork().service_items.list_due(day, limit=50, cursor=None).items
    return sorted((i.reference.split("#")[0] + "#" + i.reference.split("#")[-1], i.description, str(i.unit_price.amount)) for i in items)


def test_each_month_is_booked_once_on_its_first_day_and_the_first_month_on_the_start_date(contracts):
    assert run(date(2026, 11, 15)).months_booked == 1  # Kanzlei's November (due 2026-11-01, caught up)
    assert due_items(date(2026, 11, 15)) == [("rental#2026-11", "Rental flat rate November 2026", "249.00")]
    summary = run(date(2026, 11, 16))
    assert (summary.contracts, summary.months_booked) == (1, 1)
    assert due_items(date(2026, 11, 16)) == [("hosting#2026-11", "Data-centre hosting November 2026 (pro rata 15/30 days)", "150.00")]
    assert (run(date(2026, 11, 16)).months_booked, run(date(2026, 11, 30)).contracts) == (0, 0)  # again, and not yet due
    december = run(date(2026, 12, 1))
    assert (december.contracts, december.months_booked) == (2, 2)
    assert due_items(date(2026, 12, 1)) == [
        ("hosting#2026-12", "Data-centre hosting December 2026", "300.00"),
        ("rental#2026-12", "Rental flat rate December 2026", "249.00"),
    ]


def test_missed_months_are_caught_up_each_once_and_an_ended_rental_leaves_the_index(contracts):
    run(date(2026, 11, 16))
    summary = run(date(2027, 2, 3))  # the runs of December, January and February did not happen
    assert (summary.contracts, summary.months_booked) == (2, 5)
    assert [ref for ref, _, _ in due_items(date(2027, 2, 3))] == [
        "hosting#2026-12", "hosting#2027-01", "hosting#2027-02", "rental#2026-12", "rental#2027-01",
    ]
    hosting, rental, _ = contracts
    stored = DynamoUnitOfWork().contracts
    assert (stored.get(hosting.id).flat_rate_booked_through, stored.get(rental.id).flat_rate_booked_through) == ("2027-02", "2027-01")
    assert [c.id for c in stored.list_flat_rates_due(date(2030, 1, 1), limit=10, cursor=None).items] == [hosting.id]  # rental ended


def test_reads_only_due_contracts_in_pages(contracts):
    run(date(2026, 11, 16))
    with count_requests() as count:
        run(date(2026, 12, 1))
    assert count.operations["Scan"] == 0
    # flat-rate index pages of 1: two due contracts and an empty last page; nothing else is read
    assert (count.operations["Query"], count.operations["GetItem"], count.operations["BatchGetItem"]) == (3, 0, 0)
    assert count.items_read == 2
    assert count.operations["TransactWriteItems"] == 2  # per month: the item and the advanced contract
    with count_requests() as quiet:
        run(date(2026, 12, 2))
    assert (quiet.requests, quiet.items_read) == (1, 0)  # a day without due months: one empty Query


@pytest.mark.parametrize("crash_after", [0, 1, 2])
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_one(contracts, crash_after):
    run(date(2026, 11, 16))
    with crash_after_commits(crash_after):
        run(date(2027, 1, 2))  # four months to book: December and January of each
    resumed = run(date(2027, 1, 2))
    assert resumed.months_booked == 4 - crash_after
    assert [ref for ref, _, _ in due_items(date(2027, 1, 2))] == ["hosting#2026-12", "hosting#2027-01", "rental#2026-12", "rental#2027-01"]


@pytest.mark.parametrize("operation", ["Query", "TransactWriteItems"])
def test_throttled_reads_and_bookings_are_retried_and_book_each_month_once(contracts, throttle, operation):
    run(date(2026, 11, 16))
    plan = throttle(operation, times=2)
    summary = run(date(2027, 1, 2))
    assert plan["refused"] == 2
    assert (summary.months_booked, summary.conflicts) == (4, 0)
    assert len(due_items(date(2027, 1, 2))) == 4


def test_a_month_booked_by_hand_already_only_advances_the_contract(contracts):
    from domain.contracts import flat_rate_item

    hosting, _, _ = contracts
    uow = DynamoUnitOfWork()
    with uow:
        uow.service_items.add(flat_rate_item(hosting, "2026-11"), bill_date=date(2026, 11, 16))
        uow.commit()
    summary = run(date(2026, 11, 16))
    assert (summary.months_booked, summary.existing) == (1, 1)  # Kanzlei's November booked, Direkt's found
    assert DynamoUnitOfWork().contracts.get(hosting.id).flat_rate_booked_through == "2026-11"


def test_the_billing_run_invoices_the_booked_months_separately_and_by_direct_debit_with_a_mandate(contracts, services, demo):
    run(date(2026, 12, 1))
    billing.run_billing(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 21), documents=services.documents,
                        mailer=services.mailer, renderer=services.invoice_renderer, sepa_creditor_id="DE98ZZZ09999999999")

    def invoices(key):
        page = DynamoUnitOfWork().invoices.list_for_payer(demo.customers[key].id, issued_from=None, issued_to=None, status=None, limit=10, cursor=None)
        return [(i.payment_method, [(line.description, str(line.net_amount.amount)) for line in i.lines], str(i.gross_total.amount)) for i in page.items]

    assert invoices("direkt") == [(PaymentMethod.SEPA_DIRECT_DEBIT, [
        ("Data-centre hosting November 2026 (pro rata 15/30 days)", "150.00"), ("Data-centre hosting December 2026", "300.00"),
    ], "535.50")]
    assert invoices("kanzlei") == [(PaymentMethod.TRANSFER, [
        ("Rental flat rate November 2026", "249.00"), ("Rental flat rate December 2026", "249.00"),
    ], "592.62")]


def test_the_entry_point_books_the_months_due_on_the_berlin_date_of_its_trigger(contracts, services, monkeypatch):
    import handler

    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: utc(2026, 11, 30, 23, 45))  # 00:45 in Berlin on 1 December
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-30T23:45:00Z", "detail": {}}
    assert handler.book_flat_rate_months(event, None) == {
        "run_date": "2026-12-01", "contracts": 2, "months_booked": 4, "existing": 0, "conflicts": 0, "failed": [],
    }



def test_a_month_a_rule_refuses_fails_alone_and_is_booked_once_when_the_rule_passes(contracts, services, monkeypatch):
    """On 2026-11-16 Kanzlei's rental November (due 11-01, first on the index) and Direkt's hosting November (due 11-16)
    are due. A rule refuses Kanzlei's (simulated: its item raises a domain error): Direkt's EUR 150.00 is booked,
    Kanzlei's contract is left as it was, reported and raised. Once the rule passes, its EUR 249.00 is booked, once."""
    import handler
    from domain import contracts as ct
    from domain.errors import ValidationFailed
    from domain.services.job_runs import ItemsFailed

    hosting, rental, _ = contracts
    real_item = refuse_one(monkeypatch, ct, "flat_rate_item", lambda contract, month: ValidationFailed(
        f"Contract {contract.id} has no billing address for {month}.", field="contractId") if contract.id == rental.id else None)
    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: utc(2026, 11, 16, 0, 45))
    before = DynamoUnitOfWork().contracts.get(rental.id)
    with pytest.raises(ItemsFailed) as raised:
        handler.book_flat_rate_months({"run_date": "2026-11-16"}, None)
    summary = raised.value.summary
    assert (summary["contracts"], summary["months_booked"], summary["failed"]) == (2, 1, [rental.id])
    assert rental.id in str(raised.value)
    assert due_items(date(2026, 11, 16)) == [("hosting#2026-11", "Data-centre hosting November 2026 (pro rata 15/30 days)", "150.00")]
    assert DynamoUnitOfWork().contracts.get(rental.id) == before

    monkeypatch.setattr(ct, "flat_rate_item", real_item)
    again = handler.book_flat_rate_months({"run_date": "2026-11-16"}, None)
    assert (again["contracts"], again["months_booked"], again["failed"]) == (1, 1, [])
    assert handler.book_flat_rate_months({"run_date": "2026-11-16"}, None)["months_booked"] == 0
    assert due_items(date(2026, 11, 16)) == [
        ("hosting#2026-11", "Data-centre hosting November 2026 (pro rata 15/30 days)", "150.00"),
        ("rental#2026-11", "Rental flat rate November 2026", "249.00"),
    ]
