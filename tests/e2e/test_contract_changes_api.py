"""Changing a contract after its creation through GraphQL, and what the daily jobs then do.

contractQuotaOverdraftSet grants or withdraws a prepaid quota's overdraft from now on; minutes debited before keep the
setting they were debited under, and overdraft used is corrected at the month's end at the rate in force when it was
used. contractEnd sets the last day: the quota job closes the last month on the 1st after it, the rental job stops
after the last month (billed pro rata when cut), maintenance schedules stop, managed services use is refused after it.

Demo data: Hanse (partner NordIT) with hanse_it; distributor staff "distributor". The clock starts at 2026-11-23 10:00
Berlin. Hanse's quota: 10 h a month for EUR 900.00 from 2026-12-01, hourly rate EUR 110.00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from domain.billing import SeparateInvoice
from domain.policy import Principal
from domain.services import contracts as contract_svc
from domain.services import tickets as ticket_svc
from domain.services.maintenance import create_due_maintenance_tickets
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import MemoryMailer
from infra.report_pdf import render_service_report
from tests.e2e.conftest import ok

CONTRACT = "{ id endsOn quota { overdraftAllowed overdraftHourlyRate { amount } } changes { kind overdraftAllowed overdraftHourlyRate { amount } endsOn previousEndsOn } }"
CREATE = "mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { id } errors { code message } } }"
OVERDRAFT = """mutation($i: ContractQuotaOverdraftSetInput!, $key: String) { contractQuotaOverdraftSet(input: $i, idempotencyKey: $key) {
  contract %s errors { code field message } } }""" % CONTRACT
END = """mutation($i: ContractEndInput!, $key: String) { contractEnd(input: $i, idempotencyKey: $key) {
  contract %s errors { code field message hint } } }""" % CONTRACT
RECORD = """mutation($i: ManagedServiceUsageRecordInput!) { managedServiceUsageRecord(input: $i) { recorded { month } errors { code field } } }"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def create(api, demo, **fields) -> str:
    variables = {"customerId": demo.customers["hanse"].id, "hourlyRate": {"amount": "110.00"}, **fields}
    return ok(api(CREATE, {"i": variables})["contractCreate"])["contract"]["id"]


@pytest.fixture
def quota(ops, demo) -> str:
    return create(ops, demo, kind="PREPAID_QUOTA", startsOn="2026-12-01", quota={"monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}})


def at(clock, *args: int) -> None:
    clock.now = utc(*args)


def overdraft(api, contract_id: str, allowed: bool, rate: str | None = None, key: str | None = None) -> dict:
    variables = {"contractId": contract_id, "allowed": allowed, **({"hourlyRate": {"amount": rate}} if rate else {})}
    return api(OVERDRAFT, {"i": variables, "key": key})["contractQuotaOverdraftSet"]


def end(api, contract_id: str, ends_on: str, key: str | None = None) -> dict:
    return api(END, {"i": {"contractId": contract_id, "endsOn": ends_on}, "key": key})["contractEnd"]


def quota_job(day: date):
    return contract_svc.book_quota_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 30))


def flat_rate_job(day: date):
    return contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 30))


def work(services, demo, *, hours: int, day: date) -> None:
    """A service report of ``hours`` billable hours made on ``day`` (15:00 UTC)."""
    staff = Principal.of(demo.users["distributor"])
    now = utc(day.year, day.month, day.day, 15)
    ticket = ticket_svc.open_hotline_ticket(services.uow(), staff, ticket_svc.NewHotlineTicket(demo.customers["hanse"].id, f"Arbeit {day}", "x", "Hannes IT"),
                                            now=now, mailer=services.mailer)
    ticket_svc.record_time(services.uow(), staff, ticket.id, ticket_svc.NewTimeEntry(day, hours * 60, True, "Wartung"), now=now)
    ticket_svc.create_service_report(services.uow(), staff, now=now, documents=services.documents, mailer=services.mailer,
                                     render=render_service_report, ticket_id=ticket.id)


def items_due(day: date) -> list[tuple[str, str, str | None]]:
    """The unbilled service items handed to billing on ``day``: (reference without the contract id, amount, separate invoice)."""
    items = DynamoUnitOfWork().service_items.list_due(day, limit=100, cursor=None).items
    return sorted((_kind(i.reference), str(i.unit_price.amount), i.separate_invoice.value if i.separate_invoice else None) for i in items)


def _kind(reference: str) -> str:
    parts = reference.split("#")
    return f"{parts[0]}#{parts[-1]}" if len(parts) > 1 else "report"


def correction_of(month: str, contract_id: str):
    """The correction of ``month``, handed to billing on the 1st of the next month."""
    booked_on = date.fromisoformat(f"{month}-01") + timedelta(days=31)
    items = DynamoUnitOfWork().service_items.list_due(booked_on.replace(day=1), limit=100, cursor=None).items
    return next(i for i in items if i.reference == f"quota-correction#{contract_id}#{month}")


def stored(contract_id: str):
    return DynamoUnitOfWork().contracts.get(contract_id)


# --- contractQuotaOverdraftSet -----------------------------------------------------------------


def test_overdraft_granted_on_10_december_puts_2_hours_of_a_12_hour_report_on_the_january_correction_invoice(ops, quota, services, demo, clock):
    quota_job(date(2026, 12, 1))
    at(clock, 2026, 12, 10, 9)
    changed = ok(overdraft(ops, quota, True, "95.00"))["contract"]
    assert changed["quota"] == {"overdraftAllowed": True, "overdraftHourlyRate": {"amount": "95.00"}}
    assert changed["changes"] == [{"kind": "QUOTA_OVERDRAFT", "overdraftAllowed": True, "overdraftHourlyRate": {"amount": "95.00"},
                                   "endsOn": None, "previousEndsOn": None}]
    change = stored(quota).changes[0]
    assert (change.by, change.at) == (demo.users["distributor"].id, utc(2026, 12, 10, 9))

    work(services, demo, hours=12, day=date(2026, 12, 15))
    assert items_due(date(2026, 12, 1)) == [("quota#2026-12", "900.00", None)]
    assert items_due(date(2026, 12, 15)) == []  # all 12 h from the quota: nothing at the hourly rate

    summary = quota_job(date(2027, 1, 1))
    assert (summary.credits, summary.corrections) == (1, 1)
    correction = correction_of("2026-12", quota)
    assert (correction.unit_price.amount, correction.separate_invoice) == (190, SeparateInvoice.QUOTA_CORRECTION)
    assert correction.description == "Quota correction: Overdraft December 2026: 2:00 h at EUR 95.00 per hour"
    assert ("quota-correction#2026-12", "190.00", "QUOTA_CORRECTION") in items_due(date(2027, 1, 1))


def test_a_grant_does_not_turn_hours_billed_before_it_into_overdraft(ops, quota, services, demo, clock):
    quota_job(date(2026, 12, 1))
    work(services, demo, hours=11, day=date(2026, 12, 5))  # 10 h from the quota, 1 h at EUR 110.00 right away
    at(clock, 2026, 12, 10, 9)
    ok(overdraft(ops, quota, True, "95.00"))
    work(services, demo, hours=2, day=date(2026, 12, 15))  # 2 h overdraft

    assert items_due(date(2026, 12, 5)) == [("report", "110.00", None)]
    assert items_due(date(2026, 12, 15)) == []
    quota_job(date(2027, 1, 1))
    assert correction_of("2026-12", quota).unit_price.amount == 190  # 2 h at 95, not 3 h


def test_a_withdrawal_keeps_the_overdraft_used_before_and_bills_later_work_at_the_hourly_rate(ops, demo, services, clock):
    contract = create(ops, demo, kind="PREPAID_QUOTA", startsOn="2026-12-01", quota={
        "monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}, "overdraftAllowed": True, "overdraftHourlyRate": {"amount": "95.00"}})
    quota_job(date(2026, 12, 1))
    work(services, demo, hours=12, day=date(2026, 12, 5))  # 2 h overdraft at 95
    at(clock, 2026, 12, 10, 9)
    withdrawn = ok(overdraft(ops, contract, False))["contract"]
    assert withdrawn["quota"]["overdraftAllowed"] is False
    assert withdrawn["changes"][0]["overdraftAllowed"] is False and withdrawn["changes"][0]["overdraftHourlyRate"] is None
    work(services, demo, hours=1, day=date(2026, 12, 15))  # the balance is below zero: billed at 110 right away

    assert items_due(date(2026, 12, 15)) == [("report", "110.00", None)]
    quota_job(date(2027, 1, 1))
    assert correction_of("2026-12", contract).unit_price.amount == 190


def test_a_new_rate_applies_to_overdraft_used_from_then_on(ops, demo, services, clock):
    contract = create(ops, demo, kind="PREPAID_QUOTA", startsOn="2026-12-01", quota={
        "monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}, "overdraftAllowed": True, "overdraftHourlyRate": {"amount": "95.00"}})
    quota_job(date(2026, 12, 1))
    work(services, demo, hours=12, day=date(2026, 12, 5))
    at(clock, 2026, 12, 10, 9)
    ok(overdraft(ops, contract, True, "120.00"))
    work(services, demo, hours=1, day=date(2026, 12, 15))

    quota_job(date(2027, 1, 1))
    correction = correction_of("2026-12", contract)
    assert correction.unit_price.amount == 310  # 2 h × 95 + 1 h × 120
    assert correction.description.endswith("(2:00 h at EUR 95.00 per hour, 1:00 h at EUR 120.00 per hour)")


def test_overdraft_refusals_write_nothing(ops, quota, demo, as_user, clock):
    rental = create(ops, demo, kind="RENTAL_FLAT_RATE", startsOn="2026-12-01", monthlyFlatRate={"amount": "300.00"})
    before = stored(quota)
    refusals = [
        (ops, rental, True, None, ("INVALID_INPUT", "contractId")),
        (ops, quota, True, "0.00", ("INVALID_INPUT", "hourlyRate")),
        (ops, quota, True, "-95.00", ("INVALID_INPUT", "hourlyRate")),
        (ops, quota, False, "95.00", ("INVALID_INPUT", "hourlyRate")),
        (ops, quota, False, None, ("CONFLICT", "allowed")),  # not allowed already
        (ops, "ctr_unknown", True, None, ("NOT_FOUND", "contractId")),
        (as_user("nordit_admin"), quota, True, None, ("FORBIDDEN", None)),
        (as_user("hanse_it"), quota, True, None, ("FORBIDDEN", None)),
    ]
    for api, contract_id, allowed, rate, expected in refusals:
        answer = overdraft(api, contract_id, allowed, rate)
        assert answer["contract"] is None
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [expected], (contract_id, allowed, rate)
    assert stored(quota) == before
    ok(overdraft(ops, quota, True))  # the hourly rate
    assert overdraft(ops, quota, True, "110.00")["errors"][0]["code"] == "CONFLICT"  # the same setting


def test_an_overdraft_setting_retried_with_its_key_is_set_once(ops, quota):
    first = ok(overdraft(ops, quota, True, "95.00", key="od-1"))
    again = ok(overdraft(ops, quota, True, "95.00", key="od-1"))
    assert again["contract"] == first["contract"] and len(stored(quota).changes) == 1
    assert overdraft(ops, quota, False, key="od-1")["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


# --- contractEnd -------------------------------------------------------------------------------


def test_a_quota_ended_on_31_march_is_closed_on_1_april_and_nothing_is_booked_for_april(ops, demo, services, clock):
    contract = create(ops, demo, kind="PREPAID_QUOTA", startsOn="2026-12-01", quota={
        "monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}, "overdraftAllowed": True, "overdraftHourlyRate": {"amount": "95.00"}})
    schedule = contract_svc.add_maintenance_schedule(services.uow(), Principal.of(demo.users["distributor"]), contract, subject="Patchday",
                                                     every_months=1, anchor=date(2026, 12, 1), now=clock.now)
    for day in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        quota_job(day)
        work(services, demo, hours=10, day=day + timedelta(days=4))  # the month's 10 h: nothing rolls over
    at(clock, 2027, 2, 10, 9)
    ended = ok(end(ops, contract, "2027-03-31"))["contract"]
    assert ended["endsOn"] == "2027-03-31"
    assert ended["changes"] == [{"kind": "END", "overdraftAllowed": None, "overdraftHourlyRate": None, "endsOn": "2027-03-31", "previousEndsOn": None}]
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).ends_on == date(2027, 3, 31)

    assert quota_job(date(2027, 3, 1)).credits == 1
    work(services, demo, hours=11, day=date(2027, 3, 15))  # 1 h overdraft, corrected when March is closed
    summary = quota_job(date(2027, 4, 1))
    assert (summary.contracts, summary.credits, summary.corrections) == (1, 0, 1)
    assert items_due(date(2027, 4, 1)) == [("quota-correction#2027-03", "95.00", "QUOTA_CORRECTION")]
    assert stored(contract).next_quota_month is None
    assert quota_job(date(2027, 5, 1)).contracts == 0

    tickets = create_due_maintenance_tickets(DynamoUnitOfWork, run_date=date(2027, 4, 30), now=utc(2027, 4, 30, 2), mailer=MemoryMailer())
    assert tickets.created == 4  # December to March; none for 1 April
    assert DynamoUnitOfWork().maintenance_schedules.list_due(date(2100, 1, 1), limit=100, cursor=None).items == []


def test_end_refusals_write_nothing(ops, quota, demo, as_user, clock):
    for day in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)):
        quota_job(day)
    at(clock, 2027, 3, 10, 9)
    before = stored(quota)
    refusals = [
        (ops, "2026-11-30", ("INVALID_INPUT", "endsOn")),  # before the start
        (ops, "2027-03-09", ("INVALID_INPUT", "endsOn")),  # yesterday
        (ops, "2027-03-20", ("CONFLICT", "endsOn")),  # March is booked (credited and invoiced in full)
        (as_user("nordit_admin"), "2027-03-31", ("FORBIDDEN", None)),
        (as_user("hanse_it"), "2027-03-31", ("FORBIDDEN", None)),
    ]
    for api, ends_on, expected in refusals:
        answer = end(api, quota, ends_on)
        assert answer["contract"] is None
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [expected], ends_on
    assert "2027-03-31 at the earliest" in end(ops, quota, "2027-03-20")["errors"][0]["message"]
    assert end(ops, "ctr_unknown", "2027-03-31")["errors"][0]["code"] == "NOT_FOUND"
    assert stored(quota) == before

    ok(end(ops, quota, "2027-03-31"))
    assert end(ops, quota, "2027-03-31")["errors"][0]["code"] == "CONFLICT"  # the same end
    at(clock, 2027, 4, 5, 9)
    assert [(e["code"], e["field"]) for e in end(ops, quota, "2027-06-30")["errors"]] == [("CONFLICT", "contractId")]  # ended


def test_an_end_moved_later_moves_the_schedules_with_it_and_a_retry_with_its_key_ends_once(ops, quota, services, demo, clock):
    schedule = contract_svc.add_maintenance_schedule(services.uow(), Principal.of(demo.users["distributor"]), quota, subject="Patchday",
                                                     every_months=3, anchor=date(2026, 12, 1), now=clock.now)
    ok(end(ops, quota, "2027-03-31", key="end-1"))
    assert ok(end(ops, quota, "2027-03-31", key="end-1"))["contract"]["endsOn"] == "2027-03-31"
    assert end(ops, quota, "2027-06-30", key="end-1")["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    moved = ok(end(ops, quota, "2027-06-30"))["contract"]
    assert [(c["endsOn"], c["previousEndsOn"]) for c in moved["changes"]] == [("2027-03-31", None), ("2027-06-30", "2027-03-31")]
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).ends_on == date(2027, 6, 30)


def test_a_rental_ended_on_15_march_bills_march_pro_rata_and_nothing_after(ops, demo, clock):
    rental = create(ops, demo, kind="RENTAL_FLAT_RATE", startsOn="2026-11-16", monthlyFlatRate={"amount": "300.00"})
    for day in (date(2026, 11, 23), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        flat_rate_job(day)
    at(clock, 2027, 2, 10, 9)
    ok(end(ops, rental, "2027-03-15"))

    assert flat_rate_job(date(2027, 3, 1)).months_booked == 1
    assert [i for i in items_due(date(2027, 3, 1)) if i[0] == "rental#2027-03"] == [("rental#2027-03", "145.16", "RENTAL_AND_HOSTING")]  # 15/31 of 300
    assert flat_rate_job(date(2027, 4, 1)).contracts == 0
    at(clock, 2027, 3, 5, 9)
    refused = end(ops, rental, "2027-03-31")["errors"]
    assert [(e["code"], e["field"]) for e in refused] == [("CONFLICT", "endsOn")] and "pro rata" in refused[0]["message"]


def test_managed_services_use_after_the_end_is_refused(ops, demo, clock):
    managed = create(ops, demo, kind="MANAGED_SERVICES", startsOn="2026-09-01", managedServices=[
        {"code": "monitoring", "name": "Monitoring", "unit": "device", "unitPrice": {"amount": "4.50"}}])
    ok(end(ops, managed, "2026-11-30"))
    at(clock, 2027, 1, 2, 9)
    usage = [{"code": "monitoring", "quantity": "12"}]
    assert ok(ops(RECORD, {"i": {"contractId": managed, "month": "2026-11", "usage": usage}})["managedServiceUsageRecord"])["recorded"] == {"month": "2026-11"}
    refused = ops(RECORD, {"i": {"contractId": managed, "month": "2026-12", "usage": usage}})["managedServiceUsageRecord"]
    assert refused["errors"] == [{"code": "INVALID_INPUT", "field": "month"}]
