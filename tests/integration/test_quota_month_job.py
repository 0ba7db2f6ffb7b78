"""The month-start job over three months of a prepaid quota with an overdraft (hours and euros).

Hanse buys 10 h a month for EUR 900.00, overdraft allowed at the hourly rate of EUR 95.00.
January 7:00 used -> 3:00 roll over; February 15:00 used against 13:00 -> overdrawn by 2:00,
corrected on 1 March for EUR 190.00; March 5:00 used -> 5:00 roll over into April.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import contracts as contract_svc
from domain.services import tickets as ticket_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.report_pdf import render_service_report
from tests.crash import refuse_one


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def quota(services, demo):
    ops = Principal.of(demo.users["distributor"])
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["hanse"].id, ContractKind.PREPAID_QUOTA, date(2026, 1, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True)),
        now=utc(2025, 12, 20, 9),
    )
    return ops, contract


def month_start(day: date):
    return contract_svc.book_quota_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 30), page_limit=1)


def work(services, demo, ops, *, minutes: int, day: date, customer: str = "hanse"):
    now = utc(day.year, day.month, day.day, 15)
    ticket = ticket_svc.open_hotline_ticket(
        services.uow(), ops, ticket_svc.NewHotlineTicket(demo.customers[customer].id, f"Arbeit {day}", "x", "Hannes IT"), now=now, mailer=services.mailer
    )
    ticket_svc.record_time(services.uow(), ops, ticket.id, ticket_svc.NewTimeEntry(day, minutes, True, "Wartung"), now=now)
    ticket_svc.create_service_report(services.uow(), ops, now=now, documents=services.documents, mailer=services.mailer,
                                     render=render_service_report, ticket_id=ticket.id)


def unbilled(day: date) -> list[tuple[str, str]]:
    items = DynamoUnitOfWork().service_items.list_due(day, limit=10, cursor=None).items
    return sorted((i.reference.split("#")[0] + "#" + i.reference.split("#")[-1], str(i.unit_price.amount)) for i in items)


def test_three_months_with_rollover_and_an_overdraft_corrected_at_month_end(services, demo, quota):
    ops, contract = quota
    assert (month_start(date(2026, 1, 1)).credits, month_start(date(2026, 1, 1)).credits) == (1, 0)  # twice: once
    work(services, demo, ops, minutes=420, day=date(2026, 1, 20))
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == 180

    assert month_start(date(2026, 2, 1)).corrections == 0
    work(services, demo, ops, minutes=900, day=date(2026, 2, 25))
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == -120

    summary = month_start(date(2026, 3, 1))
    assert (summary.contracts, summary.credits, summary.corrections) == (1, 1, 1)
    again = month_start(date(2026, 3, 1))
    assert (again.credits, again.corrections) == (0, 0)
    work(services, demo, ops, minutes=300, day=date(2026, 3, 10))

    ledger = contract_svc.quota_ledger(DynamoUnitOfWork(), contract)
    assert ledger.balance_minutes == 300 == sum(e.minutes for e in ledger.entries)
    assert [(e.month, e.kind.value, e.minutes) for e in sorted(ledger.entries, key=lambda e: (e.at, e.key))] == [
        ("2026-01", "MONTHLY_CREDIT", 600), ("2026-01", "USAGE", -420),
        ("2026-02", "MONTHLY_CREDIT", 600), ("2026-02", "USAGE", -900),
        ("2026-02", "OVERDRAFT_CORRECTION", 120), ("2026-03", "MONTHLY_CREDIT", 600),
        ("2026-03", "USAGE", -300),
    ]
    # billing gets the fixed monthly price and one correction; the quota covered every report
    assert unbilled(date(2026, 1, 1)) == [("quota#2026-01", "900.00")]
    assert unbilled(date(2026, 2, 1)) == [("quota#2026-02", "900.00")]
    assert unbilled(date(2026, 3, 1)) == [("quota#2026-03", "900.00"), ("quota-correction#2026-02", "190.00")]
    assert unbilled(date(2026, 2, 25)) == [] and unbilled(date(2026, 3, 10)) == []


def test_the_month_job_entry_point_books_the_month_of_its_run_date(services, demo, quota, monkeypatch):
    import handler

    month_start(date(2026, 1, 1))  # January, by its own run: a missed one would be caught up now
    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: utc(2026, 2, 1, 0, 30))
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-02-01T00:30:00Z", "detail": {}}
    assert handler.book_quota_months(event, None) == {
        "month": "2026-02", "contracts": 1, "credits": 1, "corrections": 0, "conflicts": 0, "failed": [],
    }


def bill(services, day: date):
    return billing.run_billing(
        DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 21), documents=services.documents, mailer=services.mailer,
        renderer=services.invoice_renderer, prefix="PH",
    )


def test_an_overdraft_is_corrected_by_an_invoice_of_its_own_and_the_fixed_monthly_invoice_stays_as_it_is(services, demo):
    """Direktkunde Müller buys 10 h a month for EUR 900.00, overdraft allowed (at its hourly rate of EUR 95.00), from
    January 2027 and uses 12 h in January: on 1 February it gets February's fixed invoice of 900.00 and a correction
    invoice of 2 h at 95.00 = 190.00 (226.10 gross), two documents with two numbers."""
    ops = Principal.of(demo.users["distributor"])
    direkt = demo.customers["direkt"].id
    contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(direkt, ContractKind.PREPAID_QUOTA, date(2027, 1, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True)),
        now=utc(2026, 12, 20, 9),
    )
    month_start(date(2027, 1, 1))
    bill(services, date(2027, 1, 1))
    work(services, demo, ops, minutes=720, day=date(2027, 1, 20), customer="direkt")
    bill(services, date(2027, 1, 20))  # the quota covers the report: nothing to invoice
    month_start(date(2027, 2, 1))
    summary = bill(services, date(2027, 2, 1))

    page = DynamoUnitOfWork().invoices.list_for_payer(direkt, issued_from=None, issued_to=None, status=None, limit=100, cursor=None)
    invoices = sorted(page.items, key=lambda i: i.number)
    assert [(i.issue_date, [(line.description, line.net_amount.amount) for line in i.lines]) for i in invoices] == [
        (date(2027, 1, 1), [("Prepaid quota 10:00 h January 2027", Decimal("900.00"))]),
        (date(2027, 2, 1), [("Prepaid quota 10:00 h February 2027", Decimal("900.00"))]),
        (date(2027, 2, 1), [("Quota correction: Overdraft January 2027: 2:00 h at EUR 95.00 per hour", Decimal("190.00"))]),
    ]
    assert [i.gross_total for i in invoices] == [Money.of("1071.00"), Money.of("1071.00"), Money.of("226.10")]
    assert summary.invoices_issued == 2 and summary.service_items_billed == 2
    assert len({i.number for i in invoices}) == 3


# --- a daily job: a missed month start is caught up, only due contracts are read, a crashed run resumes -------------


def deployed_runs(first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last`` on which the job's EventBridge schedule in serverless.yml fires."""
    from tests.integration.test_deployment import load_serverless_config

    (event,) = load_serverless_config()["functions"]["bookQuotaMonths"]["events"]
    _, _, day_of_month, month, day_of_week, year = event["schedule"]["rate"].removeprefix("cron(").removesuffix(")").split()
    assert (month, day_of_week, year) == ("*", "?", "*"), "a schedule this helper does not read"
    days = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    return [day for day in days if day_of_month == "*" or day.day == int(day_of_month)]


def february_overdrawn(services, demo, ops) -> None:
    """January and February booked by their runs; 7:00 used in January (3:00 roll over), 15:00 in February: -2:00."""
    month_start(date(2026, 1, 1))
    work(services, demo, ops, minutes=420, day=date(2026, 1, 20))
    month_start(date(2026, 2, 1))
    work(services, demo, ops, minutes=900, day=date(2026, 2, 25))


def test_a_month_start_missed_is_booked_by_the_next_daily_run_once(services, demo, quota):
    """The run of 2026-03-01 fails (outage until 03-02): the scheduled run of 03-03 credits March's 10:00 h and
    invoices February's overdraft of 2:00 h (EUR 190.00) and March's EUR 900.00, billed that day; 03-04 books nothing."""
    ops, contract = quota
    february_overdrawn(services, demo, ops)
    runs = {day: month_start(day) for day in deployed_runs(date(2026, 3, 3), date(2026, 3, 4))}
    assert list(runs) == [date(2026, 3, 3), date(2026, 3, 4)]
    assert (runs[date(2026, 3, 3)].credits, runs[date(2026, 3, 3)].corrections) == (1, 1)
    assert (runs[date(2026, 3, 4)].contracts, runs[date(2026, 3, 4)].credits, runs[date(2026, 3, 4)].corrections) == (0, 0, 0)
    assert unbilled(date(2026, 3, 3)) == [("quota#2026-03", "900.00"), ("quota-correction#2026-02", "190.00")]
    assert unbilled(date(2026, 3, 1)) == [] and unbilled(date(2026, 3, 4)) == []
    ledger = contract_svc.quota_ledger(DynamoUnitOfWork(), contract)
    assert [(e.month, e.kind.value, e.minutes) for e in ledger.entries if e.month >= "2026-02" and e.kind.value != "USAGE"] == [
        ("2026-02", "MONTHLY_CREDIT", 600), ("2026-02", "OVERDRAFT_CORRECTION", 120), ("2026-03", "MONTHLY_CREDIT", 600),
    ]
    assert ledger.balance_minutes == 600
    assert DynamoUnitOfWork().contracts.get(contract.id).quota_booked_through == "2026-03"


def test_months_missed_in_a_row_are_booked_each_once_oldest_first(services, demo, quota):
    """No run from 2026-02-01 to 03-02: the run of 03-03 books February (3:00 rolled over + 10:00, no overdraft) and
    March, each month's fixed invoice once."""
    ops, contract = quota
    month_start(date(2026, 1, 1))
    work(services, demo, ops, minutes=420, day=date(2026, 1, 20))
    summary = month_start(date(2026, 3, 3))
    assert (summary.contracts, summary.credits, summary.corrections) == (1, 2, 0)
    assert unbilled(date(2026, 3, 3)) == [("quota#2026-02", "900.00"), ("quota#2026-03", "900.00")]
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == 180 + 600 + 600
    assert (month_start(date(2026, 3, 3)).credits, month_start(date(2026, 3, 31)).contracts) == (0, 0)


def test_reads_only_contracts_with_a_month_due_and_their_ledgers(services, demo, quota):
    from tests.request_counter import count_requests

    ops, _ = quota
    february_overdrawn(services, demo, ops)
    contract_svc.create_contract(  # Direkt's quota starts in April: not due, never read
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["direkt"].id, ContractKind.PREPAID_QUOTA, date(2026, 4, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(300, Money.of("450.00"))),
        now=utc(2026, 2, 20, 9),
    )
    with count_requests() as count:
        summary = month_start(date(2026, 3, 3))
    assert (summary.contracts, summary.credits) == (1, 1)
    assert (count.operations["Scan"], count.operations["GetItem"], count.operations["BatchGetItem"]) == (0, 0, 0)
    # the quota index in pages of 1 (Hanse's contract, an empty last page) and Hanse's ledger (two credits, two debits)
    assert (count.operations["Query"], count.items_read) == (3, 1 + 4)
    assert count.operations["TransactWriteItems"] == 1  # the month: its entries, items and the advanced contract
    with count_requests() as quiet:
        month_start(date(2026, 3, 4))
    assert (quiet.requests, quiet.items_read) == (1, 0)  # a day without due months: one empty Query


@pytest.fixture
def three_quotas(services, demo, quota):
    """Hanse (the fixture: February overdrawn by 2:00), Direkt and Kanzlei (5 h for EUR 450.00 each, untouched), all from
    2026-01-01 and booked through February; the run of 2026-03-01 missed."""
    ops, hanse = quota
    others = [
        contract_svc.create_contract(
            services.uow(), ops,
            contract_svc.NewContract(demo.customers[key].id, ContractKind.PREPAID_QUOTA, date(2026, 1, 1), Rates(Money.of("95.00")),
                                     quota=QuotaTerms(300, Money.of("450.00"))),
            now=utc(2025, 12, 20, 9),
        )
        for key in ("direkt", "kanzlei")
    ]
    february_overdrawn(services, demo, ops)
    return [hanse, *others]


def quota_state(contracts) -> tuple:
    uow = DynamoUnitOfWork()
    ledgers = {c.id: sorted((e.key, e.minutes) for e in uow.quota_ledger.entries(c.id) if e.kind.value != "USAGE") for c in contracts}
    return ledgers, {c.id: uow.contracts.get(c.id).quota_booked_through for c in contracts}, unbilled(date(2026, 3, 3))


@pytest.mark.parametrize("crash_after", [0, 1, 2])
def test_a_run_crashed_after_k_of_n_contracts_resumed_reaches_the_state_of_an_uninterrupted_one(three_quotas, crash_after):
    from tests.crash import crash_after_commit

    with crash_after_commit(crash_after):  # the (k+1)-th contract's month is written, then the Lambda dies
        month_start(date(2026, 3, 3))
    resumed = month_start(date(2026, 3, 3))
    assert (resumed.contracts, resumed.credits, resumed.conflicts) == (3 - crash_after - 1, 3 - crash_after - 1, 0)
    assert month_start(date(2026, 3, 4)).contracts == 0
    ids = sorted(c.id for c in three_quotas)
    expected_ledgers = {c.id: sorted([(f"2026-01#CREDIT", c.quota.monthly_minutes), (f"2026-02#CREDIT", c.quota.monthly_minutes),
                                      (f"2026-03#CREDIT", c.quota.monthly_minutes)]
                                     + ([("2026-02#CORRECTION", 120)] if c.id == three_quotas[0].id else []))
                        for c in three_quotas}
    assert quota_state(three_quotas) == (
        expected_ledgers, dict.fromkeys(ids, "2026-03"),
        sorted([("quota#2026-03", "900.00"), ("quota#2026-03", "450.00"), ("quota#2026-03", "450.00"), ("quota-correction#2026-02", "190.00")]),
    )



def test_a_month_a_rule_refuses_fails_alone_and_is_booked_once_when_the_rule_passes(services, three_quotas, monkeypatch):
    """The run of 2026-03-03 books March for Hanse (EUR 900.00, February's overdraft corrected: EUR 190.00), Direkt and
    Kanzlei (EUR 450.00 each). A rule refuses Direkt's March (simulated: its monthly item raises a domain error): the
    others are booked; Direkt's contract and ledger are left as they were, reported and raised. Once the rule passes,
    the next run books Direkt's March, once."""
    import handler
    from domain import contracts as ct
    from domain.errors import ValidationFailed
    from domain.services.job_runs import ItemsFailed

    hanse, direkt, kanzlei = three_quotas
    real_item = refuse_one(monkeypatch, ct, "quota_month_item", lambda contract, month: ValidationFailed(
        f"Contract {contract.id} has no price for {month}.", field="contractId") if contract.id == direkt.id else None)
    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: utc(2026, 3, 3, 0, 30))
    with pytest.raises(ItemsFailed) as raised:
        handler.book_quota_months({"run_date": "2026-03-03"}, None)
    summary = raised.value.summary
    assert (summary["contracts"], summary["credits"], summary["corrections"], summary["failed"]) == (3, 2, 1, [direkt.id])
    assert direkt.id in str(raised.value)
    ledgers, booked_through, items = quota_state(three_quotas)
    assert ledgers[direkt.id] == [("2026-01#CREDIT", 300), ("2026-02#CREDIT", 300)]
    assert booked_through == {hanse.id: "2026-03", direkt.id: "2026-02", kanzlei.id: "2026-03"}
    assert items == [("quota#2026-03", "450.00"), ("quota#2026-03", "900.00"), ("quota-correction#2026-02", "190.00")]

    monkeypatch.setattr(ct, "quota_month_item", real_item)
    again = handler.book_quota_months({"run_date": "2026-03-03"}, None)
    assert (again["contracts"], again["credits"], again["corrections"], again["failed"]) == (1, 1, 0, [])
    assert handler.book_quota_months({"run_date": "2026-03-03"}, None)["contracts"] == 0
    ledgers, booked_through, items = quota_state(three_quotas)
    assert ledgers[direkt.id] == [("2026-01#CREDIT", 300), ("2026-02#CREDIT", 300), ("2026-03#CREDIT", 300)]
    assert set(booked_through.values()) == {"2026-03"}
    assert items == [("quota#2026-03", "450.00"), ("quota#2026-03", "450.00"), ("quota#2026-03", "900.00"), ("quota-correction#2026-02", "190.00")]

def test_a_month_booked_by_hand_already_only_advances_the_contract(services, demo, quota):
    ops, contract = quota
    month_start(date(2026, 1, 1))
    contract_svc.book_quota_month(services.uow(), ops, contract.id, month="2026-02", now=utc(2026, 2, 1, 8))  # before the run
    summary = month_start(date(2026, 2, 2))
    assert (summary.contracts, summary.credits, summary.corrections, summary.conflicts) == (1, 0, 0, 0)
    assert DynamoUnitOfWork().contracts.get(contract.id).quota_booked_through == "2026-02"
    assert unbilled(date(2026, 2, 1)) == [("quota#2026-02", "900.00")] and unbilled(date(2026, 2, 2)) == []


def test_an_ended_quota_is_closed_the_month_after_its_last_and_leaves_the_index(services, demo):
    """Direkt's 5 h from 2026-01-01 to 2026-02-28 without overdraft: January and February credited; the run of
    2026-03-01 closes February (nothing to correct) and credits nothing; later runs read nothing."""
    ops = Principal.of(demo.users["distributor"])
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["direkt"].id, ContractKind.PREPAID_QUOTA, date(2026, 1, 1), Rates(Money.of("95.00")),
                                 ends_on=date(2026, 2, 28), quota=QuotaTerms(300, Money.of("450.00"))),
        now=utc(2025, 12, 20, 9),
    )
    assert month_start(date(2026, 3, 1)).credits == 2  # January and February, caught up
    assert DynamoUnitOfWork().contracts.get(contract.id).quota_booked_through == "2026-03"
    assert DynamoUnitOfWork().contracts.list_quota_months_due(date(2030, 1, 1), limit=10, cursor=None).items == []


def test_quota_contracts_saved_before_the_daily_job_are_put_on_its_index_booked_through_their_last_credit(services, demo, quota):
    """Hanse's quota, booked for January and February by the monthly job of old (no quota month on the index): after
    indexing on 2026-02-10 the daily job books March on 2026-03-01 and nothing before it."""
    from infra.dynamo.models import ContractModel

    ops, contract = quota
    for month, booked_on in (("2026-01", utc(2026, 1, 1, 0, 30)), ("2026-02", utc(2026, 2, 1, 0, 30))):
        contract_svc.book_quota_month(services.uow(), ops, contract.id, month=month, now=booked_on)
    stored = ContractModel.get(contract.id)
    stored.quota_shard = stored.quota_due_key = None  # as saved before the index existed
    stored.save()
    assert month_start(date(2026, 3, 1)).contracts == 0  # not on the index: never booked again

    summary = contract_svc.index_quota_contracts(DynamoUnitOfWork, today=date(2026, 2, 10))
    assert (summary.read, summary.indexed, summary.conflicts) == (1, 1, 0)
    assert DynamoUnitOfWork().contracts.get(contract.id).quota_booked_through == "2026-02"
    assert month_start(date(2026, 2, 28)).contracts == 0
    march = month_start(date(2026, 3, 1))
    assert (march.contracts, march.credits) == (1, 1)
    assert unbilled(date(2026, 3, 1)) == [("quota#2026-03", "900.00")]
