"""Organisations and users through GraphQL: creation, bad input, idempotency, billing-mode switch."""

from __future__ import annotations

import logging

import pytest

from infra.dynamo.models import OrganisationModel, UserModel
from tests.request_counter import count_requests

CREATE_CUSTOMER = """
mutation($input: CustomerCreateInput!, $key: String) {
  customerCreate(input: $input, idempotencyKey: $key) {
    customer { id name billingEmail partnerLinks { partnerName billingMode accessLevel }
               onboarding { branchBilling datevConsultantNumber serviceReportEmail notifyOnNewTicket
                            initialInventoryWanted existingDocumentation branches { name address { city } } } }
    errors { code field message hint }
  }
}"""


def customer_input(**overrides):
    base = {
        "name": "Nordlicht Apotheke OHG",
        "billingEmail": "buchhaltung@nordlicht.example",
        "address": {"street": "Ostweg 5", "postalCode": "24103", "city": "Kiel"},
        "onboarding": {
            "branches": [{"name": "Filiale Lübeck", "address": {"street": "Holstenstr. 2", "postalCode": "23552", "city": "Lübeck"}}],
            "branchBilling": "PER_BRANCH",
            "serviceReportEmail": "it@nordlicht.example",
            "notifyOnNewTicket": ["it@nordlicht.example"],
            "initialInventoryWanted": True,
            "existingDocumentation": True,
            "datevConsultantNumber": "45678",
        },
    }
    base.update(overrides)
    return base


def organisation_count() -> int:
    return OrganisationModel.count()  # test-only helper; the app never scans


def test_partner_creates_a_customer_with_boarding_data_and_is_linked(as_user):
    result = as_user("nordit_sales")(CREATE_CUSTOMER, {"input": customer_input()})["customerCreate"]
    assert result["errors"] == []
    customer = result["customer"]
    assert customer["partnerLinks"] == [{"partnerName": "NordIT Systemhaus GmbH", "billingMode": "PARTNER_PAYS", "accessLevel": "FULL"}]
    assert customer["onboarding"] == {
        "branchBilling": "PER_BRANCH",
        "datevConsultantNumber": "45678",
        "serviceReportEmail": "it@nordlicht.example",
        "notifyOnNewTicket": ["it@nordlicht.example"],
        "initialInventoryWanted": True,
        "existingDocumentation": True,
        "branches": [{"name": "Filiale Lübeck", "address": {"city": "Lübeck"}}],
    }
    listed = as_user("nordit_admin")("{ customers(first: 100) { nodes { id } } }")["customers"]["nodes"]
    assert {"id": customer["id"]} in listed


@pytest.mark.parametrize(
    "overrides,field,code",
    [
        ({"name": "  "}, "name", "INVALID_INPUT"),
        ({"billingEmail": "buchhaltung@"}, "billingEmail", "INVALID_INPUT"),
        ({"onboarding": {"datevConsultantNumber": "12-34"}}, "onboarding.datevConsultantNumber", "INVALID_INPUT"),
        ({"onboarding": {"serviceReportEmail": "it at nordlicht"}}, "onboarding.serviceReportEmail", "INVALID_INPUT"),
        ({"onboarding": {"notifyOnTicketStatusChange": [f"user{i}@nordlicht.example" for i in range(80)]}},
         "onboarding.notifyOnTicketStatusChange", "INVALID_INPUT"),
        ({"address": {"street": "", "postalCode": "24103", "city": "Kiel"}}, "address.street", "INVALID_INPUT"),
        ({"onboarding": {"branches": [{"name": "  ", "address": {"street": "Holstenstr. 2", "postalCode": "23552", "city": "Lübeck"}}]}},
         "onboarding.branches[0].name", "INVALID_INPUT"),
        ({"onboarding": {"branches": [{"name": "Filiale Lübeck", "address": {"street": "Holstenstr. 2", "postalCode": "23552", "city": "Lübeck"},
                                       "receivesGoods": False, "receivesServices": False}]}},
         "onboarding.branches[0]", "INVALID_INPUT"),
        ({"partnerId": "ptn_unknown"}, "partnerId", "NOT_FOUND"),
    ],
)
def test_bad_input_gets_a_typed_error_and_writes_nothing(as_user, overrides, field, code):
    before = organisation_count()
    with count_requests() as count:
        result = as_user("distributor")(CREATE_CUSTOMER, {"input": customer_input(**overrides)})["customerCreate"]
    assert result["customer"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["errors"][0]["message"]
    assert organisation_count() == before
    assert not {"PutItem", "TransactWriteItems", "UpdateItem"} & set(count.operations)


UPDATE_CUSTOMER = """
mutation($id: ID!, $input: CustomerUpdateInput!) {
  customerUpdate(id: $id, input: $input) {
    customer { onboarding { branchBilling branches { name receivesGoods receivesServices } } }
    errors { code field message hint }
  }
}"""

BREMEN = {"street": "Hafenstr. 1", "postalCode": "28195", "city": "Bremen"}


@pytest.mark.parametrize(
    "branch,field",
    [
        ({"name": "  ", "address": BREMEN}, "onboarding.branches[0].name"),
        ({"name": "Archiv Bremen", "address": BREMEN, "receivesGoods": False, "receivesServices": False}, "onboarding.branches[0]"),
    ],
    ids=["blank name", "receives neither goods nor services"],
)
def test_a_branch_without_name_or_receiving_nothing_is_refused_on_update_and_nothing_is_written(as_user, demo, branch, field):
    """Boarding records the branches that receive goods or services, each by name (Hanse: "Lager Bremen")."""
    api = as_user("distributor")
    hanse = demo.customers["hanse"].id
    with count_requests() as count:
        result = api(UPDATE_CUSTOMER, {"id": hanse, "input": {"onboarding": {"branches": [branch], "branchBilling": "PER_BRANCH"}}})
    result = result["customerUpdate"]
    assert result["customer"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", field)]
    assert not {"PutItem", "TransactWriteItems", "UpdateItem"} & set(count.operations)
    shown = api("""query($id: ID!) { customer(id: $id) { onboarding { branches { name receivesGoods receivesServices } } } }""", {"id": hanse})
    assert shown["customer"]["onboarding"]["branches"] == [{"name": "Lager Bremen", "receivesGoods": True, "receivesServices": True}]


ONBOARDING = """query($id: ID!) { customer(id: $id) { onboarding { datevConsultantNumber serviceReportEmail } } }"""


def test_an_onboarding_update_leaves_the_texts_it_omits_as_they_are_and_clears_those_set_empty(as_user, demo):
    """Hanse was boarded with service reports to it@hanse.example and DATEV consultant 1234567."""
    api = as_user("distributor")
    hanse = demo.customers["hanse"].id
    result = api(UPDATE_CUSTOMER, {"id": hanse, "input": {"onboarding": {"branchBilling": "PER_BRANCH",
                 "branches": [{"name": "Lager Bremen", "address": BREMEN}]}}})["customerUpdate"]
    assert result["errors"] == []
    shown = api(ONBOARDING, {"id": hanse})["customer"]["onboarding"]
    assert shown == {"datevConsultantNumber": "1234567", "serviceReportEmail": "it@hanse.example"}
    api(UPDATE_CUSTOMER, {"id": hanse, "input": {"onboarding": {"datevConsultantNumber": "", "serviceReportEmail": "",
        "branchBilling": "PER_BRANCH", "branches": [{"name": "Lager Bremen", "address": BREMEN}]}}})
    assert api(ONBOARDING, {"id": hanse})["customer"]["onboarding"] == {"datevConsultantNumber": None, "serviceReportEmail": None}


FULL_ONBOARDING = """query($id: ID!) { customer(id: $id) { onboarding { branchBilling datevConsultantNumber serviceReportEmail
  notifyOnNewTicket notifyOnTicketStatusChange initialInventoryWanted existingDocumentation branches { name } } } }"""

HANSE_BOARDED = {  # infra/demo.py
    "branchBilling": "PER_BRANCH", "datevConsultantNumber": "1234567", "serviceReportEmail": "it@hanse.example",
    "notifyOnNewTicket": ["it@hanse.example"], "notifyOnTicketStatusChange": ["it@hanse.example"],
    "initialInventoryWanted": True, "existingDocumentation": False, "branches": [{"name": "Lager Bremen"}],
}


def test_changing_one_onboarding_field_keeps_the_branches_and_the_contacts(as_user, demo):
    api = as_user("nordit_admin")  # the partner maintaining its customer
    hanse = demo.customers["hanse"].id
    result = api(UPDATE_CUSTOMER, {"id": hanse, "input": {"onboarding": {"datevConsultantNumber": "4711"}}})["customerUpdate"]
    assert result["errors"] == []
    assert api(FULL_ONBOARDING, {"id": hanse})["customer"]["onboarding"] == {**HANSE_BOARDED, "datevConsultantNumber": "4711"}
    api(UPDATE_CUSTOMER, {"id": hanse, "input": {"name": "Hanse Logistik SE", "onboarding": {"notifyOnNewTicket": [], "existingDocumentation": None}}})
    assert api(FULL_ONBOARDING, {"id": hanse})["customer"]["onboarding"] == {
        **HANSE_BOARDED, "datevConsultantNumber": "4711", "notifyOnNewTicket": []}  # [] clears, null keeps


def test_a_new_customer_gets_the_defaults_for_the_onboarding_fields_it_leaves_out(as_user):
    result = as_user("nordit_sales")(CREATE_CUSTOMER, {"input": customer_input(onboarding={"datevConsultantNumber": "45678"})})
    onboarding = result["customerCreate"]["customer"]["onboarding"]
    assert onboarding == {"branchBilling": "CENTRAL", "datevConsultantNumber": "45678", "serviceReportEmail": None, "notifyOnNewTicket": [],
                          "initialInventoryWanted": False, "existingDocumentation": False, "branches": []}


def test_unknown_customer_id_is_a_typed_not_found(as_user):
    result = as_user("distributor")(
        """mutation { customerUpdate(id: "cus_nope", input: {name: "X"}) { customer { id } errors { code field } } }"""
    )["customerUpdate"]
    assert result == {"customer": None, "errors": [{"code": "NOT_FOUND", "field": "id"}]}


def test_retry_with_same_idempotency_key_returns_the_first_customer_and_writes_nothing(as_user):
    api = as_user("nordit_admin")
    first = api(CREATE_CUSTOMER, {"input": customer_input(), "key": "order-42"})["customerCreate"]["customer"]
    before = organisation_count()
    with count_requests() as count:
        again = api(CREATE_CUSTOMER, {"input": customer_input(), "key": "order-42"})["customerCreate"]
    assert again["errors"] == [] and again["customer"]["id"] == first["id"]
    assert organisation_count() == before
    assert not {"PutItem", "TransactWriteItems", "UpdateItem"} & set(count.operations)


def test_same_idempotency_key_with_other_input_is_refused(as_user):
    api = as_user("nordit_admin")
    api(CREATE_CUSTOMER, {"input": customer_input(), "key": "order-43"})
    before = organisation_count()
    result = api(CREATE_CUSTOMER, {"input": customer_input(name="Anderer Name GmbH"), "key": "order-43"})["customerCreate"]
    assert result["customer"] is None
    assert result["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED" and result["errors"][0]["field"] == "idempotencyKey"
    assert organisation_count() == before


def test_idempotency_keys_are_scoped_to_the_organisation(as_user):
    one = as_user("nordit_admin")(CREATE_CUSTOMER, {"input": customer_input(), "key": "same-key"})["customerCreate"]["customer"]
    other = as_user("suedcloud_admin")(CREATE_CUSTOMER, {"input": customer_input(), "key": "same-key"})["customerCreate"]["customer"]
    assert one["id"] != other["id"]


CREATE_USER = """mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id email role permissionLevel } errors { code field } } }"""


def test_user_e_mail_addresses_are_unique(as_user, demo):
    before = UserModel.count()
    result = as_user("distributor")(
        CREATE_USER,
        {"input": {"organisationId": demo.customers["hanse"].id, "email": "it@hanse.example", "name": "Dup", "role": "CUSTOMER_USER", "permissionLevel": "REPORT_ONLY"}},
    )["userCreate"]
    assert result["errors"] == [{"code": "ALREADY_EXISTS", "field": "email"}]
    assert UserModel.count() == before


def test_partner_admin_adds_a_report_only_user_to_a_linked_customer(as_user, demo):
    result = as_user("nordit_admin")(
        CREATE_USER,
        {"input": {"organisationId": demo.customers["hanse"].id, "email": "lager@hanse.example", "name": "Lars Lager",
                   "role": "CUSTOMER_USER", "permissionLevel": "REPORT_ONLY"}},
    )["userCreate"]
    assert result["errors"] == []
    assert result["user"]["permissionLevel"] == "REPORT_ONLY"


SWITCH = """mutation($c: ID!, $p: ID!, $mode: BillingMode!) {
  customerBillingModeSwitch(input: {customerId: $c, partnerId: $p, billingMode: $mode}) {
    partnerNotified customer { partnerLinks { billingMode billingModeHistory { mode } } } errors { code } } }"""


def test_customer_switches_billing_mode_and_the_partner_is_e_mailed(as_user, demo, services):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    result = as_user("hanse_it")(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})["customerBillingModeSwitch"]
    assert result["errors"] == [] and result["partnerNotified"] is True
    assert result["customer"]["partnerLinks"][0]["billingMode"] == "CUSTOMER_PAYS"
    assert [h["mode"] for h in result["customer"]["partnerLinks"][0]["billingModeHistory"]] == ["PARTNER_PAYS", "CUSTOMER_PAYS"]
    mails = services.mailer.to("billing@nordit.example")
    assert len(mails) == 1 and "Hanse Logistik AG" in mails[0].subject


def test_switching_to_the_current_mode_sends_no_e_mail(as_user, demo, services):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    result = as_user("hanse_it")(SWITCH, {**ids, "mode": "PARTNER_PAYS"})["customerBillingModeSwitch"]
    assert result["partnerNotified"] is False and services.mailer.sent == []


def test_a_failing_partner_notice_keeps_the_switch_and_is_recorded_on_it(as_user, demo, services, failing_mailer, caplog):
    """The notice is sent after the switch is stored: a refusing mail service leaves the switch in place, answers
    without an error and records the failed notice on the switch (it answered "Unexpected error", so a client would
    retry a switch that had been made)."""
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    with caplog.at_level(logging.ERROR):
        body = as_user("hanse_it").post(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"}).json()
    assert "errors" not in body, body["errors"]
    result = body["data"]["customerBillingModeSwitch"]
    assert result["errors"] == [] and result["partnerNotified"] is False
    assert result["customer"]["partnerLinks"][0]["billingMode"] == "CUSTOMER_PAYS"
    shown = as_user("distributor")(
        "query($c: ID!) { customer(id: $c) { partnerLinks { billingMode billingModeHistory { mode partnerNoticeFailed } } } }", ids,
    )["customer"]["partnerLinks"][0]
    assert shown == {"billingMode": "CUSTOMER_PAYS", "billingModeHistory": [
        {"mode": "PARTNER_PAYS", "partnerNoticeFailed": False}, {"mode": "CUSTOMER_PAYS", "partnerNoticeFailed": True}]}
    [logged] = [r.getMessage() for r in caplog.records if "billing mode" in r.getMessage()]
    assert ids["p"] in logged and "billing@nordit.example" in logged and ids["c"] in logged and "CUSTOMER_PAYS" in logged


RESEND = """mutation($c: ID!, $p: ID!) { customerBillingModeNoticeResend(input: {customerId: $c, partnerId: $p}) {
  partnerNotified customer { partnerLinks { billingModeHistory { mode partnerNoticeFailed } } } errors { code field message hint } } }"""


def test_a_failed_partner_notice_is_re_sent_on_request_and_then_no_longer_marked(as_user, demo, services, failing_mailer, caplog, clock):
    """Hanse switches to CUSTOMER_PAYS on 2026-11-23 09:00 UTC and the mail service refuses the notice; NordIT (the
    reseller) asks for it again: refused again while the mail service still refuses, sent once it accepts."""
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    as_user("hanse_it")(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})
    nordit = as_user("nordit_admin")
    with caplog.at_level(logging.ERROR):
        again = nordit(RESEND, ids)["customerBillingModeNoticeResend"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("DELIVERY_FAILED", "partnerId")]
    assert "billing@nordit.example" in again["errors"][0]["message"] and "Try again later" in again["errors"][0]["hint"]
    assert again["partnerNotified"] is False
    assert again["customer"]["partnerLinks"][0]["billingModeHistory"][-1] == {"mode": "CUSTOMER_PAYS", "partnerNoticeFailed": True}

    failing_mailer.restore()
    clock.now = clock.now.replace(hour=15)  # the notice names the switch as made, not the time it is sent again
    sent = nordit(RESEND, ids)["customerBillingModeNoticeResend"]
    assert sent["errors"] == [] and sent["partnerNotified"] is True
    assert sent["customer"]["partnerLinks"][0]["billingModeHistory"] == [
        {"mode": "PARTNER_PAYS", "partnerNoticeFailed": False}, {"mode": "CUSTOMER_PAYS", "partnerNoticeFailed": False}]
    (mail,) = services.mailer.to("billing@nordit.example")
    assert mail.subject == "Billing mode changed for Hanse Logistik AG" and "on 2026-11-23 09:00 UTC" in mail.body
    assert "From now on the customer will be invoiced" in mail.body

    nothing = nordit(RESEND, ids)["customerBillingModeNoticeResend"]  # sent: nothing left to re-send
    assert [(e["code"], e["field"]) for e in nothing["errors"]] == [("PRECONDITION_FAILED", "partnerId")]
    assert nothing["customer"] is None and len(services.mailer.to("billing@nordit.example")) == 1


def test_a_notice_that_went_out_or_a_link_never_switched_has_nothing_to_re_send(as_user, demo, services):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    never = as_user("hanse_it")(RESEND, ids)["customerBillingModeNoticeResend"]
    assert [(e["code"], e["field"]) for e in never["errors"]] == [("PRECONDITION_FAILED", "partnerId")] and "never switched" in never["errors"][0]["message"]
    as_user("hanse_it")(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})
    services.mailer.sent.clear()
    went_out = as_user("distributor")(RESEND, ids)["customerBillingModeNoticeResend"]
    assert [(e["code"], e["field"]) for e in went_out["errors"]] == [("PRECONDITION_FAILED", "partnerId")]
    assert services.mailer.sent == []


@pytest.mark.parametrize("actor,code", [("hanse_staff", "FORBIDDEN"), ("suedcloud_admin", "NOT_FOUND"), ("kanzlei_office", "NOT_FOUND")])
def test_only_who_may_switch_and_the_partner_notified_may_have_a_notice_re_sent(as_user, demo, services, failing_mailer, actor, code):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    as_user("hanse_it")(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})
    failing_mailer.restore()
    refused = as_user(actor)(RESEND, ids)["customerBillingModeNoticeResend"]
    assert [e["code"] for e in refused["errors"]] == [code] and services.mailer.sent == []
    assert as_user("hanse_it")(RESEND, ids)["customerBillingModeNoticeResend"]["partnerNotified"] is True


def test_a_notice_that_went_out_is_not_marked_failed(as_user, demo):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    as_user("hanse_it")(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})
    shown = as_user("distributor")("query($c: ID!) { customer(id: $c) { partnerLinks { billingModeHistory { partnerNoticeFailed } } } }", ids)
    assert shown["customer"]["partnerLinks"][0]["billingModeHistory"] == [{"partnerNoticeFailed": False}] * 2


@pytest.mark.parametrize("actor,code", [("hanse_staff", "FORBIDDEN"), ("nordit_admin", "FORBIDDEN"), ("alpen_owner", "NOT_FOUND")])
def test_only_extended_customer_users_or_the_distributor_switch_billing_mode(as_user, demo, services, actor, code):
    ids = {"c": demo.customers["hanse"].id, "p": demo.partners["nordit"].id}
    result = as_user(actor)(SWITCH, {**ids, "mode": "CUSTOMER_PAYS"})["customerBillingModeSwitch"]
    assert [e["code"] for e in result["errors"]] == [code] and services.mailer.sent == []


MS_IDS = """mutation($p: ID!, $mpn: String!) { partnerMicrosoftIdsSet(input: {partnerId: $p, microsoftPartnerNetworkId: $mpn, microsoftId: "ms-1"}) {
  partner { microsoftPartnerNetworkId } errors { code field } } }"""


def test_partner_enters_microsoft_ids_once_then_only_the_distributor_changes_them(as_user, demo):
    partner_id = demo.partners["suedcloud"].id
    first = as_user("suedcloud_admin")(MS_IDS, {"p": partner_id, "mpn": "1234567"})["partnerMicrosoftIdsSet"]
    assert first == {"partner": {"microsoftPartnerNetworkId": "1234567"}, "errors": []}
    second = as_user("suedcloud_admin")(MS_IDS, {"p": partner_id, "mpn": "7654321"})["partnerMicrosoftIdsSet"]
    assert second["errors"] == [{"code": "FORBIDDEN", "field": None}]
    by_distributor = as_user("distributor")(MS_IDS, {"p": partner_id, "mpn": "7654321"})["partnerMicrosoftIdsSet"]
    assert by_distributor["partner"]["microsoftPartnerNetworkId"] == "7654321"


def test_customer_list_is_paginated_with_cursors(as_user):
    api = as_user("distributor")
    seen, after = [], None
    while True:
        page = api("query($after: String) { customers(first: 3, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }", {"after": after})["customers"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 4


def test_a_forged_cursor_is_a_clear_error(as_user):
    response = as_user("distributor").post('{ customers(after: "not-a-cursor") { nodes { id } } }')
    body = response.json()
    assert body["data"] is None
    assert "cursor is not valid" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "after", "hint": "Pass an endCursor from a previous page."}


def test_page_size_is_capped_at_100(as_user):
    body = as_user("distributor").post("{ customers(first: 101) { nodes { id } } }").json()
    assert "between 1 and 100" in body["errors"][0]["message"]
