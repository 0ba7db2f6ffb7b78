"""User administration through the API: who may create users.

The demo: NordIT's sales (customer management, FULL link) serves Hanse Logistik AG (PARTNER_PAYS), whose users are
hanse_it (EXTENDED, its only one) and hanse_staff (REPORT_ONLY).
"""

from __future__ import annotations

from infra.auth import mint_dev_token
from infra.dynamo.models import UserModel
from tests.e2e.conftest import Api

CREATE_USER = "mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id permissionLevel } errors { code field hint } } }"
SWITCH = """mutation($c: ID!, $p: ID!) { customerBillingModeSwitch(input: {customerId: $c, partnerId: $p, billingMode: CUSTOMER_PAYS}) {
  customer { partnerLinks { billingMode } } errors { code } } }"""


def hanse_user(hanse_id: str, email: str, level: str) -> dict:
    return {"input": {"organisationId": hanse_id, "email": email, "name": "Neu", "role": "CUSTOMER_USER", "permissionLevel": level}}


# --- a partner never obtains the customer's own rights through a login it makes -----------------------------


def test_a_partner_cannot_make_itself_an_extended_login_at_its_customer_and_switch_who_pays(as_user, demo, client, services):
    """The review's repro: NordIT's sales created an EXTENDED user at Hanse, and through it switched Hanse from
    PARTNER_PAYS to CUSTOMER_PAYS (refused to NordIT itself), gaining sight of Hanse's invoices."""
    hanse, nordit = demo.customers["hanse"].id, demo.partners["nordit"].id
    users_before = UserModel.count()
    made = as_user("nordit_sales")(CREATE_USER, hanse_user(hanse, "portal-hanse@nordit.example", "EXTENDED"))["userCreate"]
    assert made["user"] is None
    assert [(e["code"], e["field"]) for e in made["errors"]] == [("FORBIDDEN", "permissionLevel")]
    assert made["errors"][0]["hint"] == ("Create the login as REPORT_ONLY; an EXTENDED user of Hanse Logistik AG or the distributor "
                                         "may make it EXTENDED.")
    assert UserModel.count() == users_before
    # A REPORT_ONLY login it may make; it gives no say over who pays.
    login = as_user("nordit_sales")(CREATE_USER, hanse_user(hanse, "portal-hanse@nordit.example", "REPORT_ONLY"))["userCreate"]["user"]
    switched = Api(client, mint_dev_token(services.settings, login["id"]))(SWITCH, {"c": hanse, "p": nordit})["customerBillingModeSwitch"]
    assert switched["errors"] == [{"code": "FORBIDDEN"}]
    assert services.uow().organisations.get(hanse).link_to(nordit).billing_mode.value == "PARTNER_PAYS"
