"""Corrections an office manager or technician makes through GraphQL: a time entry before it is reported, a
maintenance schedule, an asset. Each is refused with a typed error, changing nothing, where the rules say no.

Demo data: Hanse with hanse_it (EXTENDED); distributor staff "distributor" (Olga Ops). The clock stands at 2026-11-23.
"""

from __future__ import annotations

import pytest
from tests.e2e.conftest import ok

TIME_ADD = """mutation($id: ID!, $input: TimeEntryInput!) { ticketTimeEntryAdd(ticketId: $id, input: $input) {
  timeEntry { id minutes } errors { code field } } }"""
TIME_UPDATE = """mutation($id: ID!, $e: ID!, $input: TimeEntryInput!) { ticketTimeEntryUpdate(ticketId: $id, timeEntryId: $e, input: $input) {
  ticket { timeEntries { id minutes billable reason workDate technicianId } history { kind details { key value } } }
  timeEntry { id minutes billable reason workDate technicianId } errors { code field message hint } } }"""
TIME_DELETE = """mutation($id: ID!, $e: ID!) { ticketTimeEntryDelete(ticketId: $id, timeEntryId: $e) {
  ticket { timeEntries { id minutes } history { kind details { key value } } } timeEntry { id minutes } errors { code field message hint } } }"""
REPORT = """mutation($id: ID!) { serviceReportCreate(ticketId: $id) { serviceReport { id billableMinutes lines { timeEntryId minutes } }
  errors { code message } } }"""
TICKET = """query($id: ID!) { ticket(id: $id) { timeEntries { id minutes billable reason workDate } history { kind } } }"""


@pytest.fixture
def ticket(ops, demo, services) -> str:
    """A hotline ticket of Hanse."""
    query = """mutation($i: TicketHotlineCreateInput!) { ticketHotlineCreate(input: $i) { ticket { id } errors { code } } }"""
    created = ok(ops(query, {"i": {"customerId": demo.customers["hanse"].id, "subject": "VPN", "description": "x", "callerName": "Hannes"}})
                 ["ticketHotlineCreate"])
    services.mailer.sent.clear()
    return created["ticket"]["id"]


def record(ops, ticket: str, minutes: int, work_date: str = "2026-11-20") -> str:
    entry = {"workDate": work_date, "minutes": minutes, "billable": True, "description": "VPN-Profil neu ausgerollt"}
    return ok(ops(TIME_ADD, {"id": ticket, "input": entry})["ticketTimeEntryAdd"])["timeEntry"]["id"]


# --- time entries -----------------------------------------------------------------------------------------------------


def test_a_typo_in_the_minutes_is_corrected_before_the_report_and_the_report_bills_the_corrected_minutes(ops, ticket, demo):
    typo = record(ops, ticket, 450)  # 7:30 h typed for 45 minutes
    corrected = ok(ops(TIME_UPDATE, {"id": ticket, "e": typo, "input": {
        "workDate": "2026-11-20", "minutes": 45, "billable": True, "description": "VPN-Profil neu ausgerollt"}})["ticketTimeEntryUpdate"])
    assert corrected["timeEntry"] == {"id": typo, "minutes": 45, "billable": True, "reason": None, "workDate": "2026-11-20",
                                      "technicianId": demo.users["distributor"].id}
    (event,) = [e for e in corrected["ticket"]["history"] if e["kind"] == "TIME_CORRECTED"]
    details = {d["key"]: d["value"] for d in event["details"]}
    assert (details["entry_id"], details["minutes"], details["previous_minutes"]) == (typo, "45", "450")
    report = ok(ops(REPORT, {"id": ticket})["serviceReportCreate"])["serviceReport"]
    assert (report["billableMinutes"], report["lines"]) == (45, [{"timeEntryId": typo, "minutes": 45}])


def test_an_entry_recorded_twice_is_deleted_before_the_report(ops, ticket):
    kept, twice = record(ops, ticket, 45), record(ops, ticket, 45)
    deleted = ok(ops(TIME_DELETE, {"id": ticket, "e": twice})["ticketTimeEntryDelete"])
    assert deleted["timeEntry"] == {"id": twice, "minutes": 45}
    assert [e["id"] for e in deleted["ticket"]["timeEntries"]] == [kept]
    assert "TIME_DELETED" in {e["kind"] for e in deleted["ticket"]["history"]}
    assert ok(ops(REPORT, {"id": ticket})["serviceReportCreate"])["serviceReport"]["billableMinutes"] == 45


def test_a_reported_entry_is_neither_corrected_nor_deleted(ops, ticket):
    entry = record(ops, ticket, 45)
    report = ok(ops(REPORT, {"id": ticket})["serviceReportCreate"])["serviceReport"]["id"]
    before = ops(TICKET, {"id": ticket})
    change = {"workDate": "2026-11-20", "minutes": 30, "billable": True, "description": "x"}
    for refused in (ops(TIME_UPDATE, {"id": ticket, "e": entry, "input": change})["ticketTimeEntryUpdate"],
                    ops(TIME_DELETE, {"id": ticket, "e": entry})["ticketTimeEntryDelete"]):
        (error,) = refused["errors"]
        assert (error["code"], error["field"]) == ("CONFLICT", "timeEntryId")
        assert error["message"] == f"The time entry {entry} is on service report {report}: it was sent and billed as it is."
        assert "credit note" in error["hint"]
        assert refused["ticket"] is None and refused["timeEntry"] is None
    assert ops(TICKET, {"id": ticket}) == before


@pytest.mark.parametrize("change,code,field", [
    ({"minutes": 0}, "INVALID_INPUT", "minutes"),
    ({"minutes": 1441}, "INVALID_INPUT", "minutes"),
    ({"workDate": "2026-11-24"}, "INVALID_INPUT", "workDate"),  # tomorrow
    ({"billable": False}, "INVALID_INPUT", "reason"),
    ({"description": " "}, "INVALID_INPUT", "description"),
    ({"technicianId": "usr_nobody"}, "NOT_FOUND", "technicianId"),
], ids=["no_minutes", "more_than_a_day", "future", "not_billable_without_reason", "no_description", "unknown_technician"])
def test_a_correction_is_checked_as_a_new_entry_and_a_refused_one_changes_nothing(ops, ticket, change, code, field):
    entry = record(ops, ticket, 45)
    before = ops(TICKET, {"id": ticket})
    values = {"workDate": "2026-11-20", "minutes": 45, "billable": True, "description": "VPN", **change}
    (error,) = ops(TIME_UPDATE, {"id": ticket, "e": entry, "input": values})["ticketTimeEntryUpdate"]["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert ops(TICKET, {"id": ticket}) == before


def test_a_correction_to_not_billable_takes_the_reason_and_an_unknown_entry_is_not_found(ops, ticket):
    entry = record(ops, ticket, 45)
    changed = ok(ops(TIME_UPDATE, {"id": ticket, "e": entry, "input": {
        "workDate": "2026-11-21", "minutes": 45, "billable": False, "description": "Nachkontrolle", "reason": "Garantiefall"}})["ticketTimeEntryUpdate"])
    assert (changed["timeEntry"]["billable"], changed["timeEntry"]["reason"], changed["timeEntry"]["workDate"]) == (False, "Garantiefall", "2026-11-21")
    for refused in (ops(TIME_UPDATE, {"id": ticket, "e": "tim_unknown", "input": {"workDate": "2026-11-20", "minutes": 5, "billable": True,
                                                                                  "description": "x"}})["ticketTimeEntryUpdate"],
                    ops(TIME_DELETE, {"id": ticket, "e": "tim_unknown"})["ticketTimeEntryDelete"]):
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "timeEntryId")]


@pytest.mark.parametrize("actor", ["hanse_it", "nordit_admin"])
def test_customers_and_partners_neither_correct_nor_delete_time(as_user, ops, ticket, actor):
    entry = record(ops, ticket, 45)
    change = {"workDate": "2026-11-20", "minutes": 5, "billable": True, "description": "x"}
    assert as_user(actor)(TIME_UPDATE, {"id": ticket, "e": entry, "input": change})["ticketTimeEntryUpdate"]["errors"][0]["code"] == "FORBIDDEN"
    assert as_user(actor)(TIME_DELETE, {"id": ticket, "e": entry})["ticketTimeEntryDelete"]["errors"][0]["code"] == "FORBIDDEN"
    assert [e["minutes"] for e in ops(TICKET, {"id": ticket})["ticket"]["timeEntries"]] == [45]


# --- maintenance schedules --------------------------------------------------------------------------------------------

SCHEDULE_FIELDS = "id subject everyMonths leadDays nextDue nextTicketOn lastDay"
SCHEDULE_ADD = """mutation($c: ID!, $first: Date!) { maintenanceScheduleAdd(contractId: $c, subject: "Patchday", everyMonths: 1, firstDue: $first,
  leadDays: 3) { schedule { %s } errors { code field } } }""" % SCHEDULE_FIELDS
SCHEDULE_UPDATE = """mutation($i: MaintenanceScheduleUpdateInput!) { maintenanceScheduleUpdate(input: $i) { schedule { %s } errors { code field message hint } } }""" % SCHEDULE_FIELDS
SCHEDULE_END = """mutation($id: ID!, $last: Date!) { maintenanceScheduleEnd(scheduleId: $id, lastDay: $last) { schedule { %s } errors { code field message hint } } }""" % SCHEDULE_FIELDS


def utc(*args: int):
    from datetime import datetime, timezone

    return datetime(*args, tzinfo=timezone.utc)


def maintenance_job(day):
    from domain.services.maintenance import create_due_maintenance_tickets
    from infra.dynamo.unit_of_work import DynamoUnitOfWork
    from infra.email import MemoryMailer

    return create_due_maintenance_tickets(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 4), mailer=MemoryMailer())


@pytest.fixture
def schedule(ops, demo) -> str:
    """Hanse's cooperation agreement (since 2026-01-01) with monthly maintenance on the 1st, tickets three days ahead."""
    query = """mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { id } errors { code } } }"""
    contract = ok(ops(query, {"i": {"customerId": demo.customers["hanse"].id, "kind": "COOPERATION", "startsOn": "2026-01-01",
                                    "hourlyRate": {"amount": "95.00"}}})["contractCreate"])["contract"]["id"]
    added = ok(ops(SCHEDULE_ADD, {"c": contract, "first": "2026-12-01"})["maintenanceScheduleAdd"])["schedule"]
    assert (added["nextDue"], added["nextTicketOn"], added["lastDay"]) == ("2026-12-01", "2026-11-28", None)
    return added["id"]


def test_a_longer_interval_and_more_lead_days_apply_after_the_ticket_created_and_create_no_second_one(ops, schedule, clock):
    from datetime import date

    assert maintenance_job(date(2026, 11, 28)).created == 1  # the 2026-12-01 ticket
    clock.now = utc(2026, 11, 29, 9)
    changed = ok(ops(SCHEDULE_UPDATE, {"i": {"scheduleId": schedule, "subject": "Patchday Server", "everyMonths": 3, "leadDays": 10}})
                 ["maintenanceScheduleUpdate"])["schedule"]
    assert changed == {"id": schedule, "subject": "Patchday Server", "everyMonths": 3, "leadDays": 10, "nextDue": "2027-03-01",
                       "nextTicketOn": "2027-02-19", "lastDay": None}
    assert (maintenance_job(date(2026, 11, 29)).created, maintenance_job(date(2027, 2, 18)).created) == (0, 0)
    summary = maintenance_job(date(2027, 2, 19))
    assert (summary.created, summary.existing) == (1, 0)


def test_an_ended_schedule_raises_no_ticket_after_its_last_day(ops, schedule, clock):
    from datetime import date

    ended = ok(ops(SCHEDULE_END, {"id": schedule, "last": "2027-01-15"})["maintenanceScheduleEnd"])["schedule"]
    assert (ended["nextDue"], ended["lastDay"]) == ("2026-12-01", "2027-01-15")
    assert [maintenance_job(day).created for day in (date(2026, 11, 28), date(2026, 12, 29), date(2027, 1, 29), date(2027, 4, 1))] == [1, 1, 0, 0]


def test_schedule_changes_are_refused_by_field_and_change_nothing(as_user, ops, schedule):
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    before = DynamoUnitOfWork().maintenance_schedules.get(schedule)
    (error,) = ops(SCHEDULE_END, {"id": schedule, "last": "2026-11-22"})["maintenanceScheduleEnd"]["errors"]  # yesterday
    assert (error["code"], error["field"], error["message"]) == ("INVALID_INPUT", "lastDay", "The last day 2026-11-22 lies in the past.")
    assert error["hint"].startswith("End it today (2026-11-23) at the earliest")
    for change, field in (({"everyMonths": 0}, "everyMonths"), ({"leadDays": 61}, "leadDays"), ({"subject": " "}, "subject")):
        (error,) = ops(SCHEDULE_UPDATE, {"i": {"scheduleId": schedule, **change}})["maintenanceScheduleUpdate"]["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    for unknown in (ops(SCHEDULE_UPDATE, {"i": {"scheduleId": "mnt_unknown", "leadDays": 5}})["maintenanceScheduleUpdate"],
                    ops(SCHEDULE_END, {"id": "mnt_unknown", "last": "2026-12-31"})["maintenanceScheduleEnd"]):
        assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", "scheduleId")]
    for actor in ("hanse_it", "nordit_admin"):
        assert as_user(actor)(SCHEDULE_UPDATE, {"i": {"scheduleId": schedule, "leadDays": 5}})["maintenanceScheduleUpdate"]["errors"][0]["code"] == "FORBIDDEN"
        assert as_user(actor)(SCHEDULE_END, {"id": schedule, "last": "2026-12-31"})["maintenanceScheduleEnd"]["errors"][0]["code"] == "FORBIDDEN"
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule) == before


# --- assets -----------------------------------------------------------------------------------------------------------

ASSET_FIELDS = "id name manufacturer purchasedOn warrantyUntil licenceExpiresOn technicalData { key value }"
ASSET_CREATE = """mutation($i: AssetCreateInput!) { assetCreate(input: $i) { asset { id } errors { code } } }"""
ASSET_UPDATE = """mutation($i: AssetUpdateInput!) { assetUpdate(input: $i) { asset { %s } errors { code field message } } }""" % ASSET_FIELDS
EXPIRING = """query($c: ID!) { assetsExpiring(customerId: $c, days: 30) { asset { id } kind on daysLeft } }"""
ASSETS = """query($c: ID!) { assets(customerId: $c) { nodes { %s } } }""" % ASSET_FIELDS


@pytest.fixture
def server(ops, demo) -> str:
    """Hanse's server, bought 2021-12-01, its warranty ending on 2026-12-01 (8 days from today)."""
    return ok(ops(ASSET_CREATE, {"i": {"customerId": demo.customers["hanse"].id, "kind": "HARDWARE", "name": "Server HV01", "manufacturer": "Dell",
                                       "purchasedOn": "2021-12-01", "warrantyUntil": "2026-12-01",
                                       "technicalData": [{"key": "RAM", "value": "256 GB"}]}})["assetCreate"])["asset"]["id"]


def test_a_renewed_warranty_and_new_technical_data_are_recorded_and_the_asset_no_longer_expires(ops, demo, server):
    hanse = demo.customers["hanse"].id
    assert ops(EXPIRING, {"c": hanse})["assetsExpiring"] == [{"asset": {"id": server}, "kind": "WARRANTY", "on": "2026-12-01", "daysLeft": 8}]
    updated = ok(ops(ASSET_UPDATE, {"i": {"assetId": server, "warrantyUntil": "2029-11-30",
                                          "technicalData": [{"key": "RAM", "value": "512 GB"}, {"key": "CPU", "value": "2x Xeon Silver 4314"}]}})
                 ["assetUpdate"])["asset"]
    assert updated == {"id": server, "name": "Server HV01", "manufacturer": "Dell", "purchasedOn": "2021-12-01", "warrantyUntil": "2029-11-30",
                       "licenceExpiresOn": None, "technicalData": [{"key": "CPU", "value": "2x Xeon Silver 4314"}, {"key": "RAM", "value": "512 GB"}]}
    assert ops(EXPIRING, {"c": hanse})["assetsExpiring"] == []
    assert ops(ASSETS, {"c": hanse})["assets"]["nodes"] == [updated]


def test_an_asset_update_is_checked_as_at_creation_and_a_refused_one_changes_nothing(as_user, ops, demo, server):
    hanse = demo.customers["hanse"].id
    before = ops(ASSETS, {"c": hanse})
    for change, field in (({"warrantyUntil": "2021-11-30"}, "warrantyUntil"), ({"purchasedOn": "2027-01-01"}, "warrantyUntil"),
                          ({"name": " "}, "name"), ({"technicalData": [{"key": " ", "value": "x"}]}, "technicalData")):
        (error,) = ops(ASSET_UPDATE, {"i": {"assetId": server, **change}})["assetUpdate"]["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert [(e["code"], e["field"]) for e in ops(ASSET_UPDATE, {"i": {"assetId": "ast_unknown", "name": "x"}})["assetUpdate"]["errors"]] == [
        ("NOT_FOUND", "assetId")]
    for actor in ("hanse_it", "nordit_admin"):
        assert as_user(actor)(ASSET_UPDATE, {"i": {"assetId": server, "warrantyUntil": "2030-01-01"}})["assetUpdate"]["errors"][0]["code"] == "FORBIDDEN"
    assert ops(ASSETS, {"c": hanse}) == before
