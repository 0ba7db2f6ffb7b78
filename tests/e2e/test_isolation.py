"""Tenant isolation: every query and mutation, as every demo role, against another organisation's objects, finds nothing.

PROBES holds one operation per field of Query and Mutation, aimed at the objects of an organisation
the actor has nothing to do with (FOREIGN). The first test compares PROBES with the schema, so a new
field fails it until it gets a probe. The second runs every probe as every actor and checks that
  - no foreign id appears in the answer's data (queries find null, empty lists or an error),
  - every mutation is refused with NOT_FOUND or FORBIDDEN (existence is not revealed),
  - the foreign objects are unchanged afterwards.
The distributor operates the platform and sees every organisation by design (see test_access_control.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.conftest import NOW

REFUSALS = {"NOT_FOUND", "FORBIDDEN"}

# Mutations that may succeed for some actors because they create the actor's own object, never a foreign one.
OWN_OBJECT_ONLY = {
    "customerCreate": "a partner creates its own customer; partnerId is the distributor's choice and ignored for partners",
}


@dataclass(frozen=True)
class Foreign:
    """Keys (infra/demo.py, plus the `world` fixture) of the objects an actor must not reach."""

    customer: str
    partner: str
    subscription: str
    user: str
    saas: str


NORDIT_SIDE = Foreign("hanse", "nordit", "hanse_standard", "hanse_it", "nordit_saas")
SUEDCLOUD_SIDE = Foreign("alpen", "suedcloud", "alpen_standard", "alpen_owner", "suedcloud_saas")

FOREIGN: dict[str, Foreign] = {
    "nordit_admin": SUEDCLOUD_SIDE,
    "nordit_sales": SUEDCLOUD_SIDE,
    "suedcloud_admin": NORDIT_SIDE,
    # Customers of one partner are strangers to each other (a customer's own partner: test_access_control.py).
    "hanse_it": Foreign("kanzlei", "suedcloud", "alpen_standard", "kanzlei_office", "suedcloud_saas"),
    "hanse_staff": Foreign("kanzlei", "suedcloud", "alpen_standard", "kanzlei_office", "suedcloud_saas"),
    "kanzlei_office": Foreign("hanse", "suedcloud", "hanse_standard", "hanse_it", "suedcloud_saas"),
    "alpen_owner": NORDIT_SIDE,
}


@dataclass
class Target:
    customer: str
    partner: str
    subscription: str
    user: str
    saas: str


ADDRESS = '{street: "Weg 1", postalCode: "10115", city: "Berlin"}'
SUB = "subscription { id } errors { code }"
CUS = "customer { id } errors { code }"

# field -> (operation, variables from the foreign target)
PROBES: dict[str, tuple[str, Callable[[Target], dict]]] = {
    # --- queries
    "me": ("{ me { user { id } organisation { ... on Customer { id } ... on Partner { id } } } }", lambda t: {}),
    "node": ("query($c: ID!, $p: ID!, $u: ID!) { c: node(id: $c) { id } p: node(id: $p) { id } u: node(id: $u) { id } }",
             lambda t: {"c": t.customer, "p": t.partner, "u": t.user}),
    "customer": ("query($id: ID!) { customer(id: $id) { id } }", lambda t: {"id": t.customer}),
    "partner": ("query($id: ID!) { partner(id: $id) { id } }", lambda t: {"id": t.partner}),
    "customers": ("{ customers(first: 100) { nodes { id partnerLinks { partnerId } } } }", lambda t: {}),
    "partners": ("{ partners(first: 100) { nodes { id } } }", lambda t: {}),
    "users": ("query($o: ID!) { users(organisationId: $o, first: 100) { nodes { id } } }", lambda t: {"o": t.customer}),
    "products": ("{ products { id } }", lambda t: {}),  # the catalogue is public to every signed-in user
    "subscription": ("query($id: ID!) { subscription(id: $id) { id } }", lambda t: {"id": t.subscription}),
    "subscriptions": ("query($c: ID!, $p: ID!) { c: subscriptions(customerId: $c, first: 100) { nodes { id } } "
                      "p: subscriptions(partnerId: $p, first: 100) { nodes { id } } }", lambda t: {"c": t.customer, "p": t.partner}),
    "renewalPlanner": ("query($p: ID!) { renewalPlanner(partnerId: $p, days: 92, first: 100) { nodes { id } } }", lambda t: {"p": t.partner}),
    "subscriptionPreview": ("query($id: ID!) { subscriptionPreview(subscriptionId: $id, change: {kind: INCREASE_SEATS, seats: 1}) { allowed quantityAfter } }",
                            lambda t: {"id": t.subscription}),
    "saasSubscriptions": ("{ saasSubscriptions(first: 100) { nodes { id customerId } } }", lambda t: {}),
    # --- mutations
    "partnerCreate": (f'mutation {{ partnerCreate(input: {{name: "Neu GmbH", billingEmail: "a@neu.example", address: {ADDRESS}}}) {{ partner {{ id }} errors {{ code }} }} }}',
                      lambda t: {}),
    "partnerMicrosoftIdsSet": ('mutation($p: ID!) { partnerMicrosoftIdsSet(input: {partnerId: $p, microsoftPartnerNetworkId: "1111111", microsoftId: "x-1"}) { partner { id } errors { code } } }',
                               lambda t: {"p": t.partner}),
    "customerCreate": (f'mutation($p: ID!) {{ customerCreate(input: {{name: "Fremd GmbH", billingEmail: "a@fremd.example", address: {ADDRESS}, partnerId: $p}}) '
                       "{ customer { id partnerLinks { partnerId } } errors { code } } }",
                       lambda t: {"p": t.partner}),
    "customerUpdate": (f'mutation($id: ID!) {{ customerUpdate(id: $id, input: {{name: "Gekapert GmbH"}}) {{ {CUS} }} }}', lambda t: {"id": t.customer}),
    "customerBillingModeSwitch": ("mutation($c: ID!, $p: ID!) { customerBillingModeSwitch(input: {customerId: $c, partnerId: $p, billingMode: CUSTOMER_PAYS}) "
                                  "{ customer { id } errors { code } } }", lambda t: {"c": t.customer, "p": t.partner}),
    "partnershipCreate": (f"mutation($c: ID!, $p: ID!) {{ partnershipCreate(input: {{customerId: $c, partnerId: $p}}) {{ {CUS} }} }}",
                          lambda t: {"c": t.customer, "p": t.partner}),
    "partnershipAccessLevelSet": (f"mutation($c: ID!, $p: ID!) {{ partnershipAccessLevelSet(input: {{customerId: $c, partnerId: $p, accessLevel: LIMITED}}) {{ {CUS} }} }}",
                                  lambda t: {"c": t.customer, "p": t.partner}),
    "userCreate": ('mutation($o: ID!) { userCreate(input: {organisationId: $o, email: "spy@fremd.example", name: "Spy", role: CUSTOMER_USER, '
                   "permissionLevel: EXTENDED}) { user { id } errors { code } } }", lambda t: {"o": t.customer}),
    "customerTenantCreate": (f'mutation($c: ID!) {{ customerTenantCreate(input: {{customerId: $c, prefix: "fremdtenant"}}) {{ {CUS} }} }}', lambda t: {"c": t.customer}),
    "customerTenantLink": (f'mutation($c: ID!) {{ customerTenantLink(input: {{customerId: $c, defaultDomain: "fremd.example", contactEmail: "it@fremd.example"}}) {{ {CUS} }} }}',
                           lambda t: {"c": t.customer}),
    "customerTenantLinkConfirm": (f'mutation($c: ID!) {{ customerTenantLinkConfirm(input: {{customerId: $c, code: "guess"}}) {{ {CUS} }} }}', lambda t: {"c": t.customer}),
    "customerAgreementAccept": (f'mutation($c: ID!) {{ customerAgreementAccept(input: {{customerId: $c, acceptedByName: "X", acceptedByEmail: "x@fremd.example"}}) {{ {CUS} }} }}',
                                lambda t: {"c": t.customer}),
    "customerEligibilityGrant": (f"mutation($c: ID!) {{ customerEligibilityGrant(input: {{customerId: $c, program: EDUCATION, institutionType: SCHOOL}}) {{ {CUS} }} }}",
                                 lambda t: {"c": t.customer}),
    "priceChangeSchedule": ('mutation { priceChangeSchedule(input: {currency: "EUR", percent: "50", effectiveFrom: "2027-04-01"}) { products { id } errors { code } } }',
                            lambda t: {}),  # the distributor's catalogue
    "subscriptionOrder": ("mutation($c: ID!, $p: ID!) { subscriptionOrder(input: {customerId: $c, partnerId: $p, productId: \"prd_m365_business_basic\", "
                          f"term: P1Y, billing: MONTHLY, quantity: 1}}) {{ {SUB} }} }}", lambda t: {"c": t.customer, "p": t.partner}),
    "subscriptionSeatsIncrease": (f"mutation($id: ID!) {{ subscriptionSeatsIncrease(input: {{subscriptionId: $id, seats: 1}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionSeatsReduce": (f"mutation($id: ID!) {{ subscriptionSeatsReduce(input: {{subscriptionId: $id, seats: 1}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionCancel": (f"mutation($id: ID!) {{ subscriptionCancel(input: {{subscriptionId: $id}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionAutoRenewSet": (f"mutation($id: ID!) {{ subscriptionAutoRenewSet(input: {{subscriptionId: $id, enabled: false}}) {{ {SUB} }} }}",
                                 lambda t: {"id": t.subscription}),
    "subscriptionRenewalChangeSchedule": (f"mutation($id: ID!) {{ subscriptionRenewalChangeSchedule(input: {{subscriptionId: $id, quantity: 1}}) {{ {SUB} }} }}",
                                          lambda t: {"id": t.subscription}),
    "subscriptionRenewalChangeRemove": (f"mutation($id: ID!) {{ subscriptionRenewalChangeRemove(input: {{subscriptionId: $id}}) {{ {SUB} }} }}",
                                        lambda t: {"id": t.subscription}),
    "subscriptionUpgrade": (f'mutation($id: ID!) {{ subscriptionUpgrade(input: {{subscriptionId: $id, toProductId: "prd_m365_business_premium"}}) {{ {SUB} }} }}',
                            lambda t: {"id": t.subscription}),
    "saasSubscriptionCreate": ('mutation($c: ID!) { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Fremd", users: 5, '
                               "customerId: $c}) { saasSubscription { id } errors { code } } }", lambda t: {"c": t.customer}),
}


def schema_fields() -> tuple[set[str], set[str]]:
    """The field names of Query and of Mutation."""
    from schema import schema

    return set(schema._schema.query_type.fields), set(schema._schema.mutation_type.fields)


def test_every_query_and_mutation_has_an_isolation_probe():
    queries, mutations = schema_fields()
    fields = queries | mutations
    assert sorted(fields - PROBES.keys()) == [], "new fields: add a probe to PROBES"
    assert sorted(PROBES.keys() - fields) == [], "probes of fields that no longer exist"


@pytest.fixture
def world(services, demo):
    """Demo data plus what the other side needs: a subscription of Alpen (SüdCloud) and a SaaS subscription of each partner."""
    from domain.catalogue import M365_BUSINESS_BASIC, SIGNATURES_FOR_M365, Billing, Term
    from domain.policy import Principal
    from domain.services import organisations as org
    from domain.services import subscriptions as subs

    ops = Principal.of(demo.users["distributor"])
    suedcloud = Principal.of(demo.users["suedcloud_admin"])
    uow = services.uow()
    org.set_microsoft_ids(uow, ops, partner_id=demo.partners["suedcloud"].id, microsoft_partner_network_id="7654321", microsoft_id="sued-msid")
    alpen = demo.customers["alpen"].id
    subs.create_tenant(uow, suedcloud, customer_id=alpen, prefix=f"alpen{alpen[-6:]}")
    subs.accept_customer_agreement(uow, suedcloud, customer_id=alpen, name="Anton Alpen", email="anton@alpen.example", now=NOW)
    order = subs.SubscriptionOrder(alpen, M365_BUSINESS_BASIC, Term.P1Y, Billing.MONTHLY, quantity=4)
    ids = {
        "hanse_standard": demo.subscriptions["hanse_standard"].id,
        "alpen_standard": subs.order_subscription(uow, suedcloud, order, now=NOW).new_subscription.id,
    }
    for partner in ("nordit", "suedcloud"):
        principal = Principal.of(demo.users[f"{partner}_admin"])
        command = subs.NewSaasSubscription(product_id=SIGNATURES_FOR_M365, customer_company_name=f"Kunde von {partner}", users=5)
        ids[f"{partner}_saas"] = subs.create_saas_subscription(uow, services.mailer, principal, command, now=NOW).id
    return ids


def target_of(demo, world, foreign: Foreign) -> Target:
    return Target(
        customer=demo.customers[foreign.customer].id, partner=demo.partners[foreign.partner].id,
        subscription=world[foreign.subscription], user=demo.users[foreign.user].id, saas=world[foreign.saas],
    )


def state_of(services, target: Target) -> tuple:
    uow = services.uow()
    organisations = uow.organisations.get_many([target.customer, target.partner])
    return (
        tuple(sorted((o.id, o.version) for o in organisations.values())),
        uow.subscriptions.get(target.subscription).version,
        uow.saas_subscriptions.get(target.saas).version,
        len(uow.users.list_by_organisation(target.customer, limit=100, cursor=None).items),
        uow.catalogue.get().price_list,
    )


def problems_of(field: str, is_mutation: bool, body: dict, target: Target) -> list[str]:
    problems = []
    data_text = json.dumps(body.get("data"))
    leaked = [value for value in vars(target).values() if value in data_text]
    if leaked:
        problems.append(f"foreign ids in the answer: {leaked}")
    if is_mutation:
        payload = (body.get("data") or {}).get(field)
        codes = {e["code"] for e in payload["errors"]} if payload else set()
        if payload is None or not codes <= REFUSALS or not (codes or field in OWN_OBJECT_ONLY):
            problems.append(f"not refused: {payload or body.get('errors')}")
    elif body.get("errors"):  # a query that failed as a whole must fail as not found or forbidden
        codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
        if not codes <= REFUSALS:
            problems.append(f"query errors: {[e['message'] for e in body['errors']]}")
    return problems


def test_no_actor_reaches_another_organisations_objects_through_any_field(as_user, services, demo, world):
    _, mutations = schema_fields()
    failures = []
    for actor, foreign in FOREIGN.items():
        api, target = as_user(actor), target_of(demo, world, foreign)
        before = state_of(services, target)
        for field, (operation, variables) in PROBES.items():
            response = api.post(operation, variables(target))
            if response.status_code != 200:
                failures.append((actor, field, f"HTTP {response.status_code}"))
                continue
            failures += [(actor, field, problem) for problem in problems_of(field, field in mutations, response.json(), target)]
        if state_of(services, target) != before:
            failures.append((actor, "*", "the foreign objects changed"))
    assert failures == [], "\n".join(map(str, failures))
