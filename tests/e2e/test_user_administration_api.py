"""User administration through the API: creating, changing the level, deactivating and reactivating users.

The demo: NordIT's sales (customer management, FULL link) serves Hanse Logistik AG (PARTNER_PAYS), whose users are
hanse_it (EXTENDED, its only one) and hanse_staff (REPORT_ONLY).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import ConcurrentUpdate
from domain.organisations import LastAdministrator, PermissionLevel, Role
from domain.policy import Principal
from domain.services import organisations as org
from infra.auth import mint_dev_token
from infra.dynamo.models import UserModel
from tests.conftest import NOW
from tests.e2e.conftest import Api

USER = "user { id active deactivatedAt permissionLevel } errors { code message field hint }"
CREATE_USER = f"mutation($input: UserCreateInput!) {{ userCreate(input: $input) {{ {USER} }} }}"
# the review's operation, with the fields the API had then (the repro test runs against the code before the fix too)
CREATE_USER_AS_BEFORE = "mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id permissionLevel } errors { code field hint } } }"
SET_LEVEL = f"mutation($u: ID!, $level: PermissionLevel!) {{ userPermissionLevelSet(input: {{userId: $u, permissionLevel: $level}}) {{ {USER} }} }}"
DEACTIVATE = f"mutation($u: ID!) {{ userDeactivate(input: {{userId: $u}}) {{ {USER} }} }}"
REACTIVATE = f"mutation($u: ID!) {{ userReactivate(input: {{userId: $u}}) {{ {USER} }} }}"
SWITCH = """mutation($c: ID!, $p: ID!) { customerBillingModeSwitch(input: {customerId: $c, partnerId: $p, billingMode: CUSTOMER_PAYS}) {
  customer { partnerLinks { billingMode } } errors { code } } }"""
ME = "{ me { user { id } } }"


def hanse_user(hanse_id: str, email: str, level: str) -> dict:
    return {"input": {"organisationId": hanse_id, "email": email, "name": "Neu", "role": "CUSTOMER_USER", "permissionLevel": level}}


def stored(services, user_id: str):
    return services.uow().users.get(user_id)


def add_user(services, demo, organisation_key: str, email: str, role: Role, level: PermissionLevel | None = None):
    organisation = (demo.customers | demo.partners)[organisation_key]
    return org.create_user(services.uow(), Principal.of(demo.users["distributor"]),
                           org.NewUser(organisation.id, email, "Zweite Person", role, permission_level=level), now=NOW)


# --- a partner never obtains the customer's own rights through a login it makes -----------------------------


def test_a_partner_cannot_make_itself_an_extended_login_at_its_customer_and_switch_who_pays(as_user, demo, client, services):
    """The review's repro: NordIT's sales created an EXTENDED user at Hanse, and through it switched Hanse from
    PARTNER_PAYS to CUSTOMER_PAYS (refused to NordIT itself), gaining sight of Hanse's invoices."""
    hanse, nordit = demo.customers["hanse"].id, demo.partners["nordit"].id
    users_before = UserModel.count()
    made = as_user("nordit_sales")(CREATE_USER_AS_BEFORE, hanse_user(hanse, "portal-hanse@nordit.example", "EXTENDED"))["userCreate"]
    assert made["user"] is None
    assert [(e["code"], e["field"]) for e in made["errors"]] == [("FORBIDDEN", "permissionLevel")]
    assert made["errors"][0]["hint"] == ("Create the login as REPORT_ONLY; an EXTENDED user of Hanse Logistik AG or the distributor "
                                         "may make it EXTENDED.")
    assert UserModel.count() == users_before
    # A REPORT_ONLY login it may make; it gives no say over who pays, and NordIT cannot promote it.
    login = as_user("nordit_sales")(CREATE_USER, hanse_user(hanse, "portal-hanse@nordit.example", "REPORT_ONLY"))["userCreate"]["user"]
    promoted = as_user("nordit_sales")(SET_LEVEL, {"u": login["id"], "level": "EXTENDED"})["userPermissionLevelSet"]
    assert promoted["user"] is None and promoted["errors"][0]["code"] == "FORBIDDEN"
    assert stored(services, login["id"]).permission_level is PermissionLevel.REPORT_ONLY
    switched = Api(client, mint_dev_token(services.settings, login["id"]))(SWITCH, {"c": hanse, "p": nordit})["customerBillingModeSwitch"]
    assert switched["errors"] == [{"code": "FORBIDDEN"}]
    assert services.uow().organisations.get(hanse).link_to(nordit).billing_mode.value == "PARTNER_PAYS"


def test_a_partner_neither_demotes_nor_deactivates_the_customers_extended_users(as_user, demo, services):
    it = demo.users["hanse_it"]
    api = as_user("nordit_sales")
    for operation, variables, field in ((SET_LEVEL, {"u": it.id, "level": "REPORT_ONLY"}, "userPermissionLevelSet"),
                                        (DEACTIVATE, {"u": it.id}, "userDeactivate"), (REACTIVATE, {"u": it.id}, "userReactivate")):
        result = api(operation, variables)[field]
        assert result["user"] is None
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("FORBIDDEN", "userId")]
        assert result["errors"][0]["hint"] == "Ask an EXTENDED user of Hanse Logistik AG or the distributor."
    assert stored(services, it.id) == replace(it, version=1)


def test_a_partner_deactivates_and_reactivates_a_report_only_user_of_its_customer(as_user, demo, client, services):
    staff = demo.users["hanse_staff"]
    left = as_user("nordit_sales")(DEACTIVATE, {"u": staff.id})["userDeactivate"]
    assert left["errors"] == [] and left["user"]["active"] is False and left["user"]["deactivatedAt"] == "2026-11-23T09:00:00+00:00"
    back = as_user("nordit_sales")(REACTIVATE, {"u": staff.id})["userReactivate"]
    assert back["errors"] == [] and back["user"] == {"id": staff.id, "active": True, "deactivatedAt": None, "permissionLevel": "REPORT_ONLY"}


# --- the customer's office manager (an EXTENDED user) runs its own users -------------------------------------


def test_the_customers_extended_user_creates_and_promotes_extended_users(as_user, demo, client, services):
    hanse, staff = demo.customers["hanse"].id, demo.users["hanse_staff"]
    api = as_user("hanse_it")
    made = api(CREATE_USER, hanse_user(hanse, "buchhaltung@hanse.example", "EXTENDED"))["userCreate"]
    assert made["errors"] == [] and made["user"]["permissionLevel"] == "EXTENDED"
    promoted = api(SET_LEVEL, {"u": staff.id, "level": "EXTENDED"})["userPermissionLevelSet"]
    assert promoted["errors"] == [] and promoted["user"]["permissionLevel"] == "EXTENDED"
    # the promotion applies from the promoted user's next request on: Hanse's invoices are its to see now
    assert Api(client, mint_dev_token(services.settings, staff.id))(SWITCH, {"c": hanse, "p": demo.partners["nordit"].id})[
        "customerBillingModeSwitch"]["errors"] == []


def test_a_report_only_user_administers_nobody(as_user, demo, services):
    result = as_user("hanse_staff")(CREATE_USER, hanse_user(demo.customers["hanse"].id, "neu@hanse.example", "REPORT_ONLY"))["userCreate"]
    assert result["errors"][0]["code"] == "FORBIDDEN"
    result = as_user("hanse_staff")(SET_LEVEL, {"u": demo.users["hanse_staff"].id, "level": "EXTENDED"})["userPermissionLevelSet"]
    assert result["errors"][0]["code"] == "FORBIDDEN"
    assert stored(services, demo.users["hanse_staff"].id).permission_level is PermissionLevel.REPORT_ONLY


def test_setting_the_level_a_user_has_changes_nothing(as_user, demo, services):
    staff = demo.users["hanse_staff"]
    result = as_user("hanse_it")(SET_LEVEL, {"u": staff.id, "level": "REPORT_ONLY"})["userPermissionLevelSet"]
    assert result["errors"] == [] and result["user"]["permissionLevel"] == "REPORT_ONLY"
    assert stored(services, staff.id).version == 1


def test_partner_staff_have_no_permission_level(as_user, demo, services):
    sales = demo.users["nordit_sales"]
    result = as_user("distributor")(SET_LEVEL, {"u": sales.id, "level": "EXTENDED"})["userPermissionLevelSet"]
    assert result["user"] is None and [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "permissionLevel")]
    assert stored(services, sales.id).permission_level is None


# --- deactivation: someone who left ------------------------------------------------------------------------


def test_a_deactivated_user_is_refused_on_its_next_request_and_back_once_reactivated(as_user, demo, client, services):
    staff = demo.users["hanse_staff"]
    token_issued_before = as_user("hanse_staff")
    assert token_issued_before(ME)["me"]["user"]["id"] == staff.id
    left = as_user("hanse_it")(DEACTIVATE, {"u": staff.id})["userDeactivate"]
    assert left["errors"] == [] and left["user"]["active"] is False
    refused = token_issued_before.post(ME)
    assert refused.status_code == 401
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and "deactivated" in error["message"]
    assert as_user("hanse_staff").post(ME).status_code == 401  # a token minted now too
    again = as_user("hanse_it")(CREATE_USER, hanse_user(demo.customers["hanse"].id, staff.email, "REPORT_ONLY"))["userCreate"]
    assert again["errors"][0]["code"] == "ALREADY_EXISTS" and "userReactivate" in again["errors"][0]["hint"]
    back = as_user("hanse_it")(REACTIVATE, {"u": staff.id})["userReactivate"]
    assert back["errors"] == [] and back["user"]["active"] is True
    assert token_issued_before(ME)["me"]["user"]["id"] == staff.id


def test_deactivating_a_deactivated_user_changes_nothing(as_user, demo, services):
    staff = demo.users["hanse_staff"]
    first = as_user("hanse_it")(DEACTIVATE, {"u": staff.id})["userDeactivate"]["user"]
    version = stored(services, staff.id).version
    second = as_user("hanse_it")(DEACTIVATE, {"u": staff.id})["userDeactivate"]
    assert second["errors"] == [] and second["user"] == first
    assert stored(services, staff.id).version == version


def test_nobody_deactivates_or_demotes_their_own_login(as_user, demo, services):
    it = demo.users["hanse_it"]
    add_user(services, demo, "hanse", "zweite@hanse.example", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)  # not the last one
    for operation, variables, field, message in (
        (DEACTIVATE, {"u": it.id}, "userDeactivate", "You cannot deactivate your own login."),
        (SET_LEVEL, {"u": it.id, "level": "REPORT_ONLY"}, "userPermissionLevelSet", "You cannot change the permission level of your own login."),
    ):
        result = as_user("hanse_it")(operation, variables)[field]
        assert result["user"] is None
        assert [(e["code"], e["message"], e["field"]) for e in result["errors"]] == [("FORBIDDEN", message, "userId")]
        assert "Ask another administrator" in result["errors"][0]["hint"]
    assert stored(services, it.id) == replace(it, version=1)


def test_the_customers_last_extended_user_is_neither_deactivated_nor_demoted(as_user, demo, services):
    it = demo.users["hanse_it"]  # Hanse's only EXTENDED user
    for operation, variables, field in ((DEACTIVATE, {"u": it.id}, "userDeactivate"),
                                        (SET_LEVEL, {"u": it.id, "level": "REPORT_ONLY"}, "userPermissionLevelSet")):
        result = as_user("distributor")(operation, variables)[field]
        assert result["user"] is None
        (error,) = result["errors"]
        assert (error["code"], error["field"]) == ("PRECONDITION_FAILED", "userId")
        assert error["message"].startswith("Hannes IT (it@hanse.example) is the last active EXTENDED user of Hanse Logistik AG")
        assert error["hint"].startswith("Make another user EXTENDED first")
    assert stored(services, it.id).active and stored(services, it.id).version == 1
    second = add_user(services, demo, "hanse", "zweite@hanse.example", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)
    assert as_user("distributor")(DEACTIVATE, {"u": it.id})["userDeactivate"]["errors"] == []
    # now the second one is the last: the one deactivated does not count
    assert as_user("distributor")(DEACTIVATE, {"u": second.id})["userDeactivate"]["errors"][0]["code"] == "PRECONDITION_FAILED"


def test_the_partners_last_admin_stays(as_user, demo, services):
    result = as_user("distributor")(DEACTIVATE, {"u": demo.users["nordit_admin"].id})["userDeactivate"]
    assert result["errors"][0]["code"] == "PRECONDITION_FAILED"
    assert "last active partner admin of NordIT Systemhaus GmbH" in result["errors"][0]["message"]
    staff = as_user("nordit_admin")(DEACTIVATE, {"u": demo.users["nordit_sales"].id})["userDeactivate"]
    assert staff["errors"] == [] and staff["user"]["active"] is False


def test_two_extended_users_deactivated_at_the_same_time_leave_one(demo, services):
    """Kanzlei has two EXTENDED users; the distributor deactivates each in two requests at the same time. Each request
    read the other user as still active; the one committing second is refused, not both carried out."""
    office = demo.users["kanzlei_office"]
    second = add_user(services, demo, "kanzlei", "partnerin@kanzlei.example", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)
    ops = Principal.of(demo.users["distributor"])
    uow = services.uow()
    read_users = uow.users.list_by_organisation
    raced = []

    def list_while_the_other_request_commits(organisation_id, **page):
        users = read_users(organisation_id, **page)
        if not raced:  # the other request deactivates the second user after this one read it as active
            raced.append(org.deactivate_user(services.uow(), ops, second.id, now=NOW))
        return users

    uow.users.list_by_organisation = list_while_the_other_request_commits
    with pytest.raises(LastAdministrator):
        org.deactivate_user(uow, ops, office.id, now=NOW)
    assert raced[0].active is False
    assert stored(services, office.id).active is True


def test_a_users_write_fails_when_the_administrator_it_rests_on_changed_meanwhile(demo, services):
    office = demo.users["kanzlei_office"]
    second = add_user(services, demo, "kanzlei", "partnerin@kanzlei.example", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)
    second_as_read = stored(services, second.id)
    uow = services.uow()
    with uow:
        uow.users.update(second_as_read.deactivated(NOW))
        uow.commit()
    with pytest.raises(ConcurrentUpdate):
        with uow:
            uow.users.update(stored(services, office.id).deactivated(NOW), unchanged=(second_as_read,))
            uow.commit()
    assert stored(services, office.id).active is True
