"""The credential store through GraphQL: staff record, customers see labels and ask, staff decide, reveals are recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import NOW

CREATE = """mutation($input: CredentialCreateInput!) { credentialCreate(input: $input) {
  credential { id label system accessRequests { userId } } errors { code field message } } }"""
LIST = """query($c: ID!) { credentials(customerId: $c) { nodes { id label system createdAt myAccess { status }
  accessRequests { userId status } } } }"""
REVEAL = "mutation($id: ID!) { credentialReveal(credentialId: $id) { secret { label username password note revealedAt } errors { code hint } } }"
REQUEST = 'mutation($id: ID!) { credentialAccessRequest(credentialId: $id, reason: "Update am Samstag") { credential { myAccess { status reason } } errors { code } } }'
GRANT = "mutation($id: ID!, $u: ID!) { credentialAccessGrant(credentialId: $id, userId: $u) { credential { accessRequests { userId status } } errors { code message } } }"
REVOKE = "mutation($id: ID!, $u: ID!) { credentialAccessRevoke(credentialId: $id, userId: $u) { credential { id } errors { code } } }"
UPDATE = "mutation($input: CredentialUpdateInput!) { credentialUpdate(input: $input) { credential { label system } errors { code field } } }"
AUDIT = "query($id: ID!) { credentialAudit(credentialId: $id) { nodes { kind byUserId subjectUserId detail at } } }"
PASSWORD = "Fw!Hanse-2026"


@pytest.fixture(autouse=True)
def key(services):
    from infra.secrets import create_credentials_key

    create_credentials_key(services.settings)


@pytest.fixture
def firewall(as_user, demo) -> str:
    data = as_user("distributor")(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "label": "Firewall admin", "password": PASSWORD,
                                                     "system": "https://fw.hanse.example", "username": "admin", "note": "Sophos"}})
    payload = data["credentialCreate"]
    assert payload["errors"] == [] and payload["credential"]["system"] == "https://fw.hanse.example"
    return payload["credential"]["id"]


def test_extended_customer_users_see_the_label_only_and_partners_nothing(as_user, demo, firewall):
    hanse = demo.customers["hanse"].id
    (staff_view,) = as_user("distributor")(LIST, {"c": hanse})["credentials"]["nodes"]
    assert staff_view["system"] == "https://fw.hanse.example"
    (customer_view,) = as_user("hanse_it")(LIST, {"c": hanse})["credentials"]["nodes"]
    assert customer_view == {"id": firewall, "label": "Firewall admin", "system": None, "createdAt": None,
                             "myAccess": None, "accessRequests": []}
    assert as_user("nordit_admin")(LIST, {"c": hanse})["credentials"]["nodes"] == []
    assert as_user("nordit_admin")(REVEAL, {"id": firewall})["credentialReveal"]["errors"][0]["code"] == "NOT_FOUND"


def test_no_list_or_query_carries_the_password_user_name_or_note(as_user, demo, firewall):
    as_user("hanse_it")(REQUEST, {"id": firewall})
    staff = as_user("distributor")
    answers = [staff(LIST, {"c": demo.customers["hanse"].id}), staff(AUDIT, {"id": firewall}),
               staff("query($id: ID!) { credential(id: $id) { id label system } }", {"id": firewall}),
               staff("{ credentialsAwaitingAccessDecision { nodes { id label accessRequests { userId reason } } } }")]
    assert answers[3]["credentialsAwaitingAccessDecision"]["nodes"][0]["id"] == firewall
    for field in ("username", "note"):  # no longer fields of Credential: only credentialReveal returns them
        refused = staff.post(f"query($id: ID!) {{ credential(id: $id) {{ {field} }} }}", {"id": firewall}).json()
        assert "Cannot query field" in refused["errors"][0]["message"]
    assert PASSWORD not in json.dumps(answers) and "Sophos" not in json.dumps(answers)


def test_a_customer_user_asks_is_granted_reveals_and_the_reveal_is_in_the_audit(as_user, demo, clock, firewall):
    hannes, staff = as_user("hanse_it"), as_user("distributor")
    refused = hannes(REVEAL, {"id": firewall})["credentialReveal"]
    assert (refused["secret"], refused["errors"][0]["code"]) == (None, "FORBIDDEN")
    assert "credentialAccessRequest" in refused["errors"][0]["hint"]
    clock.now = NOW + timedelta(minutes=5)
    assert hannes(REQUEST, {"id": firewall})["credentialAccessRequest"]["credential"]["myAccess"] == {"status": "PENDING", "reason": "Update am Samstag"}
    assert hannes(REQUEST, {"id": firewall})["credentialAccessRequest"]["errors"] == [{"code": "CONFLICT"}]
    clock.now = NOW + timedelta(minutes=20)
    user_id = demo.users["hanse_it"].id
    granted = staff(GRANT, {"id": firewall, "u": user_id})["credentialAccessGrant"]
    assert granted["credential"]["accessRequests"] == [{"userId": user_id, "status": "GRANTED"}]
    again = staff(GRANT, {"id": firewall, "u": user_id})["credentialAccessGrant"]
    assert again["errors"][0]["code"] == "CONFLICT" and "GRANTED, not PENDING" in again["errors"][0]["message"]
    clock.now = NOW + timedelta(hours=1)
    secret = hannes(REVEAL, {"id": firewall})["credentialReveal"]["secret"]
    assert secret == {"label": "Firewall admin", "username": "admin", "password": PASSWORD, "note": "Sophos",
                      "revealedAt": "2026-11-23T10:00:00+00:00"}
    clock.now = NOW + timedelta(hours=2)
    assert staff(REVOKE, {"id": firewall, "u": user_id})["credentialAccessRevoke"]["errors"] == []
    assert hannes(REVEAL, {"id": firewall})["credentialReveal"]["errors"][0]["code"] == "FORBIDDEN"
    trail = staff(AUDIT, {"id": firewall})["credentialAudit"]["nodes"]
    assert [(e["kind"], e["byUserId"], e["at"]) for e in trail] == [
        ("ACCESS_REVOKED", demo.users["distributor"].id, "2026-11-23T11:00:00+00:00"),
        ("REVEALED", user_id, "2026-11-23T10:00:00+00:00"),
        ("ACCESS_GRANTED", demo.users["distributor"].id, "2026-11-23T09:20:00+00:00"),
        ("ACCESS_REQUESTED", user_id, "2026-11-23T09:05:00+00:00"),
        ("CREATED", demo.users["distributor"].id, "2026-11-23T09:00:00+00:00"),
    ]
    assert hannes(AUDIT, {"id": firewall})["credentialAudit"]["nodes"] == []


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"label": ""}, "INVALID_INPUT", "label"),
    ({"password": ""}, "INVALID_INPUT", "password"),
    ({"password": "x" * 4097}, "INVALID_INPUT", "password"),
    ({"username": "u" * 201}, "INVALID_INPUT", "username"),
])
def test_bad_input_is_a_typed_error_and_changes_nothing(as_user, demo, firewall, changes, code, field):
    staff = as_user("distributor")
    before = staff(LIST, {"c": demo.customers["hanse"].id})
    payload = staff(UPDATE, {"input": {"credentialId": firewall, **changes}})["credentialUpdate"]
    assert (payload["credential"], payload["errors"]) == (None, [{"code": code, "field": field}])
    assert staff(LIST, {"c": demo.customers["hanse"].id}) == before
    assert [e["kind"] for e in staff(AUDIT, {"id": firewall})["credentialAudit"]["nodes"]] == ["CREATED"]


def test_customers_and_partners_cannot_record_credentials(as_user, demo):
    for actor in ("hanse_it", "nordit_sales"):
        payload = as_user(actor)(CREATE, {"input": {"customerId": demo.customers["hanse"].id, "label": "Hintertür", "password": "x"}})
        assert payload["credentialCreate"]["errors"][0]["code"] == "FORBIDDEN"


USER_CREATE = """mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id permissionLevel } errors { code } } }"""
REQUESTERS = """query($id: ID!) { credential(id: $id) { accessRequests { userId status reason
  requester { name email permissionLevel active } } } }"""


def test_a_report_only_login_a_partner_creates_sees_nothing_and_cannot_ask(as_user, client, services, demo, firewall):
    """Repro: nordit_sales (partner staff) creates a REPORT_ONLY user of Hanse with an address NordIT controls; that login
    listed the labels, asked for access and, once staff granted, revealed the password. Now it sees nothing of the store."""
    from infra.auth import mint_dev_token
    from tests.e2e.conftest import Api

    hanse = demo.customers["hanse"].id
    made = as_user("nordit_sales")(USER_CREATE, {"input": {"organisationId": hanse, "email": "hanse-portal@nordit.example",
                                                           "name": "Portal Hanse", "role": "CUSTOMER_USER",
                                                           "permissionLevel": "REPORT_ONLY"}})["userCreate"]
    assert made["errors"] == [] and made["user"]["permissionLevel"] == "REPORT_ONLY"
    mole = Api(client, mint_dev_token(services.settings, made["user"]["id"]))
    assert mole(LIST, {"c": hanse})["credentials"]["nodes"] == []
    assert mole("query($id: ID!) { credential(id: $id) { id label } }", {"id": firewall})["credential"] is None
    assert mole(REQUEST, {"id": firewall})["credentialAccessRequest"]["errors"] == [{"code": "NOT_FOUND"}]
    assert mole(REVEAL, {"id": firewall})["credentialReveal"]["errors"][0]["code"] == "NOT_FOUND"
    assert as_user("hanse_staff")(LIST, {"c": hanse})["credentials"]["nodes"] == []  # Hanse's own REPORT_ONLY users neither
    assert as_user("distributor")(REQUESTERS, {"id": firewall})["credential"]["accessRequests"] == []


def test_staff_see_who_asked_name_e_mail_and_level(as_user, demo, firewall):
    as_user("hanse_it")(REQUEST, {"id": firewall})
    (request,) = as_user("distributor")(REQUESTERS, {"id": firewall})["credential"]["accessRequests"]
    assert request == {"userId": demo.users["hanse_it"].id, "status": "PENDING", "reason": "Update am Samstag",
                       "requester": {"name": "Hannes IT", "email": demo.users["hanse_it"].email, "permissionLevel": "EXTENDED",
                                     "active": True}}
    mine = as_user("hanse_it")("query($id: ID!) { credential(id: $id) { myAccess { status requester { name } } accessRequests { userId } } }",
                               {"id": firewall})["credential"]
    assert mine == {"myAccess": {"status": "PENDING", "requester": None}, "accessRequests": []}


SET_LEVEL = "mutation($u: ID!, $l: PermissionLevel!) { userPermissionLevelSet(input: {userId: $u, permissionLevel: $l}) { errors { code } } }"
DEACTIVATE = "mutation($u: ID!) { userDeactivate(input: {userId: $u}) { errors { code } } }"
REACTIVATE = "mutation($u: ID!) { userReactivate(input: {userId: $u}) { errors { code } } }"
IN_FORCE = "query($id: ID!) { credential(id: $id) { accessRequests { userId status inForce } } }"


def granted_to_hilde(as_user, demo, clock, firewall) -> str:
    """Hilde (Hanse, REPORT_ONLY in the demo) made EXTENDED by Hannes, asks on 2026-11-23 09:10, granted at 09:20."""
    hilde = demo.users["hanse_staff"].id
    assert as_user("hanse_it")(SET_LEVEL, {"u": hilde, "l": "EXTENDED"})["userPermissionLevelSet"]["errors"] == []
    clock.now = NOW + timedelta(minutes=10)
    assert as_user("hanse_staff")(REQUEST, {"id": firewall})["credentialAccessRequest"]["errors"] == []
    clock.now = NOW + timedelta(minutes=20)
    assert as_user("distributor")(GRANT, {"id": firewall, "u": hilde})["credentialAccessGrant"]["errors"] == []
    clock.now = NOW + timedelta(minutes=30)
    assert as_user("hanse_staff")(REVEAL, {"id": firewall})["credentialReveal"]["secret"]["password"] == PASSWORD
    return hilde


def test_a_grant_does_not_outlive_a_deactivation(as_user, demo, clock, firewall):
    """Repro: granted, deactivated (userDeactivate), reactivated (userReactivate) on 2026-11-24: the reveal worked again."""
    hilde, staff = granted_to_hilde(as_user, demo, clock, firewall), as_user("distributor")
    clock.now = NOW + timedelta(days=1)
    assert staff(DEACTIVATE, {"u": hilde})["userDeactivate"]["errors"] == []
    clock.now = NOW + timedelta(days=1, hours=1)
    assert staff(REACTIVATE, {"u": hilde})["userReactivate"]["errors"] == []
    refused = as_user("hanse_staff")(REVEAL, {"id": firewall})["credentialReveal"]
    assert (refused["secret"], refused["errors"][0]["code"]) == (None, "FORBIDDEN")
    assert staff(IN_FORCE, {"id": firewall})["credential"]["accessRequests"] == [{"userId": hilde, "status": "GRANTED", "inForce": False}]
    # she asks again and staff decide again
    assert as_user("hanse_staff")(REQUEST, {"id": firewall})["credentialAccessRequest"]["errors"] == []
    clock.now = NOW + timedelta(days=1, hours=2)
    assert staff(GRANT, {"id": firewall, "u": hilde})["credentialAccessGrant"]["errors"] == []
    assert as_user("hanse_staff")(REVEAL, {"id": firewall})["credentialReveal"]["secret"]["password"] == PASSWORD


def test_a_grant_does_not_outlive_a_level_change(as_user, demo, clock, firewall):
    """Repro: a user made REPORT_ONLY kept the grant (and made EXTENDED again, used it)."""
    hilde, staff = granted_to_hilde(as_user, demo, clock, firewall), as_user("distributor")
    clock.now = NOW + timedelta(days=1)
    assert as_user("hanse_it")(SET_LEVEL, {"u": hilde, "l": "REPORT_ONLY"})["userPermissionLevelSet"]["errors"] == []
    assert as_user("hanse_staff")(REVEAL, {"id": firewall})["credentialReveal"]["errors"][0]["code"] == "NOT_FOUND"
    clock.now = NOW + timedelta(days=2)
    assert as_user("hanse_it")(SET_LEVEL, {"u": hilde, "l": "EXTENDED"})["userPermissionLevelSet"]["errors"] == []
    assert as_user("hanse_staff")(REVEAL, {"id": firewall})["credentialReveal"]["errors"][0]["code"] == "FORBIDDEN"
    assert staff(IN_FORCE, {"id": firewall})["credential"]["accessRequests"] == [{"userId": hilde, "status": "GRANTED", "inForce": False}]


def test_staff_cannot_grant_a_user_no_longer_extended(as_user, demo, clock, firewall):
    as_user("hanse_it")(REQUEST, {"id": firewall})
    hilde = demo.users["hanse_staff"].id
    as_user("hanse_it")(SET_LEVEL, {"u": hilde, "l": "EXTENDED"})
    as_user("hanse_staff")(REQUEST, {"id": firewall})
    as_user("hanse_it")(SET_LEVEL, {"u": hilde, "l": "REPORT_ONLY"})
    refused = as_user("distributor")(GRANT, {"id": firewall, "u": hilde})["credentialAccessGrant"]
    assert refused["errors"][0]["code"] == "CONFLICT" and "REPORT_ONLY" in refused["errors"][0]["message"]


def as_json(api, query: str, variables: dict) -> dict:
    """Posted as a client sends it: JSON with \\u escapes (httpx would refuse to encode an unpaired surrogate)."""
    response = api.client.post("/graphql", content=json.dumps({"query": query, "variables": variables}),
                               headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def test_a_broken_password_is_a_typed_error_that_never_repeats_it_not_even_in_the_log(as_user, demo, caplog):
    """Repro: JSON "Geheim\ud83dPass" (an unpaired surrogate) gave "Unexpected error" and the logged traceback named the code
    unit and its position in the password."""
    import logging

    caplog.set_level(logging.DEBUG)
    staff = as_user("distributor")
    payload = as_json(staff, CREATE, {"input": {"customerId": demo.customers["hanse"].id, "label": "WLAN", "password": "Geheim\ud83dPass"}})
    assert payload["credentialCreate"] == {"credential": None, "errors": [
        {"code": "INVALID_INPUT", "field": "password",
         "message": "The password contains an unpaired surrogate, which is no character and cannot be stored."}]}
    logged = caplog.text.lower()
    assert "geheim" not in logged and "d83d" not in logged and "position" not in logged and "traceback" not in logged


@pytest.mark.parametrize(("label", "code_point"), [("WLAN\ud83d", "U+D83D"), ("WLAN\u202eNALW", "U+202E"), ("WLAN\x00", "U+0000")])
def test_a_broken_label_is_refused_before_anything_is_encrypted(as_user, demo, services, label, code_point):
    """Repro: an unpaired surrogate in the label gave a misleading CONFLICT after KMS had encrypted the password."""
    calls = []
    encrypt = services.secrets.encrypt
    services.secrets.encrypt = lambda *args, **kwargs: calls.append(1) or encrypt(*args, **kwargs)
    payload = as_json(as_user("distributor"), CREATE, {"input": {"customerId": demo.customers["hanse"].id, "label": label, "password": "x"}})
    (error,) = payload["credentialCreate"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "label") and code_point in error["message"]
    assert calls == []
    assert as_user("distributor")(LIST, {"c": demo.customers["hanse"].id})["credentials"]["nodes"] == []
