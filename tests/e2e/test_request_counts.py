"""Nested fields batch: the DynamoDB requests of a list do not grow with its length."""

from __future__ import annotations

from domain.organisations import AccessLevel, Address, BillingMode
from domain.policy import Principal
from domain.services import organisations as svc
from tests.conftest import NOW
from tests.request_counter import count_requests

LIST = """query($first: Int!) { customers(first: $first) { nodes { id name partnerLinks { billingMode partner { id name } } } pageInfo { endCursor } } }"""


def add_customers(services, demo, count: int) -> None:
    ops = Principal.of(demo.users["distributor"])
    partners = [demo.partners["nordit"].id, demo.partners["suedcloud"].id]
    for i in range(count):
        svc.create_customer(
            services.uow(), ops,
            svc.NewCustomer(
                name=f"Kunde {i:03d} GmbH", address=Address.create("Weg 1", "10115", "Berlin"), billing_email=f"r{i}@kunde.example",
                partner_id=partners[i % 2], billing_mode=BillingMode.PARTNER_PAYS, access_level=AccessLevel.FULL,
            ),
            now=NOW,
        )


def requests_for(api, first: int):
    with count_requests() as count:
        nodes = api(LIST, {"first": first})["customers"]["nodes"]
    assert len(nodes) == first
    assert all(link["partner"] is not None for n in nodes for link in n["partnerLinks"])
    return count


def test_customer_list_with_partner_links_costs_the_same_for_10_and_50(as_user, services, demo):
    add_customers(services, demo, 50)
    api = as_user("distributor")
    ten, fifty = requests_for(api, 10), requests_for(api, 50)
    # principal lookup + one Query for the page + one BatchGetItem for the linked partners
    assert fifty.requests == ten.requests == 3, (ten.operations, fifty.operations)
    assert fifty.operations == {"GetItem": 1, "Query": 1, "BatchGetItem": 1}


def test_partner_customer_list_of_50_is_a_constant_number_of_requests(as_user, services, demo):
    add_customers(services, demo, 100)
    api = as_user("nordit_admin")
    ten, fifty = requests_for(api, 10), requests_for(api, 50)
    # principal + index Query + BatchGetItem of the customers (the partner itself is primed or batched)
    assert fifty.requests == ten.requests <= 4, (ten.operations, fifty.operations)


SUBSCRIPTIONS = """query($first: Int!) { subscriptions(first: $first) { nodes { id product { name } customer { id name } } } }"""
PLANNER = """query($first: Int!) { renewalPlanner(days: 40, first: $first) { nodes { id priceAfterNextRenewal { amount } customer { name } } } }"""


def test_partner_subscription_list_and_renewal_planner_of_50_cost_the_same_as_of_10(as_user, services, demo):
    from domain.catalogue import M365_BUSINESS_BASIC, Billing, Term
    from domain.services import subscriptions as subs

    sales = Principal.of(demo.users["nordit_sales"])
    order = subs.SubscriptionOrder(demo.customers["hanse"].id, M365_BUSINESS_BASIC, Term.P1M, Billing.MONTHLY, quantity=1)
    for _ in range(50):
        subs.order_subscription(services.uow(), sales, order, now=NOW)
    api = as_user("nordit_admin")
    for query, field in ((SUBSCRIPTIONS, "subscriptions"), (PLANNER, "renewalPlanner")):
        counts = {}
        for first in (10, 50):
            with count_requests() as count:
                assert len(api(query, {"first": first})[field]["nodes"]) == first
            counts[first] = count.operations
        # principal + catalogue + one Query for the page + one BatchGetItem for the page's customers
        assert counts[10] == counts[50] == {"GetItem": 2, "Query": 1, "BatchGetItem": 1}, (field, counts)
