"""Software that interrupts users through GraphQL: marked by distributor staff, updated only on request by ticket, at a
time the service desk proposes and the customer confirms, recorded installed not before it.

Demo data: Hanse (partner NordIT, FULL) with hanse_it (EXTENDED) and hanse_staff (REPORT_ONLY); its onboarding contact
it@hanse.example is notified of new tickets and status changes. Today is Monday 2026-11-23, 10:00 in Berlin.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import NOW
from tests.e2e.conftest import ok

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


def refused(payload: dict, code: str) -> dict:
    assert payload.get("ticket") is None and payload.get("asset") is None
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
    error = refused(as_user("distributor")(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hannes IT"}})
                    ["softwareUpdateRequest"], "CONFLICT")
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


def test_the_proposal_waits_for_the_customer_who_is_told_the_time_in_berlin(as_user, requested, services):
    ticket = ok(as_user("distributor")(SCHEDULE, {"input": {"ticketId": requested["id"], "startsAt": FRIDAY_EVENING}})
                ["softwareUpdateSchedule"])["ticket"]
    assert (ticket["status"], ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["startsAt"]) == (
        "WAITING_FOR_CUSTOMER", "PROPOSED", "2026-12-04T17:00:00+00:00")
    # hanse_it (the requester) is it@hanse.example, the contact chosen for status changes: one mail
    [mail] = services.mailer.sent
    assert (mail.to, mail.subject) == (
        ("it@hanse.example",), f"[#{requested['number']}] Update of DATEV Rechnungswesen proposed for 04.12.2026 18:00 Berlin time")
    assert "on 04.12.2026 18:00 Berlin time" in mail.body and "changed from NEW to WAITING_FOR_CUSTOMER" in mail.body
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
    assert [m.subject for m in services.mailer.sent] == [f"[#{confirmed['number']}] Update of DATEV Rechnungswesen installed"]
    assert "changed from IN_PROGRESS to RESOLVED" in services.mailer.sent[0].body
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


# --- review fixes ---------------------------------------------------------------------------------------

STATUS = "mutation($id: ID!, $s: TicketStatus!) { ticketStatusChange(ticketId: $id, status: $s) { ticket { status } errors { code } } }"
COMMENT = ('mutation($id: ID!, $body: String!) { ticketCommentAdd(ticketId: $id, body: $body, internal: false) '
           "{ ticket { status } errors { code } } }")
STATE = "query($id: ID!) { ticket(id: $id) { status softwareUpdate { state startsAt cancelledAt } } }"


def mails_to(services, address):
    return [m for m in services.mailer.sent if address in m.to]


def test_a_called_off_update_stays_off_when_its_ticket_is_reopened(as_user, confirmed, datev, clock, services):
    """Agreed for Friday 2026-12-04 18:00 Berlin; staff resolve the ticket (called off); Hannes requests again and then
    comments on the old ticket, which reopens it: the old agreement takes no step, the new request is untouched."""
    ops, hannes = as_user("distributor"), as_user("hanse_it")
    clock.now = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
    assert ok(ops(STATUS, {"id": confirmed["id"], "s": "RESOLVED"})["ticketStatusChange"])["ticket"]["status"] == "RESOLVED"
    old = ops(STATE, {"id": confirmed["id"]})["ticket"]
    assert old["softwareUpdate"] == {"state": "CANCELLED", "startsAt": "2026-12-04T17:00:00+00:00",
                                     "cancelledAt": "2026-11-25T09:00:00+00:00"}
    again = ok(hannes(REQUEST, {"input": {"assetId": datev["id"]}})["softwareUpdateRequest"])["ticket"]
    assert ok(hannes(COMMENT, {"id": confirmed["id"], "body": "Und das alte Update?"})["ticketCommentAdd"])["ticket"]["status"] == "IN_PROGRESS"
    services.mailer.sent.clear()
    clock.now = datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc)
    error = refused(ops(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"], "CONFLICT")
    assert "called off" in error["message"] and again["number"] not in error["message"]
    refused(ops(SCHEDULE, {"input": {"ticketId": confirmed["id"], "startsAt": "2026-12-11T17:00:00Z"}})["softwareUpdateSchedule"], "CONFLICT")
    refused(hannes(DECLINE, {"input": {"ticketId": confirmed["id"]}})["softwareUpdateDecline"], "CONFLICT")
    assert state_of(as_user, confirmed) == ("IN_PROGRESS", "CANCELLED", "2026-12-04T17:00:00+00:00")
    assert state_of(as_user, again) == ("NEW", "REQUESTED", None)
    assert services.mailer.sent == []  # refused steps send nothing
    # the new request goes its own way
    ok(ops(SCHEDULE, {"input": {"ticketId": again["id"], "startsAt": "2026-12-11T17:00:00Z"}})["softwareUpdateSchedule"])


def test_calling_off_tells_the_contacts_and_the_requester(as_user, datev, demo, services, clock):
    ops = as_user("distributor")
    ticket = ok(ops(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Buchhaltung", "callerEmail": "fibu@hanse.example"}})
                ["softwareUpdateRequest"])["ticket"]
    ok(ops(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"])
    services.mailer.sent.clear()
    ok(ops(STATUS, {"id": ticket["id"], "s": "RESOLVED"})["ticketStatusChange"])
    [mail] = services.mailer.sent
    assert (mail.to, mail.subject) == (("it@hanse.example", "fibu@hanse.example"),
                                       f"[#{ticket['number']}] Update of DATEV Rechnungswesen called off")
    assert "(04.12.2026 18:00 Berlin time) no longer holds" in mail.body and "changed from WAITING_FOR_CUSTOMER to RESOLVED" in mail.body


def test_every_step_is_told_to_the_contacts_and_the_requester_with_the_time_in_berlin(as_user, datev, demo, services, clock):
    """A phoned request of Hilde (report-only, staff@hanse.example); the contact chosen at onboarding is it@hanse.example."""
    ops, hilde = as_user("distributor"), as_user("hanse_staff")
    ticket = ok(ops(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hilde Staff", "callerUserId": demo.users["hanse_staff"].id}})
                ["softwareUpdateRequest"])["ticket"]
    both = ("it@hanse.example", "staff@hanse.example")
    tag = f"[#{ticket['number']}]"
    services.mailer.sent.clear()  # the receipt and the new ticket's notice

    def step(answer):
        ok(answer)
        sent = [(m.to, m.subject) for m in services.mailer.sent]
        bodies = [m.body for m in services.mailer.sent]
        services.mailer.sent.clear()
        return sent, bodies

    sent, _ = step(ops(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"])
    assert sent == [(both, f"{tag} Update of DATEV Rechnungswesen proposed for 04.12.2026 18:00 Berlin time")]
    # a new proposal while one is pending: no status change, still told
    sent, bodies = step(ops(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": "2026-12-11T17:00:00Z"}})["softwareUpdateSchedule"])
    assert sent == [(both, f"{tag} Update of DATEV Rechnungswesen proposed for 11.12.2026 18:00 Berlin time")]
    assert "instead of the time proposed before" in bodies[0] and "changed from" not in bodies[0]
    sent, _ = step(hilde(CONFIRM, {"input": {"ticketId": ticket["id"]}})["softwareUpdateConfirm"])
    assert sent == [(both, f"{tag} Update of DATEV Rechnungswesen agreed for 11.12.2026 18:00 Berlin time")]
    # a decline after the confirmation: no status change, still told
    sent, bodies = step(hilde(DECLINE, {"input": {"ticketId": ticket["id"], "wishedDates": ["2026-12-18"]}})["softwareUpdateDecline"])
    assert sent == [(both, f"{tag} Another date asked for the update of DATEV Rechnungswesen")]
    assert "agreed 11.12.2026 18:00 Berlin time" in bodies[0] and "2026-12-18" in bodies[0]
    # a refused step sends nothing
    refused(hilde(CONFIRM, {"input": {"ticketId": ticket["id"]}})["softwareUpdateConfirm"], "PRECONDITION_FAILED")
    assert services.mailer.sent == []
    step(ops(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": "2026-12-18T17:00:00Z"}})["softwareUpdateSchedule"])
    step(hilde(CONFIRM, {"input": {"ticketId": ticket["id"]}})["softwareUpdateConfirm"])
    clock.now = datetime(2026, 12, 18, 18, 0, tzinfo=timezone.utc)
    sent, bodies = step(ops(INSTALLED, {"id": ticket["id"]})["softwareUpdateRecordInstalled"])
    assert sent == [(both, f"{tag} Update of DATEV Rechnungswesen installed")] and "18.12.2026 19:00 Berlin time" in bodies[0]


# --- the agreed day ---------------------------------------------------------------------------------------


def test_an_agreement_holds_for_its_berlin_day_only(as_user, confirmed, clock):
    """Agreed for Friday 2026-12-04 18:00 Berlin: not recorded installed on 2026-12-20, nor at midnight after the day."""
    ops = as_user("distributor")
    for late in (datetime(2026, 12, 20, 10, tzinfo=timezone.utc), datetime(2026, 12, 4, 23, 0, tzinfo=timezone.utc)):
        clock.now = late
        error = refused(ops(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"], "PRECONDITION_FAILED")
        assert "lapsed" in error["message"] and "softwareUpdateSchedule" in error["hint"]
    assert state_of(as_user, confirmed) == ("IN_PROGRESS", "CONFIRMED", "2026-12-04T17:00:00+00:00")
    clock.now = datetime(2026, 12, 4, 22, 59, tzinfo=timezone.utc)  # 23:59 in Berlin: still the agreed day
    ok(ops(INSTALLED, {"id": confirmed["id"]})["softwareUpdateRecordInstalled"])


def test_the_customer_declines_once_the_agreed_day_is_over_but_not_during_it(as_user, confirmed, clock):
    hannes = as_user("hanse_it")
    clock.now = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)  # 19:00 in Berlin: the update may be running
    refused(hannes(DECLINE, {"input": {"ticketId": confirmed["id"]}})["softwareUpdateDecline"], "CONFLICT")
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)  # Monday after: nothing was installed
    ticket = ok(hannes(DECLINE, {"input": {"ticketId": confirmed["id"], "wishedDates": ["2026-12-11"]}})["softwareUpdateDecline"])["ticket"]
    assert (ticket["softwareUpdate"]["state"], ticket["softwareUpdate"]["wishedDates"]) == ("REQUESTED", ["2026-12-11"])


# --- phoned requests ----------------------------------------------------------------------------------------


def test_a_phoned_request_names_the_calling_user_who_sees_confirms_and_gets_the_receipt(as_user, datev, demo, services):
    ops, hilde = as_user("distributor"), as_user("hanse_staff")
    ticket = ok(ops(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hilde Staff", "callerUserId": demo.users["hanse_staff"].id}})
                ["softwareUpdateRequest"])["ticket"]
    assert (ticket["channel"], ticket["reporter"]) == ("HOTLINE", {"userId": demo.users["hanse_staff"].id, "name": "Hilde Staff"})
    assert [m.subject for m in mails_to(services, "staff@hanse.example")] == [f"[#{ticket['number']}] Received: {ticket['subject']}"]
    assert hilde(READ, {"id": ticket["id"]})["ticket"]["softwareUpdate"]["state"] == "REQUESTED"
    ok(ops(SCHEDULE, {"input": {"ticketId": ticket["id"], "startsAt": FRIDAY_EVENING}})["softwareUpdateSchedule"])
    confirmed = ok(hilde(CONFIRM, {"input": {"ticketId": ticket["id"]}})["softwareUpdateConfirm"])["ticket"]
    assert confirmed["softwareUpdate"]["confirmedBy"] == demo.users["hanse_staff"].id


def test_a_deactivated_login_is_not_named_as_the_caller(as_user, datev, demo, services):
    from domain.services import organisations as org_svc
    from domain.policy import Principal
    from tests.conftest import NOW

    org_svc.deactivate_user(services.uow(), Principal.of(demo.users["distributor"]), demo.users["hanse_staff"].id, now=NOW)
    error = refused(as_user("distributor")(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hilde Staff",
                                                                "callerUserId": demo.users["hanse_staff"].id}})["softwareUpdateRequest"], "CONFLICT")
    assert error["field"] == "callerUserId" and "deactivated" in error["message"]


def test_a_phoned_request_sends_the_receipt_to_the_address_given(as_user, datev, services):
    ticket = ok(as_user("distributor")(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Buchhaltung",
                                                            "callerEmail": "fibu@hanse.example"}})["softwareUpdateRequest"])["ticket"]
    assert [m.subject for m in mails_to(services, "fibu@hanse.example")] == [f"[#{ticket['number']}] Received: {ticket['subject']}"]


def test_the_calling_user_is_one_of_the_customer_and_only_staff_name_one(as_user, datev, demo):
    error = refused(as_user("distributor")(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Fremd",
                                                                "callerUserId": demo.users["alpen_owner"].id}})["softwareUpdateRequest"], "NOT_FOUND")
    assert error["field"] == "callerUserId"
    error = refused(as_user("hanse_it")(REQUEST, {"input": {"assetId": datev["id"], "callerEmail": "fibu@hanse.example"}})
                    ["softwareUpdateRequest"], "INVALID_INPUT")
    assert error["field"] == "callerUserId"


# --- two requests at once ---------------------------------------------------------------------------------------


def test_of_two_requests_at_once_the_second_is_the_conflict_naming_the_first(as_user, datev, demo, monkeypatch):
    """Hannes's request and a phoned one are written at the same moment: the phoned one's write finds the asset
    changed; repeated, it names Hannes's ticket."""
    from domain.policy import Principal
    from domain.services import software_updates as updates
    from infra.dynamo.unit_of_work import DynamoUnitOfWork
    from infra.email import MemoryMailer

    real, winner, racing = updates.allocate_number, [], []

    def allocate_while_hannes_requests(uow, distributor):
        if not racing:
            racing.append(True)
            winner.append(updates.request_update(DynamoUnitOfWork(), Principal.of(demo.users["hanse_it"]), updates.UpdateRequest(datev["id"]),
                                                 now=NOW, mailer=MemoryMailer()))
        return real(uow, distributor)

    monkeypatch.setattr(updates, "allocate_number", allocate_while_hannes_requests)
    error = refused(as_user("distributor")(REQUEST, {"input": {"assetId": datev["id"], "callerName": "Hilde Staff"}})
                    ["softwareUpdateRequest"], "CONFLICT")
    assert winner[0].number in error["message"]


# --- the asset while a request is open -----------------------------------------------------------------------------


def test_the_asset_stays_marked_while_its_update_is_requested(as_user, requested, datev):
    ops = as_user("distributor")
    error = refused(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "interruptsUsers": False}})["assetUpdate"], "CONFLICT")
    assert error["field"] == "interruptsUsers" and requested["number"] in error["message"]
    error = refused(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "kind": "HARDWARE", "interruptsUsers": False}})["assetUpdate"],
                    "CONFLICT")
    assert error["field"] == "kind"
    assert ok(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "name": "DATEV Rewe"}})["assetUpdate"])["asset"]["interruptsUsers"]
    ok(ops(STATUS, {"id": requested["id"], "s": "RESOLVED"})["ticketStatusChange"])  # called off
    assert ok(ops(ASSET_UPDATE, {"input": {"assetId": datev["id"], "interruptsUsers": False}})["assetUpdate"])["asset"]["interruptsUsers"] is False


# --- report-only users ----------------------------------------------------------------------------------------------


def test_report_only_users_find_no_asset_to_request_and_no_name_or_ticket_is_revealed(as_user, requested, datev, demo):
    office = ok(as_user("distributor")(ASSET_CREATE, {"input": {"customerId": demo.customers["hanse"].id, "kind": "SOFTWARE",
                                                                 "name": "Office 2021"}})["assetCreate"])["asset"]
    hilde = as_user("hanse_staff")
    for asset in (datev, office):
        error = refused(hilde(REQUEST, {"input": {"assetId": asset["id"]}})["softwareUpdateRequest"], "NOT_FOUND")
        assert asset["name"] not in error["message"] and requested["number"] not in error["message"]
