"""The service desk through GraphQL: portal, hotline, comments and internal notes, attachments, status,
time, service reports, contracts, assets and statistics, for every role and permission level.

Demo data: Hanse (partner NordIT, FULL) with hanse_it (EXTENDED) and hanse_staff (REPORT_ONLY);
Alpen (partner SüdCloud) with alpen_owner; distributor staff "distributor" (Olga Ops).
"""

from __future__ import annotations

from datetime import date

import pytest

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as contract_svc
from tests.conftest import NOW
from tests.request_counter import count_requests
from tests.e2e.conftest import ok

TICKET_FIELDS = """id number status channel subject customerId allowedNextStatuses reporter { userId name }
  comments { body internal byStaff } history { kind details { key value } } timeEntries { minutes billable reason }
  attachments { filename contentType downloadUrl } customer { name }"""

CREATE = """mutation($input: TicketCreateInput!, $key: String) { ticketCreate(input: $input, idempotencyKey: $key) {
  ticket { %s } errors { code message field hint } } }""" % TICKET_FIELDS
HOTLINE = """mutation($input: TicketHotlineCreateInput!) { ticketHotlineCreate(input: $input) { ticket { id number channel reporter { name } } errors { code message } } }"""
COMMENT = """mutation($id: ID!, $body: String!, $internal: Boolean!) { ticketCommentAdd(ticketId: $id, body: $body, internal: $internal) {
  ticket { status comments { body internal } } errors { code message field } } }"""
STATUS = """mutation($id: ID!, $status: TicketStatus!) { ticketStatusChange(ticketId: $id, status: $status) { ticket { status } errors { code message field hint } } }"""
TIME = """mutation($id: ID!, $input: TimeEntryInput!) { ticketTimeEntryAdd(ticketId: $id, input: $input) { timeEntry { minutes hours } errors { code field message } } }"""
TICKET = "query($id: ID!) { ticket(id: $id) { %s } }" % TICKET_FIELDS
TICKETS = """query($customer: ID, $status: TicketStatus, $first: Int, $after: String) { tickets(customerId: $customer, status: $status, first: $first, after: $after) {
  nodes { id number comments { body } timeEntries { minutes } customer { name } } pageInfo { hasNextPage endCursor } } }"""

ACTORS = ["distributor", "nordit_admin", "nordit_sales", "suedcloud_admin", "hanse_it", "hanse_staff", "kanzlei_office", "alpen_owner"]


@pytest.fixture
def hanse_ticket(as_user, demo, services):
    """A portal ticket of Hanse by the report-only user, with a comment, an internal note and 45 minutes of time."""
    data = as_user("hanse_staff")(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": "Drucker druckt nicht", "description": "Lager Bremen"}})
    ticket = ok(data["ticketCreate"])["ticket"]
    ops = as_user("distributor")
    ok(ops(COMMENT, {"id": ticket["id"], "body": "Wir schauen uns das an.", "internal": False})["ticketCommentAdd"])
    ok(ops(COMMENT, {"id": ticket["id"], "body": "Admin-Passwort im Tresor, Fach 3.", "internal": True})["ticketCommentAdd"])
    ok(ops(TIME, {"id": ticket["id"], "input": {"workDate": "2026-11-23", "minutes": 45, "billable": True, "description": "Treiber"}})["ticketTimeEntryAdd"])
    services.mailer.sent.clear()
    return ticket


# --- opening tickets -------------------------------------------------------------------------------


def test_a_portal_ticket_gets_a_number_and_notifies_the_onboarding_contacts(as_user, demo, services):
    data = as_user("hanse_staff")(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": "VPN geht nicht", "description": "Seit 8 Uhr"}})
    ticket = ok(data["ticketCreate"])["ticket"]
    assert (ticket["number"], ticket["status"], ticket["channel"]) == ("T-000001", "NEW", "PORTAL")
    assert ticket["reporter"] == {"userId": demo.users["hanse_staff"].id, "name": "Hilde Staff"}
    assert ticket["allowedNextStatuses"] == ["IN_PROGRESS", "WAITING_FOR_CUSTOMER", "RESOLVED", "CLOSED"]
    (notice,) = services.mailer.to("it@hanse.example")
    assert notice.subject == "[#T-000001] New ticket: VPN geht nicht"


def test_a_retried_create_with_the_same_idempotency_key_makes_one_ticket(as_user, demo, services):
    api = as_user("hanse_it")
    variables = {"input": {"customerId": demo.customers["hanse"].id, "subject": "VPN", "description": "x"}, "key": "k-1"}
    first = ok(api(CREATE, variables)["ticketCreate"])["ticket"]
    again = ok(api(CREATE, variables)["ticketCreate"])["ticket"]
    assert first["id"] == again["id"] and len(services.mailer.sent) == 1


def test_invalid_input_spends_no_ticket_number(as_user, demo):
    api = as_user("hanse_it")
    refused = api(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": " ", "description": "x"}})["ticketCreate"]
    assert refused["errors"][0]["field"] == "subject" and refused["ticket"] is None
    created = ok(api(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": "VPN", "description": "x"}})["ticketCreate"])
    assert created["ticket"]["number"] == "T-000001"


@pytest.mark.parametrize(
    "actor,customer,code",
    [
        ("alpen_owner", "hanse", "NOT_FOUND"),  # another customer's organisation does not exist for it
        ("nordit_admin", "hanse", "FORBIDDEN"),  # partners see tickets but do not open them
        ("distributor", "hanse", "INVALID_INPUT"),  # staff use the hotline
    ],
)
def test_who_may_not_open_portal_tickets(as_user, demo, actor, customer, code):
    data = as_user(actor)(CREATE, {"input": {"customerId": demo.customers[customer].id, "subject": "x", "description": "y"}})
    assert data["ticketCreate"]["errors"][0]["code"] == code


def test_the_hotline_opens_tickets_on_the_customers_behalf_and_customers_cannot(as_user, demo):
    variables = {"input": {"customerId": demo.customers["alpen"].id, "subject": "Kasse startet nicht", "description": "Anruf 9:05", "callerName": "Anton Alpen"}}
    ticket = ok(as_user("distributor")(HOTLINE, variables)["ticketHotlineCreate"])["ticket"]
    assert (ticket["channel"], ticket["reporter"]["name"]) == ("HOTLINE", "Anton Alpen")
    assert as_user("alpen_owner")(HOTLINE, variables)["ticketHotlineCreate"]["errors"][0]["code"] == "FORBIDDEN"


def test_a_hotline_caller_gets_the_ticket_number_and_the_received_time_by_e_mail(as_user, demo, services):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    by_address = ok(ops(HOTLINE, {"input": {"customerId": hanse, "subject": "VPN weg", "description": "Anruf",
                                            "callerName": "Chef", "callerEmail": "chef@hanse.example"}})["ticketHotlineCreate"])["ticket"]
    (receipt,) = services.mailer.to("chef@hanse.example")
    assert receipt.subject == f"[#{by_address['number']}] Received: VPN weg"
    assert f"Your call was received on {NOW:%Y-%m-%d %H:%M} UTC" in receipt.body and f"ticket {by_address['number']}" in receipt.body
    assert len(services.mailer.to("it@hanse.example")) == 1  # the onboarding contact's new-ticket notice, as before
    # A calling user without an address given: the receipt goes to the user's own address.
    by_user = ok(ops(HOTLINE, {"input": {"customerId": hanse, "subject": "Drucker", "description": "Anruf", "callerName": "Hilde",
                                         "callerUserId": demo.users["hanse_staff"].id}})["ticketHotlineCreate"])["ticket"]
    assert [m.subject for m in services.mailer.to("staff@hanse.example")] == [f"[#{by_user['number']}] Received: Drucker"]
    # A caller who left no address: nothing to confirm to.
    services.mailer.sent.clear()
    ok(ops(HOTLINE, {"input": {"customerId": hanse, "subject": "Maus", "description": "Anruf", "callerName": "Unbekannt"}})["ticketHotlineCreate"])
    assert [m.to for m in services.mailer.sent] == [("it@hanse.example",)]


def test_a_hotline_caller_address_that_is_no_address_is_refused_and_spends_no_number(as_user, demo, services):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    refused = ops(HOTLINE, {"input": {"customerId": hanse, "subject": "VPN", "description": "Anruf", "callerName": "X",
                                      "callerEmail": "herr x, boss@evil.example"}})["ticketHotlineCreate"]
    assert refused["ticket"] is None and refused["errors"][0]["code"] == "INVALID_INPUT"
    assert services.mailer.sent == []
    ok_ticket = ok(ops(HOTLINE, {"input": {"customerId": hanse, "subject": "VPN", "description": "Anruf", "callerName": "X"}})["ticketHotlineCreate"])
    assert ok_ticket["ticket"]["number"] == "T-000001"


# --- who sees what ---------------------------------------------------------------------------------

SEES_HANSE_TICKET = {"distributor", "nordit_admin", "nordit_sales", "hanse_it", "hanse_staff"}


def test_each_actor_sees_a_ticket_exactly_when_it_may_and_internal_things_only_as_staff(as_user, demo, hanse_ticket):
    """One table over every role and level: the ticket itself, the list, and the nested comments, history and time."""
    for actor in ACTORS:
        api = as_user(actor)
        found = api(TICKET, {"id": hanse_ticket["id"]})["ticket"]
        listed = api(TICKETS, {"customer": demo.customers["hanse"].id})["tickets"]["nodes"]
        assert (found is not None, bool(listed)) == ((actor in SEES_HANSE_TICKET),) * 2, actor
        if found is None:
            continue
        staff = actor == "distributor"
        bodies = [c["body"] for c in found["comments"]]
        assert "Wir schauen uns das an." in bodies
        assert ("Admin-Passwort im Tresor, Fach 3." in bodies) is staff, actor
        kinds = {e["kind"] for e in found["history"]}
        assert ("INTERNAL_NOTE_ADDED" in kinds, "TIME_RECORDED" in kinds) == (staff, staff), actor
        assert found["timeEntries"] == ([{"minutes": 45, "billable": True, "reason": None}] if staff else []), actor
        assert found["customer"] == {"name": "Hanse Logistik AG"}
        for node in listed:  # the same rules for nested fields of a list
            assert ("Admin-Passwort im Tresor, Fach 3." in [c["body"] for c in node["comments"]]) is staff, actor
            assert bool(node["timeEntries"]) is staff, actor


def test_customer_users_list_their_own_tickets_without_naming_the_customer(as_user, hanse_ticket):
    assert [n["id"] for n in as_user("hanse_staff")(TICKETS, {})["tickets"]["nodes"]] == [hanse_ticket["id"]]
    assert as_user("alpen_owner")(TICKETS, {})["tickets"]["nodes"] == []


def test_a_report_only_user_sees_comments_on_and_attaches_to_only_the_tickets_they_reported(as_user, demo, hanse_ticket, services, clock):
    """Report only: "see own tickets". Hilde (REPORT_ONLY) reported hanse_ticket; Hannes (EXTENDED) opens a ticket only the
    management should read and the hotline records a call of Hilde's: she reaches hers and nothing of Hannes's."""
    from datetime import timedelta

    hanse = demo.customers["hanse"].id
    clock.now = NOW + timedelta(minutes=1)
    secret = ok(as_user("hanse_it")(CREATE, {"input": {"customerId": hanse, "subject": "Gehaltsabrechnung: DATEV Lohn startet nicht",
                                                       "description": "Nur Geschäftsführung"}})["ticketCreate"])["ticket"]
    clock.now = NOW + timedelta(minutes=2)
    call = ok(as_user("distributor")(HOTLINE, {"input": {"customerId": hanse, "subject": "Scanner", "description": "Anruf", "callerName": "Hilde",
                                                         "callerUserId": demo.users["hanse_staff"].id}})["ticketHotlineCreate"])["ticket"]
    staff, extended = as_user("hanse_staff"), as_user("hanse_it")
    own = [call["id"], hanse_ticket["id"]]  # newest first
    assert [n["id"] for n in staff(TICKETS, {})["tickets"]["nodes"]] == own
    assert [n["id"] for n in staff(TICKETS, {"customer": hanse})["tickets"]["nodes"]] == own
    assert [n["id"] for n in staff(TICKETS, {"status": "NEW"})["tickets"]["nodes"]] == own
    assert [n["id"] for n in extended(TICKETS, {})["tickets"]["nodes"]] == [call["id"], secret["id"], hanse_ticket["id"]]
    assert staff(TICKET, {"id": secret["id"]})["ticket"] is None
    assert staff("query($id: ID!) { node(id: $id) { id } }", {"id": secret["id"]})["node"] is None
    assert staff(TICKET, {"id": call["id"]})["ticket"]["subject"] == "Scanner"
    refused = staff(COMMENT, {"id": secret["id"], "body": "me too", "internal": False})["ticketCommentAdd"]
    assert refused["errors"][0]["code"] == "NOT_FOUND" and refused["ticket"] is None
    upload = staff(UPLOAD, {"id": secret["id"], "name": "a.png", "type": "image/png", "size": 100})["ticketAttachmentUploadStart"]
    assert upload["errors"][0]["code"] == "NOT_FOUND" and upload["upload"] is None
    key = f"tickets/{secret['id']}/att_probe/a.png"
    services.documents.put(key, b"\x89PNG", "image/png")
    attach = staff(ATTACH, {"id": secret["id"], "key": key, "name": "a.png", "type": "image/png", "size": 4})["ticketAttachmentAdd"]
    assert attach["errors"] == [{"code": "NOT_FOUND", "field": "ticketId"}]
    unchanged = extended(TICKET, {"id": secret["id"]})["ticket"]
    assert [c["body"] for c in unchanged["comments"]] == [] and unchanged["attachments"] == []
    ok(staff(COMMENT, {"id": call["id"], "body": "Geht wieder", "internal": False})["ticketCommentAdd"])  # her own call: she may


def test_a_report_only_users_pages_are_full_however_many_colleagues_tickets_lie_between(as_user, demo, clock):
    from datetime import timedelta

    hanse = demo.customers["hanse"].id
    staff, extended = as_user("hanse_staff"), as_user("hanse_it")
    hers = []
    for i in range(6):
        clock.now = NOW + timedelta(minutes=i)
        api = staff if i in (0, 3, 5) else extended  # Hilde's are T-000001, T-000004, T-000006
        number = ok(api(CREATE, {"input": {"customerId": hanse, "subject": f"P{i}", "description": "x"}})["ticketCreate"])["ticket"]["number"]
        if api is staff:
            hers.append(number)
    first = staff(TICKETS, {"first": 2})["tickets"]
    assert [n["number"] for n in first["nodes"]] == ["T-000006", "T-000004"] and first["pageInfo"]["hasNextPage"]
    rest = staff(TICKETS, {"first": 2, "after": first["pageInfo"]["endCursor"]})["tickets"]
    assert [n["number"] for n in rest["nodes"]] == ["T-000001"] and not rest["pageInfo"]["hasNextPage"]
    # A cursor of the organisation's list is not one of hers (and the reverse): refused, not a way round the scope.
    colleague_cursor = extended(TICKETS, {"first": 1})["tickets"]["pageInfo"]["endCursor"]
    assert staff.post(TICKETS, {"first": 2, "after": colleague_cursor}).json()["errors"][0]["extensions"]["field"] == "after"


def test_paging_through_tickets_newest_first_and_the_staff_queue_by_status(as_user, demo, clock):
    from datetime import timedelta

    api = as_user("hanse_it")
    numbers = []
    for i in range(3):
        clock.now = NOW + timedelta(minutes=i)
        numbers.append(ok(api(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": f"Problem {i}", "description": "x"}})["ticketCreate"])["ticket"]["number"])
    first = api(TICKETS, {"first": 2})["tickets"]
    assert [n["number"] for n in first["nodes"]] == ["T-000003", "T-000002"] and first["pageInfo"]["hasNextPage"]
    rest = api(TICKETS, {"first": 2, "after": first["pageInfo"]["endCursor"]})["tickets"]
    assert [n["number"] for n in rest["nodes"]] == ["T-000001"] and not rest["pageInfo"]["hasNextPage"]
    queue = as_user("distributor")(TICKETS, {"status": "NEW", "first": 10})["tickets"]["nodes"]
    assert [n["number"] for n in queue] == ["T-000001", "T-000002", "T-000003"]  # first come, first served
    assert as_user("hanse_it").post(TICKETS, {"first": 101}).json()["errors"][0]["extensions"]["field"] == "first"


def test_a_ticket_list_with_nested_customers_costs_the_same_for_2_and_8_tickets(as_user, demo):
    api = as_user("hanse_it")
    for i in range(8):
        ok(api(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "subject": f"P{i}", "description": "x"}})["ticketCreate"])
    staff = as_user("distributor")

    def cost(first):
        with count_requests() as count:
            assert len(staff(TICKETS, {"customer": demo.customers["hanse"].id, "first": first})["tickets"]["nodes"]) == first
        return count.requests

    assert cost(2) == cost(8)


# --- working on tickets ----------------------------------------------------------------------------


def test_customers_comment_partners_may_not_and_only_staff_write_internal_notes(as_user, hanse_ticket):
    data = as_user("hanse_staff")(COMMENT, {"id": hanse_ticket["id"], "body": "Danke!", "internal": False})["ticketCommentAdd"]
    assert ok(data)["ticket"]["comments"][-1] == {"body": "Danke!", "internal": False}
    internal = as_user("hanse_it")(COMMENT, {"id": hanse_ticket["id"], "body": "geheim", "internal": True})["ticketCommentAdd"]
    assert internal["errors"][0]["field"] == "internal"
    assert as_user("nordit_admin")(COMMENT, {"id": hanse_ticket["id"], "body": "x", "internal": False})["ticketCommentAdd"]["errors"][0]["code"] == "FORBIDDEN"
    assert as_user("alpen_owner")(COMMENT, {"id": hanse_ticket["id"], "body": "x", "internal": False})["ticketCommentAdd"]["errors"][0]["code"] == "NOT_FOUND"


def test_status_changes_follow_the_workflow_notify_and_only_staff_make_them(as_user, hanse_ticket, services):
    ops = as_user("distributor")
    refused = ops(STATUS, {"id": hanse_ticket["id"], "status": "NEW"})["ticketStatusChange"]
    assert (refused["errors"][0]["code"], refused["errors"][0]["field"]) == ("CONFLICT", "status")
    assert ok(ops(STATUS, {"id": hanse_ticket["id"], "status": "IN_PROGRESS"})["ticketStatusChange"])["ticket"]["status"] == "IN_PROGRESS"
    closing = ops(STATUS, {"id": hanse_ticket["id"], "status": "CLOSED"})["ticketStatusChange"]
    assert closing["errors"][0]["hint"] == "Allowed next: WAITING_FOR_CUSTOMER, RESOLVED."
    assert [m.subject for m in services.mailer.to("it@hanse.example")] == ["[#T-000001] Status in progress: Drucker druckt nicht"]
    assert as_user("hanse_it")(STATUS, {"id": hanse_ticket["id"], "status": "RESOLVED"})["ticketStatusChange"]["errors"][0]["code"] == "FORBIDDEN"


def test_a_status_note_longer_than_2000_characters_is_refused_by_field_and_changes_nothing(as_user, hanse_ticket, services):
    query = """mutation($id: ID!, $note: String) { ticketStatusChange(ticketId: $id, status: IN_PROGRESS, note: $note) {
      ticket { status } errors { code field message } } }"""
    ops = as_user("distributor")
    refused = ops(query, {"id": hanse_ticket["id"], "note": "n" * 450_000})["ticketStatusChange"]
    assert refused == {"ticket": None, "errors": [{"code": "INVALID_INPUT", "field": "note", "message": "The status note is longer than 2000 characters."}]}
    after = ops(TICKET, {"id": hanse_ticket["id"]})["ticket"]
    assert after["status"] == "NEW" and "STATUS_CHANGED" not in {e["kind"] for e in after["history"]}
    assert services.mailer.sent == []
    assert ok(ops(query, {"id": hanse_ticket["id"], "note": "n" * 2000})["ticketStatusChange"])["ticket"]["status"] == "IN_PROGRESS"


def test_assigning_to_a_technician_and_not_to_a_customer_user(as_user, demo, hanse_ticket):
    query = "mutation($id: ID!, $to: ID) { ticketAssign(ticketId: $id, assigneeId: $to) { ticket { assigneeId } errors { code field } } }"
    ops = as_user("distributor")
    assert ok(ops(query, {"id": hanse_ticket["id"], "to": demo.users["distributor"].id})["ticketAssign"])["ticket"]["assigneeId"] == demo.users["distributor"].id
    assert ops(query, {"id": hanse_ticket["id"], "to": demo.users["hanse_it"].id})["ticketAssign"]["errors"] == [{"code": "NOT_FOUND", "field": "assigneeId"}]


def test_a_technician_who_left_is_neither_assigned_nor_credited_with_time(as_user, demo, hanse_ticket, services):
    """An inactive technician's id is refused by ticketAssign and by ticketTimeEntryAdd alike; nothing is written."""
    from domain.organisations import Role
    from domain.services import organisations as org
    from tests.e2e.test_sign_in import set_active

    ops = as_user("distributor")
    left = org.create_user(services.uow(), Principal.of(demo.users["distributor"]),
                           org.NewUser(demo.distributor.id, "tom.tech@cloud.example", "Tom Tech", Role.DISTRIBUTOR_STAFF), now=NOW)
    set_active(left, False)
    assign = "mutation($id: ID!, $to: ID) { ticketAssign(ticketId: $id, assigneeId: $to) { ticket { assigneeId } errors { code field } } }"
    assert ops(assign, {"id": hanse_ticket["id"], "to": left.id})["ticketAssign"]["errors"] == [{"code": "NOT_FOUND", "field": "assigneeId"}]
    entry = {"workDate": "2026-11-23", "minutes": 30, "billable": True, "description": "Vor Ort", "technicianId": left.id}
    refused = ops(TIME, {"id": hanse_ticket["id"], "input": entry})["ticketTimeEntryAdd"]
    assert refused["timeEntry"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "technicianId")]
    assert [t["minutes"] for t in ops(TICKET, {"id": hanse_ticket["id"]})["ticket"]["timeEntries"]] == [45]
    set_active(left, True)  # active, the same entry is recorded: the refusal was for having left
    assert ok(ops(TIME, {"id": hanse_ticket["id"], "input": entry})["ticketTimeEntryAdd"])["timeEntry"]["minutes"] == 30


def test_a_non_billable_time_entry_without_reason_is_refused(as_user, hanse_ticket):
    data = as_user("distributor")(TIME, {"id": hanse_ticket["id"], "input": {"workDate": "2026-11-23", "minutes": 30, "billable": False, "description": "Kulanz"}})
    assert data["ticketTimeEntryAdd"]["errors"][0]["field"] == "reason"
    assert as_user("hanse_it")(TIME, {"id": hanse_ticket["id"], "input": {"workDate": "2026-11-23", "minutes": 30, "billable": True, "description": "x"}})["ticketTimeEntryAdd"]["errors"][0]["code"] == "FORBIDDEN"


UPLOAD = """mutation($id: ID!, $name: String!, $type: String!, $size: Int!) { ticketAttachmentUploadStart(ticketId: $id, filename: $name, contentType: $type, sizeBytes: $size) {
  upload { url key fields { name value } } errors { code message hint } } }"""
ATTACH = """mutation($id: ID!, $key: String!, $name: String!, $type: String!, $size: Int!) { ticketAttachmentAdd(ticketId: $id, key: $key, filename: $name, contentType: $type, sizeBytes: $size) {
  ticket { attachments { filename contentType downloadUrl } } errors { code field } } }"""


def test_a_screenshot_is_uploaded_through_a_presigned_form_and_registered(as_user, hanse_ticket, services):
    api = as_user("hanse_staff")
    upload = ok(api(UPLOAD, {"id": hanse_ticket["id"], "name": "fehler.png", "type": "image/png", "size": 2048})["ticketAttachmentUploadStart"])["upload"]
    fields = {f["name"]: f["value"] for f in upload["fields"]}
    assert upload["key"].startswith(f"tickets/{hanse_ticket['id']}/att_") and fields["Content-Type"] == "image/png"
    variables = {"id": hanse_ticket["id"], "key": upload["key"], "name": "fehler.png", "type": "image/png", "size": 2048}
    assert api(ATTACH, variables)["ticketAttachmentAdd"]["errors"] == [{"code": "INVALID_INPUT", "field": "key"}]  # not uploaded yet
    services.documents.put(upload["key"], b"\x89PNG" + b"0" * 2044, "image/png")  # what the browser's POST does
    attached = ok(api(ATTACH, variables)["ticketAttachmentAdd"])["ticket"]["attachments"]
    assert [(a["filename"], a["contentType"]) for a in attached] == [("fehler.png", "image/png")]
    assert upload["key"].split("/")[-1] in attached[0]["downloadUrl"]
    # registering twice changes nothing (download links are signed per answer, with the second they are made in)
    again = ok(api(ATTACH, variables)["ticketAttachmentAdd"])["ticket"]["attachments"]
    assert [(a["filename"], a["contentType"], a["downloadUrl"].split("?")[0]) for a in again] == [
        (a["filename"], a["contentType"], a["downloadUrl"].split("?")[0]) for a in attached
    ]


def test_word_documents_and_oversized_files_are_refused_before_any_upload(as_user, hanse_ticket):
    api = as_user("hanse_staff")
    word = api(UPLOAD, {"id": hanse_ticket["id"], "name": "screenshot.docx", "type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "size": 5000})
    assert word["ticketAttachmentUploadStart"]["errors"][0]["hint"] == "Send screenshots as image files (PNG or JPEG), not inside Word documents."
    big = api(UPLOAD, {"id": hanse_ticket["id"], "name": "a.png", "type": "image/png", "size": 11 * 1024 * 1024})
    assert "limit is 10 MB" in big["ticketAttachmentUploadStart"]["errors"][0]["message"]


# --- service reports, contracts, assets, statistics: extended users and staff ---------------------------

REPORT = """mutation($id: ID!) { serviceReportCreate(ticketId: $id) { serviceReport { id billableMinutes lines { minutes billable reason } pdfUrl } errors { code message } } }"""
EXTENDED_VIEWS = """query($c: ID!, $r: ID!) {
  serviceReport(id: $r) { id billableHours }
  serviceReports(customerId: $c) { nodes { id } }
  contracts(customerId: $c) { kind quota { monthlyMinutes } quotaStatus { balanceMinutes entries { kind minutes } } }
  assets(customerId: $c) { nodes { name technicalData { key value } } }
  assetsExpiring(customerId: $c, days: 30) { asset { name } kind on daysLeft }
  serviceStatistics(customerId: $c, fromMonth: "2026-11", toMonth: "2026-11") { tickets { month status count } billableMinutes quota { balanceMinutes } }
}"""


@pytest.fixture
def extended_data(as_user, demo, services, hanse_ticket):
    ops = Principal.of(demo.users["distributor"])
    hanse = demo.customers["hanse"].id
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(hanse, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"))),
        now=NOW,
    )
    contract_svc.book_quota_month(services.uow(), ops, contract.id, month="2026-11", now=NOW)
    report = ok(as_user("distributor")(REPORT, {"id": hanse_ticket["id"]})["serviceReportCreate"])["serviceReport"]
    query = """mutation($i: AssetCreateInput!) { assetCreate(input: $i) { asset { id } errors { code } } }"""
    ok(as_user("distributor")(query, {"i": {"customerId": hanse, "kind": "HARDWARE", "name": "Server HV01", "warrantyUntil": "2026-12-01",
                                            "technicalData": [{"key": "RAM", "value": "256 GB"}]}})["assetCreate"])
    ok(as_user("distributor")(query, {"i": {"customerId": hanse, "kind": "SOFTWARE", "name": "DATEV", "licenceExpiresOn": "2027-06-30"}})["assetCreate"])
    return {"c": hanse, "r": report["id"]}


def test_the_service_report_of_a_ticket_lists_its_time_and_has_a_pdf(as_user, extended_data, services):
    report = as_user("distributor")(EXTENDED_VIEWS, extended_data)["serviceReport"]
    assert report == {"id": extended_data["r"], "billableHours": "0.75"}
    assert services.mailer.to("it@hanse.example")[-1].attachments[0].filename == f"{extended_data['r']}.pdf"


EXTENDED_LEVEL = {"distributor": True, "hanse_it": True, "hanse_staff": False, "nordit_admin": False, "alpen_owner": False}


def test_service_reports_contracts_assets_and_statistics_need_the_extended_level(as_user, extended_data):
    for actor, sees in EXTENDED_LEVEL.items():
        data = as_user(actor)(EXTENDED_VIEWS, extended_data)
        if not sees:
            assert data == {"serviceReport": None, "serviceReports": {"nodes": []}, "contracts": [], "assets": {"nodes": []},
                            "assetsExpiring": [], "serviceStatistics": None}, actor
            continue
        assert [n["id"] for n in data["serviceReports"]["nodes"]] == [extended_data["r"]]
        (contract,) = data["contracts"]
        assert contract["quota"] == {"monthlyMinutes": 600}
        assert contract["quotaStatus"] == {"balanceMinutes": 555, "entries": [{"kind": "MONTHLY_CREDIT", "minutes": 600}, {"kind": "USAGE", "minutes": -45}]}
        assert {a["name"] for a in data["assets"]["nodes"]} == {"Server HV01", "DATEV"}
        assert data["assetsExpiring"] == [{"asset": {"name": "Server HV01"}, "kind": "WARRANTY", "on": "2026-12-01", "daysLeft": 8}]
        stats = data["serviceStatistics"]
        assert stats == {"tickets": [{"month": "2026-11", "status": "NEW", "count": 1}], "billableMinutes": 45, "quota": {"balanceMinutes": 555}}


def test_contracts_and_assets_are_managed_by_staff_only(as_user, demo):
    query = """mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { id kind rates { hourly { amount } } } errors { code field } } }"""
    variables = {"i": {"customerId": demo.customers["hanse"].id, "kind": "PREPAID_QUOTA", "startsOn": "2026-12-01", "hourlyRate": {"amount": "95.00"}}}
    assert as_user("distributor")(query, variables)["contractCreate"]["errors"] == [{"code": "INVALID_INPUT", "field": "quota"}]
    variables["i"]["quota"] = {"monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}, "overdraftAllowed": True}
    created = ok(as_user("distributor")(query, variables)["contractCreate"])["contract"]
    assert (created["kind"], created["rates"]["hourly"]["amount"]) == ("PREPAID_QUOTA", "95.00")
    assert as_user("hanse_it")(query, variables)["contractCreate"]["errors"][0]["code"] == "FORBIDDEN"


def test_a_data_centre_hosting_contract_is_created_with_its_monthly_fee(as_user, demo):
    query = """mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { kind monthlyFlatRate { amount } } errors { code field } } }"""
    variables = {"i": {"customerId": demo.customers["direkt"].id, "kind": "DATA_CENTRE_HOSTING", "startsOn": "2026-12-01", "hourlyRate": {"amount": "95.00"}}}
    assert as_user("distributor")(query, variables)["contractCreate"]["errors"] == [{"code": "INVALID_INPUT", "field": "monthlyFlatRate"}]
    variables["i"]["monthlyFlatRate"] = {"amount": "300.00"}
    created = ok(as_user("distributor")(query, variables)["contractCreate"])["contract"]
    assert created == {"kind": "DATA_CENTRE_HOSTING", "monthlyFlatRate": {"amount": "300.00"}}


def test_node_resolves_tickets_and_service_reports_only_for_those_who_may_see_them(as_user, extended_data, hanse_ticket):
    query = 'query($id: ID!) { node(id: $id) { id ... on Ticket { number } ... on ServiceReport { billableMinutes } } }'
    assert as_user("hanse_staff")(query, {"id": hanse_ticket["id"]})["node"] == {"id": hanse_ticket["id"], "number": "T-000001"}
    assert as_user("alpen_owner")(query, {"id": hanse_ticket["id"]})["node"] is None
    assert as_user("hanse_it")(query, {"id": extended_data["r"]})["node"]["billableMinutes"] == 45
    assert as_user("hanse_staff")(query, {"id": extended_data["r"]})["node"] is None
