"""Software that interrupts users through GraphQL: marked by distributor staff, updated only on request by ticket, at a
time the service desk proposes and the customer confirms, recorded installed not before it.

Demo data: Hanse (partner NordIT, FULL) with hanse_it (EXTENDED) and hanse_staff (REPORT_ONLY); its onboarding contact
it@hanse.example is notified of new tickets and status changes. Today is Monday 2026-11-23, 10:00 in Berlin.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import NOW

ASSET = "asset { id kind name interruptsUsers } errors { code field message hint }"
ASSET_CREATE = "mutation($input: AssetCreateInput!) { assetCreate(input: $input) { %s } }" % ASSET
ASSET_UPDATE = "mutation($input: AssetUpdateInput!) { assetUpdate(input: $input) { %s } }" % ASSET
TICKET = """ticket { id number status channel subject reporter { userId name } history { kind details { key value } }
  softwareUpdate { assetId assetName state callerName wishedDates note startsAt confirmedBy confirmedCallerName installedAt } }
  errors { code field message hint }"""
REQUEST = "mutation($input: SoftwareUpdateRequestInput!) { softwareUpdateRequest(input: $input) { %s } }" % TICKET
SCHEDULE = "mutation($input: SoftwareUpdateScheduleInput!) { softwareUpdateSchedule(input: $input) { %s } }" % TICKET
CONFIRM = "mutation($input: SoftwareUpdateAnswerInput!) { softwareUpdateConfirm(input: $input) { %s } }" % TICKET
DECLINE = "mutation($input: SoftwareUpdateDeclineInput!) { softwareUpdateDecline(input: $input) { %s } }" % TICKET
INSTALLED = "mutation($id: ID!) { softwareUpdateRecordInstalled(ticketId: $id) { %s } }" % TICKET
READ = "query($id: ID!) { ticket(id: $id) { status softwareUpdate { state startsAt } } }"

FRIDAY_EVENING = "2026-12-04T17:00:00Z"  # 18:00 in Berlin


def ok(payload: dict) -> dict:
    assert payload["errors"] == [], payload["errors"]
    return payload


def refused(payload: dict, code: str) -> dict:
    assert payload["ticket"] is None or "ticket" not in payload
    assert [e["code"] for e in payload["errors"]] == [code], payload["errors"]
    return payload["errors"][0]


@pytest.fixture
def datev(as_user, demo):
    ops = as_user("distributor")
    return ok(ops(ASSET_CREATE, {"input": {"customerId": demo.customers["hanse"].id, "kind": "SOFTWARE", "name": "DATEV Rechnungswesen",
                                            "interruptsUsers": True}})["assetCreate"])["asset"]


@pytest.fixture
def requested(as_user, datev, services):
    ticket = ok(as_user("hanse_it")(REQUEST, {"input": {"assetId": datev["id"], "wishedDates": ["2026-12-04", "2026-12-11"],
                                                         "note": "Nicht im Monatsabschluss"}})["softwareUpdateRequest"])["ticket"]
    services.mailer.sent.clear()
    return ticket


@pytest.fixture
def proposed(as_user, requested, services):
    ok(as_user("distributor")(SCHEDULE, {"input": {"ticketId": requested["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"])
    services.mailer.sent.clear()
    return requested


@pytest.fixture
def confirmed(as_user, proposed, services):
    ok(as_user("hanse_it")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"])
    services.mailer.sent.clear()
    return proposed


def state_of(as_user, ticket) -> tuple:
    found = as_user("distributor")(READ, {"id": ticket["id"]})["ticket"]
    return found["status"], found["softwareUpdate"]["state"], found["softwareUpdate"]["startsAt"]


# --- marking software -----------------------------------------------------------------------------


def test_staff_mark_software_as_interrupting_users_but_not_hardware(as_user, demo, datev):
    assert datev["interruptsUsers"] is True
    ops = as_user("distributor")
    error = ops(ASSET_CREATE, {"input": {"customerId": demo.customers["hanse"].id, "kind": "HARDWARE", "name": "Server HV01",
                                         "interruptsUsers": True}})["assetCreate"]
    assert error["asset"] is None and [(e["code"], e["field"]) for e in error["errors"]] == [("INVALID_INPUT", "interruptsUsers")]
    changed = ok(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "interruptsUsers": False}})["assetUpdate"])["asset"]
    assert changed["interruptsUsers"] is False
    kept = ok(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "name": "DATEV Rewe"}})["assetUpdate"])["asset"]
    assert kept["interruptsUsers"] is False


def test_customers_cannot_mark_software(as_user, datev):
    answer = as_user("hanse_it")(ASSET_UPDATE, {"input": {"assetId": datev["id"], "interruptsUsers": False}})["assetUpdate"]
    assert [e["code"] for e in answer["errors"]] == ["FORBIDDEN"]


# --- the request ------------------------------------------------------------------------------------


def test_a_customer_user_requests_an_update_by_ticket_linked_to_the_asset(as_user, datev, services):
    ticket = ok(as_user("hanse_it")(REQUEST, {"input": {"assetId": datev["id"], "wishedDates": ["2026-12-11", "2026-12-04"],
                                                         "note": "Nicht im Monatsabschluss"}})["softwareUpdateRequest"])["ticket"]
    assert (ticket["status"], ticket["channel"], ticket["subject"]) == ("NEW", "PORTAL", "Software update on request: DATEV Rechnungswesen")
    assert ticket["softwareUpdate"] == {
        "assetId": datev["id"], "assetName": "DATEV Rechnungswesen", "state": "REQUESTED", "callerName": None,
        "wishedDates": ["2026-12-04", "2026-12-11"], "note": "Nicht im Monatsabschluss", "startsAt": None, "confirmedBy": None,
        "confirmedCallerName": None, "installedAt": None,
    }
    assert [m.subject for m in services.mailer.sent] == [f"[#{ticket['number']}] New ticket: {ticket['subject']}"]


def test_staff_record_a_phoned_request_naming_the_caller(as_user, datev):
    ops = as_user("distributor")
    error = refused(ops(REQUEST, {"input": {"assetId": datev["id"]}})["softwareUpdateRequest"], "INVALID_INPUT")
    assert error["field"] == "callerName"
    ticket = ok(ops(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hannes IT"}})["softwareUpdateRequest"])["ticket"]
    assert (ticket["channel"], ticket["reporter"]["name"], ticket["softwareUpdate"]["callerName"]) == ("HOTLINE", "Hannes IT", "Hannes IT")


def test_a_second_request_while_one_is_open_is_a_conflict(as_user, requested, datev):
    error = refused(as_user("hanse_staff")(REQUEST, {"input": {"assetId": datev["id"]}})["softwareUpdateRequest"], "CONFLICT")
    assert requested["number"] in error["message"] and error["hint"]


def test_software_that_does_not_interrupt_users_needs_no_request(as_user, demo):
    office = ok(as_user("distributor")(ASSET_CREATE, {"input": {"customerId": demo.customers["hanse"].id, "kind": "SOFTWARE",
                                                                 "name": "Office 2021"}})["assetCreate"])["asset"]
    error = refused(as_user("hanse_it")(REQUEST, {"input": {"assetId": office["id"]}})["softwareUpdateRequest"], "PRECONDITION_FAILED")
    assert "regular maintenance" in error["message"]


def test_partners_and_other_customers_cannot_request(as_user, datev):
    for actor in ("nordit_admin", "alpen_owner"):
        refused(as_user(actor)(REQUEST, {"input": {"assetId": datev["id"]}})["softwareUpdateRequest"], "NOT_FOUND")


# --- scheduling with the customer ------------------------------------------------------------------


def test_the_proposal_waits_for_the_customer_and_notifies_as_a_status_change(as_user, requested, services):
    ticket = ok(as_user("distributor")(SCHEDULE, {"input": {"ticketId": requested["id"], "startsAt": FRIDAY_EVENING}})
                ["softwareUpdateSchedule"])["ticket"]
    assert (ticket["status"], ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["startsAt"]) == (
        "WAITING_FOR_CUSTOMER", "PROPOSED", "2026-12-04T17:00:00+00:00")
    assert [(m.to, m.subject) for m in services.mailer.sent] == [
        (("it@hanse.example",), f"[#{requested['number']}] Status waiting for customer: {requested['subject']}")]
    assert {"key": "starts_at", "value": "2026-12-04T17:00:00+00:00"} in ticket["history"][-2]["details"]


def test_the_customer_confirms_and_the_agreed_time_is_kept(as_user, proposed, demo):
    ticket = ok(as_user("hanse_it")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"])["ticket"]
    assert (ticket["status"], ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["confirmedBy"]) == (
        "IN_PROGRESS", "CONFIRMED", demo.users["hanse_it"].id)


def test_staff_record_a_phoned_confirmation_naming_the_caller(as_user, proposed):
    ticket = ok(as_user("distributor")(CONFIRM, {"input": {"ticketId": proposed["id"], "callerName": "Hannes IT"}})
                ["softwareUpdateConfirm"])["ticket"]
    assert ticket["softwareUpdate"]["confirmedCallerName"] == "Hannes IT"


def test_the_customer_asks_for_another_date(as_user, proposed):
    ticket = ok(as_user("hanse_it")(DECLINE, {"input": {"ticketId": proposed["id"], "wishedDates": ["2026-12-18"],
                                                         "note": "Am 4.12. ist Inventur"}})["softwareUpdateDecline"])["ticket"]
    assert (ticket["status"], ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["wishedDates"]) == (
        "IN_PROGRESS", "REQUESTED", ["2026-12-18"])
    refused(as_user("hanse_it")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"], "PRECONDITION_FAILED")


def test_nothing_to_confirm_before_a_proposal_and_nothing_changes(as_user, requested):
    before = state_of(as_user, requested)
    error = refused(as_user("hanse_it")(CONFIRM, {"input": {"ticketId": requested["id"]}})["softwareUpdateConfirm"], "PRECONDITION_FAILED")
    assert error["hint"]
    assert state_of(as_user, requested) == before == ("NEW", "REQUESTED", None)


def test_a_proposed_time_that_has_passed_is_not_confirmed(as_user, proposed, clock):
    clock.now = datetime(2026, 12, 4, 17, 5, tzinfo=timezone.utc)
    error = refused(as_user("hanse_it")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"], "PRECONDITION_FAILED")
    assert "softwareUpdateDecline" in error["hint"]


def test_only_the_customer_answers(as_user, proposed):
    refused(as_user("nordit_admin")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"], "FORBIDDEN")
    # A report-only colleague does not see a ticket someone else reported.
    refused(as_user("hanse_staff")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"], "NOT_FOUND")
    refused(as_user("alpen_owner")(CONFIRM, {"input": {"ticketId": proposed["id"]}})["softwareUpdateConfirm"], "NOT_FOUND")
    refused(as_user("hanse_it")(SCHEDULE, {"input": {"ticketId": proposed["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"],
            "FORBIDDEN")
    assert state_of(as_user, proposed) == ("WAITING_FOR_CUSTOMER", "PROPOSED", "2026-12-04T17:00:00+00:00")


def test_a_linked_partner_sees_the_request_on_the_ticket_read_only(as_user, proposed):
    found = as_user("nordit_admin")("query($id: ID!) { ticket(id: $id) { softwareUpdate { assetName state } } }", {"id": proposed["id"]})
    assert found["ticket"]["softwareUpdate"] == {"assetName": "DATEV Rechnungswesen", "state": "PROPOSED"}
    assert as_user("alpen_owner")(READ, {"id": proposed["id"]})["ticket"] is None


# --- installing ----------------------------------------------------------------------------------------


def test_not_recorded_installed_before_the_customer_confirmed(as_user, proposed, clock):
    clock.now = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)
    error = refused(as_user("distributor")(INSTALLED, {"id": proposed["id"]})["softwareUpdateRecordInstalled"], "PRECONDITION_FAILED")
    assert "softwareUpdateSchedule" in error["hint"]
    assert state_of(as_user, proposed) == ("WAITING_FOR_CUSTOMER", "PROPOSED", "2026-12-04T17:00:00+00:00")


def test_not_recorded_installed_before_the_agreed_time(as_user, confirmed, clock):
    clock.now = datetime(2026, 12, 4, 16, 59, tzinfo=timezone.utc)
    error = refused(as_user("distributor")(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"], "PRECONDITION_FAILED")
    assert "04.12.2026 18:00 Berlin time" in error["message"]
    assert state_of(as_user, confirmed) == ("IN_PROGRESS", "CONFIRMED", "2026-12-04T17:00:00+00:00")


def test_installed_at_the_agreed_time_resolves_the_ticket_and_notifies(as_user, confirmed, clock, services):
    clock.now = datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc)
    ticket = ok(as_user("distributor")(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"])["ticket"]
    assert (ticket["status"], ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["installedAt"]) == (
        "RESOLVED", "INSTALLED", "2026-12-04T18:30:00+00:00")
    assert [m.subject for m in services.mailer.sent] == [f"[#{confirmed['number']}] Status resolved: {confirmed['subject']}"]
    again = refused(as_user("distributor")(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"], "CONFLICT")
    assert again["hint"]


def test_a_ticket_without_a_request_takes_no_step(as_user, demo):
    ticket = ok(as_user("hanse_it")("""mutation($input: TicketCreateInput!) { ticketCreate(input: $input) { ticket { id } errors { code } } }""",
                                    {"input": {"customerId": demo.customers["hanse"].id, "subject": "Drucker", "description": "leer"}})
                ["ticketCreate"])["ticket"]
    refused(as_user("distributor")(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"],
            "INVALID_INPUT")


def test_a_proposal_in_the_past_is_refused(as_user, requested):
    past = (NOW - timedelta(hours=1)).isoformat()
    error = refused(as_user("distributor")(SCHEDULE, {"input": {"ticketId": requested["id"], "startsAt": past}})["softwareUpdateSchedule"],
                    "INVALID_INPUT")
    assert error["field"] == "startsAt"
