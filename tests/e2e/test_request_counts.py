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


WITH_SUBSCRIPTIONS = """query($first: Int!) { customers(first: $first) { nodes { id partnerLinks { partner { name } }
  subscriptions { nodes { id quantity termEndsAt product { name } } } } } }"""


def sell(services, demo, customer_id: str, partner_id: str, count: int) -> list[str]:
    """``count`` running subscriptions of the customer sold by the partner (written directly, preconditions aside)."""
    from domain.catalogue import M365_BUSINESS_STANDARD
    from domain.services.subscriptions import load_catalogue
    from domain.subscriptions import Billing, Term, open_subscription

    uow = services.uow()
    catalogue = load_catalogue(uow)
    ids = []
    for _ in range(count):
        outcome = open_subscription(
            customer_id=customer_id, partner_id=partner_id, product=catalogue.product(M365_BUSINESS_STANDARD),
            term=Term.P1Y, billing=Billing.MONTHLY, quantity=5, now=NOW, actor_id=demo.users["distributor"].id, price_lookup=catalogue,
        )
        with uow:
            uow.subscriptions.add(outcome.new_subscription)
            uow.commit()
        ids.append(outcome.new_subscription.id)
    return ids


def made_customers(services, demo) -> list:
    """Every customer add_customers made, all pages of the distributor's list."""
    ops, found, after = Principal.of(demo.users["distributor"]), [], None
    while True:
        page = svc.list_customers(services.uow(), ops, first=100, after=after)
        found += [c for c in page.items if c.name.startswith("Kunde ")]
        if not page.next_cursor:
            return found
        after = page.next_cursor


def add_customers_with_subscriptions(services, demo, count: int) -> None:
    """``count`` customers, each with one running subscription sold by its partner (written directly, preconditions aside)."""
    add_customers(services, demo, count)
    for customer in made_customers(services, demo):
        sell(services, demo, customer.id, customer.partner_links[0].partner_id, 1)


def test_customers_with_their_subscriptions_cost_the_same_for_10_and_50(as_user, services, demo):
    add_customers_with_subscriptions(services, demo, 60)
    api = as_user("distributor")
    counts = {}
    for first in (10, 50):
        with count_requests() as count:
            nodes = api(WITH_SUBSCRIPTIONS, {"first": first})["customers"]["nodes"]
        assert len(nodes) == first
        assert sum(len(n["subscriptions"]["nodes"]) for n in nodes) >= first - len(demo.customers)
        counts[first] = count
    # principal, customer page, partners, subscription ids, subscriptions, catalogue (product names)
    assert counts[50].operations == counts[10].operations == {"GetItem": 2, "Query": 1, "BatchGetItem": 3}, counts


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


PARTNER_LIST = """query($first: Int!, $subscriptions: Int!) { customers(first: $first) { nodes { id
  subscriptions(first: $subscriptions) { nodes { id } pageInfo { hasNextPage endCursor } } } } }"""
ONE_CUSTOMER = """query($id: ID!, $subscriptions: Int!) { customer(id: $id) {
  subscriptions(first: $subscriptions) { nodes { id } pageInfo { hasNextPage endCursor } } } }"""


def subscription_table_reads(count) -> set[str]:
    return {key for (table, key) in count.keys_read if table.endswith("subscriptions") and not table.endswith("customer_subscriptions")}


def test_a_partners_customer_list_gets_more_than_100_subscriptions_in_one_query_and_reads_only_its_customers(as_user, services, demo):
    # 60 customers of NordIT with 2 subscriptions each (120 on a page of 60: more than one BatchGetItem holds) and
    # 60 of SüdCloud in between (ids interleave), one of which NordIT also sold to without being its partner.
    add_customers(services, demo, 120)
    customers = made_customers(services, demo)
    nordit = demo.partners["nordit"].id
    for customer in customers:
        sell(services, demo, customer.id, customer.partner_links[0].partner_id, 2)
    stranger = next(c for c in customers if c.partner_links[0].partner_id != nordit)
    strays = sell(services, demo, stranger.id, nordit, 1)

    api = as_user("nordit_admin")
    counts, pages = {}, {}
    for first in (10, 100):
        with count_requests() as count:
            pages[first] = api(PARTNER_LIST, {"first": first, "subscriptions": 20})["customers"]["nodes"]
        counts[first] = count
    shown = {s["id"] for n in pages[100] for s in n["subscriptions"]["nodes"]}
    assert len(shown) >= 120
    # principal; the partner's customer page (Query), the customers (BatchGetItem), all their subscriptions (Query)
    assert counts[10].operations == counts[100].operations == {"GetItem": 1, "Query": 2, "BatchGetItem": 1}, counts
    assert subscription_table_reads(counts[100]) - shown <= set(strays)  # nothing else: only a stray in the id range
    assert stranger.id not in {n["id"] for n in pages[100]} and not shown & set(strays)


def test_a_partners_customer_list_shows_each_customer_what_the_customer_alone_shows(as_user, services, demo):
    # Same subscriptions, order, page cut and cursor whether read for the whole page (one Query) or for one customer.
    add_customers(services, demo, 8)
    customers = made_customers(services, demo)
    sold_by_others = []
    for n, customer in enumerate(customers):
        partner_id = customer.partner_links[0].partner_id
        sell(services, demo, customer.id, partner_id, (n // 2) % 4)  # 0 to 3 for the customers of either partner
        if partner_id == demo.partners["nordit"].id and n % 3 == 0:  # also buys from SüdCloud: NordIT does not see those
            sold_by_others += sell(services, demo, customer.id, demo.partners["suedcloud"].id, 1)
    api = as_user("nordit_admin")
    for per_customer in (1, 2, 20):
        listed = api(PARTNER_LIST, {"first": 100, "subscriptions": per_customer})["customers"]["nodes"]
        assert any(n["subscriptions"]["pageInfo"]["hasNextPage"] for n in listed) is (per_customer < 3)
        for node in listed:
            alone = api(ONE_CUSTOMER, {"id": node["id"], "subscriptions": per_customer})["customer"]
            assert node["subscriptions"] == alone["subscriptions"], node["id"]
    shown = [s["id"] for n in listed for s in n["subscriptions"]["nodes"]]
    assert len(shown) >= 6 and sold_by_others and not set(shown) & set(sold_by_others)


WITH_HISTORY = """query($first: Int!, $customer: ID) { subscriptions(first: $first, customerId: $customer) { nodes { id history { id } } } }"""


def page_history(services, subscription_id: str, events: int) -> None:
    """``events`` older events of 2 KB each, saved at once: past the item budget, so they move to a history page."""
    from domain.subscriptions import SubscriptionEventKind

    subscription = services.uow().subscriptions.get(subscription_id)
    created = subscription.history[0]
    subscription.history.extend(
        type(created)(f"evt_old{n:03d}", SubscriptionEventKind.SEATS_ADDED, created.at, "usr_import", {"note": "x" * 2000})
        for n in range(events)
    )
    uow = services.uow()
    with uow:
        uow.subscriptions.update(subscription)
        uow.commit()


def test_a_subscription_list_reads_the_history_pages_of_all_its_subscriptions_in_one_request(as_user, services, demo):
    # 25 subscriptions of a new customer of NordIT, each with 60 older events moved to a history page (2026-11-23); each
    # item keeps ~32 KB of history, so a page of 25 is one Query (1 MB)
    add_customers(services, demo, 1)
    customer = made_customers(services, demo)[0]
    ids = sell(services, demo, customer.id, customer.partner_links[0].partner_id, 25)
    for subscription_id in ids:
        page_history(services, subscription_id, 60)
    assert all(s.history_pages == 1 for s in services.uow().subscriptions.get_many(ids).values())
    api = as_user("distributor")
    counts = {}
    for first in (10, 25):
        with count_requests() as count:
            nodes = api(WITH_HISTORY, {"first": first, "customer": customer.id})["subscriptions"]["nodes"]
        assert len(nodes) == first and all(len(node["history"]) == 1 + 60 for node in nodes)
        assert all(node["history"][1]["id"] == "evt_old000" for node in nodes)
        counts[first] = count.operations
    # principal, the customer's page (Query), the history pages of all its subscriptions (one BatchGetItem)
    assert counts[10] == counts[25] == {"GetItem": 1, "Query": 1, "BatchGetItem": 1}, counts
