"""DynamoDB requests and items read per portal operation, at list sizes 10, 50 and 100.

Every operation goes through the real ASGI app (authentication, GraphQL, resolvers, DataLoaders,
repositories) over moto's in-process DynamoDB; a botocore hook counts each request. Target: the
number of requests does not grow with the list size (one request per nested field per page).

    python -m bench.requests            # the table
    python -m bench.requests --sizes 10 50

To cover a new operation, add a row to OPERATIONS (and, if it needs data, a seeding step to SEEDING).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable

from bench.common import api_stack, in_process_moto, print_table, use_local_environment

SIZES = (10, 50, 100)


# --- data: each step adds what some operations need for the given list sizes and notes ids in `fixture` ---


def _principal(stack, actor: str):
    from domain.policy import Principal

    return Principal.of(stack.demo.users[actor])


def seed_partner_customers(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """max(sizes) customers of NordIT, each ready for CSP orders (tenant and agreement) with one subscription."""
    from domain.catalogue import M365_BUSINESS_BASIC, Billing, Term
    from domain.organisations import AccessLevel, Address, BillingMode
    from domain.services import organisations as org
    from domain.services import subscriptions as subs

    ops, sales = _principal(stack, "distributor"), _principal(stack, "nordit_sales")
    partner_id = stack.demo.partners["nordit"].id
    for i in range(max(sizes)):
        uow = stack.services.uow()
        customer = org.create_customer(
            uow, ops,
            org.NewCustomer(
                name=f"Kunde {i:03d} GmbH", address=Address.create("Weg 1", "10115", "Berlin"), billing_email=f"r{i}@kunde.example",
                partner_id=partner_id, billing_mode=BillingMode.PARTNER_PAYS if i % 2 else BillingMode.CUSTOMER_PAYS,
                access_level=AccessLevel.FULL,
            ),
            now=stack.now,
        )
        subs.create_tenant(uow, sales, customer_id=customer.id, prefix=f"kunde{i:03d}{customer.id[-6:]}")
        subs.accept_customer_agreement(uow, sales, customer_id=customer.id, name="Chefin", email=f"chefin{i}@kunde.example", now=stack.now)
        order = subs.SubscriptionOrder(customer.id, M365_BUSINESS_BASIC, Term.P1Y, Billing.MONTHLY, quantity=5)
        subs.order_subscription(uow, sales, order, now=stack.now)


def seed_customer_subscriptions(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """max(sizes) monthly-term subscriptions of Hanse: they all renew within the planner's 40 days."""
    from domain.catalogue import M365_BUSINESS_BASIC, Billing, Term
    from domain.services import subscriptions as subs

    sales = _principal(stack, "nordit_sales")
    order = subs.SubscriptionOrder(stack.demo.customers["hanse"].id, M365_BUSINESS_BASIC, Term.P1M, Billing.MONTHLY, quantity=3)
    for _ in range(max(sizes)):
        subs.order_subscription(stack.services.uow(), sales, order, now=stack.now)


def seed_seat_lots(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """One subscription per size with that many seat lots (and history entries): detail pages of growing length."""
    from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term
    from domain.services import subscriptions as subs
    from domain.subscriptions import IncreaseSeats

    sales = _principal(stack, "nordit_sales")
    order = subs.SubscriptionOrder(stack.demo.customers["hanse"].id, M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY, quantity=1)
    fixture["subscription_with_lots"] = {}
    for size in sorted(sizes):
        subscription = subs.order_subscription(stack.services.uow(), sales, order, now=stack.now).new_subscription
        for _ in range(size - 1):  # the order itself is the first lot
            subs.change_subscription(stack.services.uow(), sales, subscription.id, IncreaseSeats(1), now=stack.now)
        fixture["subscription_with_lots"][size] = subscription.id


def seed_invoices(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """max(sizes) invoices Kanzlei pays, each with two lines, issued by the billing run on consecutive days."""
    from datetime import datetime, time, timedelta, timezone
    from decimal import Decimal

    from domain.billing import ServiceItem
    from domain.calendar import berlin_date
    from domain.money import Money
    from domain.services import billing

    services, kanzlei = stack.services, stack.demo.customers["kanzlei"].id
    noon = datetime.combine(stack.now.date(), time(12), tzinfo=timezone.utc)  # one Berlin date per day, whenever it runs
    for i in range(max(sizes)):
        day = noon - timedelta(days=max(sizes) - i)
        uow = services.uow()
        with uow:
            for j in range(2):
                item = ServiceItem(kanzlei, f"Servicebericht SR-{i:04d}-{j}", Decimal("1"), Money.of("95.00"), f"sr_bench_{i:04d}_{j}")
                uow.service_items.add(item, bill_date=berlin_date(day))
            uow.commit()
        billing.run_billing(services.uow, run_date=berlin_date(day), now=day, documents=services.documents, mailer=services.mailer,
                            renderer=services.invoice_renderer)


def seed_tickets(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """max(sizes) portal tickets of Hanse, each with two comments (customer and service desk)."""
    from domain.services import tickets as desk

    class Quiet:  # notifications are not what is measured
        def send(self, message) -> None:
            pass

    hanse = _principal(stack, "hanse_it")
    staff = _principal(stack, "distributor")
    for i in range(max(sizes)):
        ticket = desk.open_portal_ticket(stack.services.uow(), hanse, desk.NewTicket(stack.demo.customers["hanse"].id, f"Störung {i}",
                                         "Der Drucker druckt nicht."), now=stack.now, mailer=Quiet())
        desk.add_comment(stack.services.uow(), hanse, ticket.id, body="Seit heute früh.", internal=False, now=stack.now, mailer=Quiet())
        desk.add_comment(stack.services.uow(), staff, ticket.id, body="Wir schauen es uns an.", internal=False, now=stack.now, mailer=Quiet())


def seed_paged_history(stack, fixture: dict, sizes: tuple[int, ...]) -> None:
    """A customer of SüdCloud (outside NordIT's lists) with max(sizes) subscriptions whose older history moved to a
    history page each: three events of 33 KB past the item budget, so the page holds them and the item keeps a few KB
    (a list page of 100 stays one Query; what grows with n is only what the history pages cost)."""
    from domain.catalogue import M365_BUSINESS_BASIC, Billing, Term
    from domain.organisations import AccessLevel, Address, BillingMode
    from domain.services import organisations as org
    from domain.services.subscriptions import load_catalogue
    from domain.subscriptions import SubscriptionEvent, SubscriptionEventKind, open_subscription

    ops = _principal(stack, "distributor")
    customer = org.create_customer(
        stack.services.uow(), ops,
        org.NewCustomer(name="Zeitreise Archiv GmbH", address=Address.create("Weg 2", "80331", "München"),
                        billing_email="rechnung@zeitreise.example", partner_id=stack.demo.partners["suedcloud"].id,
                        billing_mode=BillingMode.PARTNER_PAYS, access_level=AccessLevel.FULL),
        now=stack.now,
    )
    catalogue = load_catalogue(stack.services.uow())
    for _ in range(max(sizes)):  # written directly: the order's preconditions (tenant, agreement) are not measured
        subscription = open_subscription(
            customer_id=customer.id, partner_id=stack.demo.partners["suedcloud"].id, product=catalogue.product(M365_BUSINESS_BASIC),
            term=Term.P1Y, billing=Billing.MONTHLY, quantity=5, now=stack.now, actor_id=ops.user_id, price_lookup=catalogue,
        ).new_subscription
        subscription.history += [SubscriptionEvent(f"evt_bench{n}", SubscriptionEventKind.SEATS_ADDED, stack.now, ops.user_id,
                                                   {"note": "x" * 33_000}) for n in range(3)]
        uow = stack.services.uow()
        with uow:
            uow.subscriptions.add(subscription)
            uow.commit()
    fixture["customer_with_paged_history"] = customer.id


SEEDING: list[Callable[..., None]] = [
    seed_partner_customers, seed_customer_subscriptions, seed_seat_lots, seed_invoices, seed_tickets, seed_paged_history,
]


# --- operations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    actor: str  # a demo user (infra/demo.py)
    query: str
    variables: Callable[[Any, dict, int], dict]  # (stack, fixture, size) -> GraphQL variables
    length: Callable[[dict], int]  # the size of the list the response holds


def _nodes(field: str) -> Callable[[dict], int]:
    return lambda data: len(data[field]["nodes"])


CUSTOMER_LIST = """query($n: Int!) { customers(first: $n) { nodes { id name billingEmail
  partnerLinks { billingMode accessLevel partner { id name } } } pageInfo { hasNextPage endCursor } } }"""

SUBSCRIPTION_DETAIL = """query($id: ID!) { subscription(id: $id) { id status quantity termEndsAt reducibleSeats
  seatLots { id quantity addedAt cancellationWindowClosesAt windowOpen }
  history { id kind at actorId details { key value } }
  product { name } priceAfterNextRenewal { amount currency } customer { name partnerLinks { partnerName billingMode } } } }"""

SUBSCRIPTION_LIST = """query($n: Int!, $customer: ID, $partner: ID) { subscriptions(first: $n, customerId: $customer, partnerId: $partner) {
  nodes { id status quantity termEndsAt autoRenew unitPrice { amount currency } product { name } customer { id name } }
  pageInfo { hasNextPage endCursor } } }"""

RENEWAL_PLANNER = """query($n: Int!) { renewalPlanner(days: 40, first: $n) {
  nodes { id termEndsAt quantity autoRenew priceAfterNextRenewal { amount currency } product { name } customer { id name } }
  pageInfo { hasNextPage endCursor } } }"""

CUSTOMERS_WITH_SUBSCRIPTIONS = """query($n: Int!) { customers(first: $n) { nodes { id name partnerLinks { billingMode partner { name } }
  subscriptions { nodes { id quantity status termEndsAt product { name } } } } pageInfo { hasNextPage endCursor } } }"""

INVOICE_LIST = """query($n: Int!, $org: ID) { invoices(organisationId: $org, first: $n) { nodes { id number status issueDate
  lines { position description quantity unitPrice { amount } netAmount { amount } vatRate }
  grossTotal { amount } outstanding { amount } creditNotes { number } } pageInfo { hasNextPage endCursor } } }"""

SUBSCRIPTIONS_WITH_HISTORY = """query($n: Int!, $customer: ID) { subscriptions(first: $n, customerId: $customer) {
  nodes { id quantity history { id kind at actorId } } pageInfo { hasNextPage endCursor } } }"""

TICKET_LIST = """query($n: Int!, $customer: ID) { tickets(customerId: $customer, first: $n) { nodes { id number status subject
  comments { author body at } customer { name } } pageInfo { hasNextPage endCursor } } }"""

OPERATIONS: list[Operation] = [
    Operation("customer list with partner links and subscriptions (partner admin)", "nordit_admin", CUSTOMERS_WITH_SUBSCRIPTIONS,
              lambda stack, fixture, n: {"n": n}, _nodes("customers")),
    Operation("invoice list with lines (customer pays itself)", "kanzlei_office", INVOICE_LIST,
              lambda stack, fixture, n: {"n": n, "org": stack.demo.customers["kanzlei"].id}, _nodes("invoices")),
    Operation("ticket list with comments (customer user)", "hanse_it", TICKET_LIST,
              lambda stack, fixture, n: {"n": n, "customer": stack.demo.customers["hanse"].id}, _nodes("tickets")),
    Operation("customer list with partner links (distributor)", "distributor", CUSTOMER_LIST,
              lambda stack, fixture, n: {"n": n}, _nodes("customers")),
    Operation("partner's customer list (partner admin)", "nordit_admin", CUSTOMER_LIST,
              lambda stack, fixture, n: {"n": n}, _nodes("customers")),
    Operation("subscription detail, n seat lots and history entries", "nordit_admin", SUBSCRIPTION_DETAIL,
              lambda stack, fixture, n: {"id": fixture["subscription_with_lots"][n]},
              lambda data: len(data["subscription"]["seatLots"])),
    Operation("subscriptions of a customer (partner view)", "nordit_admin", SUBSCRIPTION_LIST,
              lambda stack, fixture, n: {"n": n, "customer": stack.demo.customers["hanse"].id}, _nodes("subscriptions")),
    Operation("subscriptions of a partner (many customers)", "nordit_admin", SUBSCRIPTION_LIST,
              lambda stack, fixture, n: {"n": n, "partner": stack.demo.partners["nordit"].id}, _nodes("subscriptions")),
    Operation("renewal planner, 40 days (partner admin)", "nordit_admin", RENEWAL_PLANNER,
              lambda stack, fixture, n: {"n": n}, _nodes("renewalPlanner")),
    Operation("subscriptions of a customer with paged history (distributor)", "distributor", SUBSCRIPTIONS_WITH_HISTORY,
              lambda stack, fixture, n: {"n": n, "customer": fixture["customer_with_paged_history"]}, _nodes("subscriptions")),
]


@dataclass
class Measurement:
    operation: Operation
    size: int
    requests: int
    items_read: int
    by_operation: dict[str, int]


def measure(stack, fixture: dict, operation: Operation, size: int) -> Measurement:
    from tests.request_counter import count_requests

    token = stack.token(operation.actor)
    variables = operation.variables(stack, fixture, size)
    stack.post(token, operation.query, variables)  # warm: first-use costs (schema, caches) are not per request
    with count_requests() as count:
        data = stack.post(token, operation.query, variables)
    length = operation.length(data)
    if length != size:
        raise RuntimeError(f"{operation.name}: asked for {size} items, got {length}; the seeding is too small")
    return Measurement(operation, size, count.requests, count.items_read, dict(sorted(count.operations.items())))


def run(sizes: tuple[int, ...]) -> list[Measurement]:
    use_local_environment()
    with in_process_moto(), api_stack() as stack:
        fixture: dict = {}
        for step in SEEDING:
            step(stack, fixture, sizes)
        return [measure(stack, fixture, operation, size) for operation in OPERATIONS for size in sizes]


def report(measurements: list[Measurement]) -> bool:
    rows, flat = [], True
    for m in measurements:
        rows.append([m.operation.name, m.size, m.requests, m.items_read, " ".join(f"{k}={v}" for k, v in m.by_operation.items())])
    print_table(["operation", "n", "requests", "items read", "requests by DynamoDB operation"], rows)
    print()
    for operation in OPERATIONS:
        counts = {m.size: m.requests for m in measurements if m.operation is operation}
        grows = len(set(counts.values())) > 1
        flat &= not grows
        verdict = "GROWS with n: " + ", ".join(f"{n}: {r}" for n, r in counts.items()) if grows else f"constant ({next(iter(counts.values()))} requests)"
        print(f"{operation.name}: {verdict}")
    print(f"\nTarget (request count independent of n): {'met' if flat else 'NOT met'}")
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    report(run(tuple(args.sizes)))


if __name__ == "__main__":
    main()
