"""Who may see and change what: every role against every kind of organisation.

Demo data: partner NordIT is linked (FULL) to customers Hanse and Kanzlei; SüdCloud to Alpen;
Direktkunde has no partner. One row per (actor, resource): visible or not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

ORGANISATION = """query($id: ID!) { node(id: $id) { id ... on Customer { name } ... on Partner { name } ... on Distributor { name } } }"""

ACTORS = ["distributor", "nordit_admin", "nordit_sales", "suedcloud_admin", "hanse_it", "hanse_staff", "kanzlei_office", "alpen_owner"]

# resource -> the actors that may read it
VISIBLE_TO = {
    ("customer", "hanse"): {"distributor", "nordit_admin", "nordit_sales", "hanse_it", "hanse_staff"},
    ("customer", "kanzlei"): {"distributor", "nordit_admin", "nordit_sales", "kanzlei_office"},
    ("customer", "alpen"): {"distributor", "suedcloud_admin", "alpen_owner"},
    ("customer", "direkt"): {"distributor"},
    ("partner", "nordit"): {"distributor", "nordit_admin", "nordit_sales"},
    ("partner", "suedcloud"): {"distributor", "suedcloud_admin"},
    ("distributor", None): {"distributor"},
}


def resource_id(demo, kind, key):
    if kind == "customer":
        return demo.customers[key].id
    if kind == "partner":
        return demo.partners[key].id
    return demo.distributor.id


@pytest.mark.parametrize("actor", ACTORS)
def test_each_actor_sees_exactly_the_organisations_it_may(as_user, demo, actor):
    api = as_user(actor)
    seen = {
        resource
        for resource in VISIBLE_TO
        if api(ORGANISATION, {"id": resource_id(demo, *resource)})["node"] is not None
    }
    expected = {resource for resource, actors in VISIBLE_TO.items() if actor in actors}
    assert seen == expected


CUSTOMERS = "{ customers(first: 100) { nodes { id } } }"


@pytest.mark.parametrize(
    "actor,expected",
    [
        ("distributor", {"hanse", "kanzlei", "alpen", "direkt"}),
        ("nordit_admin", {"hanse", "kanzlei"}),
        ("nordit_sales", {"hanse", "kanzlei"}),
        ("suedcloud_admin", {"alpen"}),
        ("hanse_it", {"hanse"}),
        ("hanse_staff", {"hanse"}),
        ("alpen_owner", {"alpen"}),
    ],
)
def test_customer_list_holds_only_visible_customers(as_user, demo, actor, expected):
    ids = {n["id"] for n in as_user(actor)(CUSTOMERS)["customers"]["nodes"]}
    assert ids == {demo.customers[k].id for k in expected}


def test_customers_see_the_partner_name_but_not_the_partner_record(as_user, demo):
    data = as_user("hanse_it")(
        "query($id: ID!) { customer(id: $id) { partnerLinks { partnerName partner { id } } } }",
        {"id": demo.customers["hanse"].id},
    )
    assert data["customer"]["partnerLinks"] == [{"partnerName": "NordIT Systemhaus GmbH", "partner": None}]


USERS = "query($org: ID!) { users(organisationId: $org, first: 50) { nodes { email } } }"


@pytest.mark.parametrize(
    "actor,org_kind,org_key,sees_users",
    [
        ("distributor", "customer", "hanse", True),
        ("nordit_admin", "customer", "hanse", True),  # FULL link
        ("nordit_admin", "customer", "alpen", False),
        ("hanse_it", "customer", "hanse", True),  # extended
        ("hanse_staff", "customer", "hanse", False),  # report only
        ("kanzlei_office", "customer", "hanse", False),
        ("nordit_admin", "partner", "nordit", True),
        ("suedcloud_admin", "partner", "nordit", False),
    ],
)
def test_user_lists_follow_the_policy(as_user, demo, actor, org_kind, org_key, sees_users):
    nodes = as_user(actor)(USERS, {"org": resource_id(demo, org_kind, org_key)})["users"]["nodes"]
    assert bool(nodes) is sees_users


UPDATE = """mutation($id: ID!) { customerUpdate(id: $id, input: {name: "Renamed GmbH"}) { customer { name } errors { code } } }"""


@pytest.mark.parametrize(
    "actor,customer,outcome",
    [
        ("distributor", "direkt", "OK"),
        ("nordit_admin", "hanse", "OK"),
        ("nordit_sales", "hanse", "OK"),  # has CUSTOMER_MANAGEMENT
        ("nordit_admin", "alpen", "NOT_FOUND"),  # not linked: existence is not revealed
        ("hanse_it", "hanse", "FORBIDDEN"),
        ("alpen_owner", "hanse", "NOT_FOUND"),
    ],
)
def test_who_may_change_a_customer(as_user, demo, actor, customer, outcome):
    result = as_user(actor)(UPDATE, {"id": demo.customers[customer].id})["customerUpdate"]
    assert (result["errors"][0]["code"] if result["errors"] else "OK") == outcome


def test_limited_access_partner_may_read_but_not_change(as_user, demo):
    link = as_user("distributor")(
        """mutation($p: ID!, $c: ID!) { partnershipAccessLevelSet(input: {partnerId: $p, customerId: $c, accessLevel: LIMITED}) {
             customer { partnerLinks { accessLevel } } errors { code } } }""",
        {"p": demo.partners["nordit"].id, "c": demo.customers["hanse"].id},
    )
    assert link["partnershipAccessLevelSet"]["customer"]["partnerLinks"] == [{"accessLevel": "LIMITED"}]
    api = as_user("nordit_admin")
    assert api(ORGANISATION, {"id": demo.customers["hanse"].id})["node"]["name"] == "Hanse Logistik AG"
    result = api(UPDATE, {"id": demo.customers["hanse"].id})["customerUpdate"]
    assert result["errors"][0]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("actor,allowed", [("distributor", True), ("nordit_admin", False), ("hanse_it", False)])
def test_only_the_distributor_creates_partners(as_user, actor, allowed):
    result = as_user(actor)(
        """mutation { partnerCreate(input: {name: "Neu GmbH", billingEmail: "a@neu.de",
             address: {street: "Weg 1", postalCode: "12345", city: "Kiel"}}) { partner { id } errors { code } } }"""
    )["partnerCreate"]
    assert (result["partner"] is not None) is allowed
    assert result["errors"] == ([] if allowed else [{"code": "FORBIDDEN"}])


# --- partner staff with fewer permissions, and limited links ---------------------------------------------------


@pytest.fixture
def nordit_staff(client, services, demo):
    """``nordit_staff("GENERAL_ACCESS", ...)`` gives an Api acting as a new NordIT staff user with exactly those permissions."""
    from domain.organisations import PartnerPermission, Role
    from domain.policy import Principal
    from domain.services import organisations as org
    from infra.auth import mint_dev_token
    from tests.conftest import NOW
    from tests.e2e.conftest import Api

    def make(*permissions: str) -> Api:
        user = org.create_user(
            services.uow(), Principal.of(demo.users["distributor"]),
            org.NewUser(demo.partners["nordit"].id, f"staff{len(permissions)}{''.join(p[0] for p in permissions)}@nordit.example",
                        "Staff", Role.PARTNER_STAFF, permissions=frozenset(PartnerPermission(p) for p in permissions)),
            now=NOW,
        )
        return Api(client, mint_dev_token(services.settings, user.id))

    return make


@pytest.fixture
def suedcloud_limited_on_hanse(as_user, demo):
    """SüdCloud gets a LIMITED (read-only) link to NordIT's customer Hanse."""
    linked = as_user("distributor")(
        """mutation($p: ID!, $c: ID!) { partnershipCreate(input: {partnerId: $p, customerId: $c, accessLevel: LIMITED,
             billingMode: CUSTOMER_PAYS}) { errors { code } } }""",
        {"p": demo.partners["suedcloud"].id, "c": demo.customers["hanse"].id},
    )
    assert linked["partnershipCreate"]["errors"] == []


SAAS_CREATE = """mutation($c: ID) { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Hafenbar KG",
  users: 7, customerId: $c}) { saasSubscription { id } errors { code } } }"""
SAAS_LIST = "{ saasSubscriptions(first: 100) { nodes { id } } }"


@pytest.mark.parametrize(
    "permissions,customer,outcome",
    [
        ((), None, "FORBIDDEN"),
        (("GENERAL_ACCESS",), None, "FORBIDDEN"),
        (("GENERAL_ACCESS",), "hanse", "FORBIDDEN"),
        (("GENERAL_ACCESS", "CUSTOMER_MANAGEMENT", "DASHBOARD"), "hanse", "FORBIDDEN"),
        (("CSP_ORDERING",), None, "FORBIDDEN"),  # every area needs general access as well
        (("GENERAL_ACCESS", "CSP_ORDERING"), None, "OK"),
        (("GENERAL_ACCESS", "CSP_ORDERING"), "hanse", "OK"),  # FULL link
        (("GENERAL_ACCESS", "CSP_ORDERING"), "alpen", "NOT_FOUND"),  # SüdCloud's customer
    ],
)
def test_selling_reseller_saas_needs_the_ordering_permission(nordit_staff, demo, permissions, customer, outcome):
    api = nordit_staff(*permissions)
    result = api(SAAS_CREATE, {"c": demo.customers[customer].id if customer else None})["saasSubscriptionCreate"]
    assert (result["errors"][0]["code"] if result["errors"] else "OK") == outcome
    assert (result["saasSubscription"] is not None) is (outcome == "OK")


def test_a_limited_partner_may_not_sell_saas_to_the_customer(as_user, demo, suedcloud_limited_on_hanse):
    api = as_user("suedcloud_admin")
    refused = api(SAAS_CREATE, {"c": demo.customers["hanse"].id})["saasSubscriptionCreate"]
    assert refused == {"saasSubscription": None, "errors": [{"code": "FORBIDDEN"}]}
    assert api(SAAS_CREATE, {"c": demo.customers["alpen"].id})["saasSubscriptionCreate"]["errors"] == []  # its FULL customer
    assert len(api(SAAS_LIST)["saasSubscriptions"]["nodes"]) == 1


SAAS_CREATE_INVITING = """mutation($c: ID) { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Hanse Logistik GmbH",
  users: 7, customerId: $c, inviteContactName: "Hannes IT", inviteEmail: "it@hanse.example"}) { saasSubscription { id } errors { code } } }"""
SAAS_CHANGES = {
    "saasSubscriptionUsersChange": "mutation($id: ID!) { saasSubscriptionUsersChange(input: {saasSubscriptionId: $id, users: 9}) { saasSubscription { id } errors { code } } }",
    "saasSubscriptionInvitationResend": "mutation($id: ID!) { saasSubscriptionInvitationResend(input: {saasSubscriptionId: $id}) { saasSubscription { id } errors { code } } }",
    "saasSubscriptionDeactivate": "mutation($id: ID!) { saasSubscriptionDeactivate(input: {saasSubscriptionId: $id}) { saasSubscription { id } errors { code } } }",
    "saasSubscriptionActivate": "mutation($id: ID!) { saasSubscriptionActivate(input: {saasSubscriptionId: $id}) { saasSubscription { id } errors { code } } }",
}


def saas_change_outcomes(api, subscription_id: str) -> dict[str, str]:
    outcomes = {}
    for field, operation in SAAS_CHANGES.items():
        result = api(operation, {"id": subscription_id})[field]
        outcomes[field] = result["errors"][0]["code"] if result["errors"] else "OK"
        assert (result["saasSubscription"] is not None) is (outcomes[field] == "OK")
    return outcomes


@pytest.mark.parametrize(
    "permissions,outcome",
    [
        ((), "NOT_FOUND"),  # without general access the partner's sales are not visible at all (as in the list)
        (("CSP_ORDERING",), "NOT_FOUND"),
        (("GENERAL_ACCESS",), "FORBIDDEN"),  # sees it, may not change what the partner is billed for
        (("GENERAL_ACCESS", "CUSTOMER_MANAGEMENT", "DASHBOARD"), "FORBIDDEN"),
        (("GENERAL_ACCESS", "CSP_ORDERING"), "OK"),
    ],
)
def test_changing_a_reseller_saas_subscription_needs_the_ordering_permission_as_selling_one(as_user, nordit_staff, demo, services,
                                                                                            permissions, outcome):
    sold = as_user("nordit_admin")(SAAS_CREATE_INVITING, {"c": demo.customers["hanse"].id})["saasSubscriptionCreate"]["saasSubscription"]["id"]
    services.mailer.sent.clear()
    assert saas_change_outcomes(nordit_staff(*permissions), sold) == dict.fromkeys(SAAS_CHANGES, outcome)
    assert len(services.mailer.to("it@hanse.example")) == (1 if outcome == "OK" else 0)


@pytest.mark.parametrize(
    "actor,outcome",
    [
        ("nordit_admin", "OK"),
        ("nordit_sales", "OK"),
        ("distributor", "FORBIDDEN"),  # sees every partner's, but the partner keeps (and is billed for) its subscriptions
        ("suedcloud_admin", "NOT_FOUND"),
        ("hanse_it", "NOT_FOUND"),  # the customer itself gets no billing access, so no say in users or status
        ("alpen_owner", "NOT_FOUND"),
    ],
)
def test_only_the_selling_partner_changes_its_saas_subscription(as_user, demo, actor, outcome):
    sold = as_user("nordit_admin")(SAAS_CREATE_INVITING, {"c": demo.customers["hanse"].id})["saasSubscriptionCreate"]["saasSubscription"]["id"]
    assert saas_change_outcomes(as_user(actor), sold) == dict.fromkeys(SAAS_CHANGES, outcome)


def test_a_partner_whose_link_became_limited_may_no_longer_change_the_customers_saas_subscription(as_user, demo):
    sold = as_user("nordit_admin")(SAAS_CREATE_INVITING, {"c": demo.customers["hanse"].id})["saasSubscriptionCreate"]["saasSubscription"]["id"]
    limited = as_user("distributor")(
        """mutation($p: ID!, $c: ID!) { partnershipAccessLevelSet(input: {partnerId: $p, customerId: $c, accessLevel: LIMITED}) { errors { code } } }""",
        {"p": demo.partners["nordit"].id, "c": demo.customers["hanse"].id},
    )
    assert limited["partnershipAccessLevelSet"]["errors"] == []
    assert saas_change_outcomes(as_user("nordit_admin"), sold) == dict.fromkeys(SAAS_CHANGES, "FORBIDDEN")


PLANNER = "{ renewalPlanner(days: 92, first: 100) { nodes { id } } }"


@pytest.mark.parametrize("permissions,sees", [((), False), (("DASHBOARD", "CSP_ORDERING"), False), (("GENERAL_ACCESS",), True)])
def test_partner_sales_lists_need_general_access(as_user, nordit_staff, clock, demo, permissions, sees):
    """Like the customer and subscription lists: staff without general access see none of the partner's sales."""
    sold = as_user("nordit_admin")(SAAS_CREATE, {"c": None})["saasSubscriptionCreate"]["saasSubscription"]["id"]
    clock.now += timedelta(days=300)  # Hanse's annual subscription renews within the planner's 92 days
    api = nordit_staff(*permissions)
    saas = [n["id"] for n in api(SAAS_LIST)["saasSubscriptions"]["nodes"]]
    planned = [n["id"] for n in api(PLANNER)["renewalPlanner"]["nodes"]]
    assert saas == ([sold] if sees else [])
    assert planned == ([demo.subscriptions["hanse_standard"].id] if sees else [])
    assert bool(api(CUSTOMERS)["customers"]["nodes"]) is sees


@pytest.mark.parametrize(
    "actor,expected",
    [
        ("distributor", {"nordit", "suedcloud"}),  # operates the platform: every partner's
        ("nordit_admin", {"nordit"}),
        ("nordit_sales", {"nordit"}),
        ("suedcloud_admin", {"suedcloud"}),
        ("hanse_it", set()),
        ("alpen_owner", set()),
    ],
)
def test_saas_subscription_list_holds_what_the_actor_may_see(as_user, actor, expected):
    sold = {
        partner: as_user(f"{partner}_admin")(SAAS_CREATE, {"c": None})["saasSubscriptionCreate"]["saasSubscription"]["id"]
        for partner in ("nordit", "suedcloud")
    }
    listed = {n["id"] for n in as_user(actor)(SAAS_LIST)["saasSubscriptions"]["nodes"]}
    assert listed == {sold[partner] for partner in expected}


def test_the_distributor_pages_through_every_saas_subscription(as_user):
    for partner in ("nordit", "suedcloud", "nordit"):
        as_user(f"{partner}_admin")(SAAS_CREATE, {"c": None})
    query = "query($after: String) { saasSubscriptions(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"
    api = as_user("distributor")
    first = api(query)["saasSubscriptions"]
    second = api(query, {"after": first["pageInfo"]["endCursor"]})["saasSubscriptions"]
    assert len(first["nodes"]) == 2 and first["pageInfo"]["hasNextPage"]
    assert len(second["nodes"]) == 1 and not second["pageInfo"]["hasNextPage"]
    assert len({n["id"] for n in first["nodes"] + second["nodes"]}) == 3


LINKS = """query($c: ID!, $s: ID!) {
  customer(id: $c) { partnerLinks { partnerId partnerName accessLevel billingMode billingModeHistory { mode } } }
  node(id: $c) { ... on Customer { partnerLinks { partnerId } } }
  customers(first: 100) { nodes { id partnerLinks { partnerId } } }
  subscription(id: $s) { customer { partnerLinks { partnerId } } } }"""


@pytest.mark.parametrize(
    "actor,sees",
    [
        ("distributor", {"nordit", "suedcloud"}),
        ("hanse_it", {"nordit", "suedcloud"}),  # the customer's own links
        ("hanse_staff", {"nordit", "suedcloud"}),
        ("nordit_admin", {"nordit"}),  # never SüdCloud's relationship with Hanse
        ("nordit_sales", {"nordit"}),
        ("suedcloud_admin", {"suedcloud"}),
        ("kanzlei_office", None),  # does not see Hanse at all
    ],
)
def test_a_partner_sees_only_its_own_link_to_a_shared_customer(as_user, demo, suedcloud_limited_on_hanse, actor, sees):
    hanse = demo.customers["hanse"].id
    data = as_user(actor)(LINKS, {"c": hanse, "s": demo.subscriptions["hanse_standard"].id})
    if sees is None:
        assert data["customer"] is None and data["node"] is None
        return
    expected = sorted(demo.partners[key].id for key in sees)
    links = data["customer"]["partnerLinks"]
    assert sorted(link["partnerId"] for link in links) == expected
    assert sorted(link["partnerId"] for link in data["node"]["partnerLinks"]) == expected
    listed = next(n for n in data["customers"]["nodes"] if n["id"] == hanse)
    assert sorted(link["partnerId"] for link in listed["partnerLinks"]) == expected
    if data["subscription"] is not None:  # NordIT's subscription: its customer shows the same links
        assert sorted(link["partnerId"] for link in data["subscription"]["customer"]["partnerLinks"]) == expected
    if actor == "suedcloud_admin":
        assert links == [{"partnerId": demo.partners["suedcloud"].id, "partnerName": "SüdCloud Solutions KG", "accessLevel": "LIMITED",
                          "billingMode": "CUSTOMER_PAYS", "billingModeHistory": [{"mode": "CUSTOMER_PAYS"}]}]


def test_a_mutation_payload_shows_a_partner_only_its_own_link(as_user, demo, suedcloud_limited_on_hanse):
    updated = as_user("nordit_admin")(
        """mutation($id: ID!) { customerUpdate(id: $id, input: {name: "Hanse Logistik SE"}) {
             customer { partnerLinks { partnerName } } errors { code } } }""",
        {"id": demo.customers["hanse"].id},
    )["customerUpdate"]
    assert updated == {"customer": {"partnerLinks": [{"partnerName": "NordIT Systemhaus GmbH"}]}, "errors": []}
