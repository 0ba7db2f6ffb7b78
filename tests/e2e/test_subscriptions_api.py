"""CSP subscriptions through GraphQL: preconditions, the 168-hour window, credits, previews, upgrades.

Prices come from the demo catalogue: Microsoft 365 Business Standard, annual term billed monthly,
EUR 10.50 per seat and month until 2023-03-31, EUR 11.66 (+11%) from 2023-04-01.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from domain.catalogue import M365_BUSINESS_BASIC, M365_BUSINESS_PREMIUM, M365_BUSINESS_STANDARD

ORDER = """mutation($input: SubscriptionOrderInput!, $key: String) { subscriptionOrder(input: $input, idempotencyKey: $key) {
  subscription { id quantity unitPrice { amount } termEndsAt status seatLots { quantity cancellationWindowClosesAt } }
  charges { kind amount { amount } periodStart periodEnd }
  errors { code field message hint } } }"""

REDUCE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsReduce(input: {subscriptionId: $id, seats: $seats}) {
  subscription { quantity } charges { kind amount { amount } }
  window { nextWindowOpensAt reducibleSeatsNow alternatives } errors { code message hint } } }"""

INCREASE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: $seats}) {
  subscription { quantity seatLots { quantity cancellationWindowClosesAt } } charges { kind amount { amount } }
  scheduledChangeDeleted errors { code message } } }"""

DETAIL = """query($id: ID!) { subscription(id: $id) { id quantity status autoRenew reducibleSeats nextWindowOpensAt termEndsAt
  unitPrice { amount } priceAfterNextRenewal { amount } scheduledChange { quantity }
  seatLots { quantity addedAt cancellationWindowClosesAt windowOpen } history { kind actorId at } product { name } } }"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def csp_ready(as_user, demo):
    """Kanzlei (customer of NordIT, which has its Microsoft IDs) gets a tenant and accepts the agreement."""
    api = as_user("nordit_sales")
    customer_id = demo.customers["kanzlei"].id
    created = api("""mutation($c: ID!) { customerTenantCreate(input: {customerId: $c, prefix: "kanzleiweber"}) {
        adminLogin initialPassword errors { code } } }""", {"c": customer_id})["customerTenantCreate"]
    assert created["adminLogin"] == "admin@kanzleiweber.onmicrosoft.com" and len(created["initialPassword"]) >= 12
    accepted = api("""mutation($c: ID!) { customerAgreementAccept(input: {customerId: $c, acceptedByName: "Karl Kanzlei",
        acceptedByEmail: "office@kanzlei.example"}) { customer { microsoftTenant { state agreementAcceptedBy } } errors { code } } }""",
        {"c": customer_id})["customerAgreementAccept"]
    assert accepted["customer"]["microsoftTenant"] == {"state": "CREATED", "agreementAcceptedBy": "Karl Kanzlei"}
    return customer_id


def order(api, customer_id, quantity=10, product=M365_BUSINESS_STANDARD, term="P1Y", billing="MONTHLY", key=None):
    return api(ORDER, {"input": {"customerId": customer_id, "productId": product, "term": term, "billing": billing, "quantity": quantity}, "key": key})["subscriptionOrder"]


def test_every_missing_precondition_is_named(as_user, demo):
    result = order(as_user("suedcloud_admin"), demo.customers["alpen"].id)
    assert result["subscription"] is None
    assert {(e["code"], e["field"]) for e in result["errors"]} == {
        ("PRECONDITION_FAILED", "partner.microsoftPartnerNetworkId"),
        ("PRECONDITION_FAILED", "partner.microsoftId"),
        ("PRECONDITION_FAILED", "customer.tenant"),
        ("PRECONDITION_FAILED", "customer.microsoftCustomerAgreement"),
    }
    assert all(e["hint"] for e in result["errors"])


def test_a_taken_tenant_prefix_is_refused(as_user, demo, csp_ready):
    result = as_user("suedcloud_admin")("""mutation($c: ID!) { customerTenantCreate(input: {customerId: $c, prefix: "kanzleiweber"}) {
        initialPassword errors { code field hint } } }""", {"c": demo.customers["alpen"].id})["customerTenantCreate"]
    assert result["initialPassword"] is None
    assert result["errors"][0]["code"] == "ALREADY_EXISTS" and result["errors"][0]["field"] == "prefix"


def test_a_linked_tenant_stays_pending_until_the_customer_confirms(as_user, demo, services):
    sales, customer_id = as_user("nordit_sales"), demo.customers["kanzlei"].id
    linked = sales("""mutation($c: ID!) { customerTenantLink(input: {customerId: $c, defaultDomain: "kanzlei-weber.de",
        contactEmail: "office@kanzlei.example"}) { customer { microsoftTenant { state domain } } errors { code } } }""", {"c": customer_id})
    assert linked["customerTenantLink"]["customer"]["microsoftTenant"] == {"state": "LINK_PENDING", "domain": "kanzlei-weber.de"}
    mail = services.mailer.to("office@kanzlei.example")[0]
    code = mail.body.split("code=")[1].split(" ")[0].rstrip(".")
    sales("""mutation($c: ID!) { customerAgreementAccept(input: {customerId: $c, acceptedByName: "Karl", acceptedByEmail: "office@kanzlei.example"}) { errors { code } } }""", {"c": customer_id})
    refused = order(sales, customer_id)
    assert [e["field"] for e in refused["errors"]] == ["customer.tenant"]
    confirm = """mutation($c: ID!, $code: String!) { customerTenantLinkConfirm(input: {customerId: $c, code: $code}) {
        customer { microsoftTenant { state } } errors { code field } } }"""
    wrong = as_user("kanzlei_office")(confirm, {"c": customer_id, "code": "guess"})["customerTenantLinkConfirm"]
    assert wrong["errors"] == [{"code": "INVALID_INPUT", "field": "token"}]
    right = as_user("kanzlei_office")(confirm, {"c": customer_id, "code": code})["customerTenantLinkConfirm"]
    assert right["customer"]["microsoftTenant"]["state"] == "LINKED"
    assert order(sales, customer_id)["errors"] == []


TENANT_LINK = """mutation($c: ID!, $d: String!, $e: String!) { customerTenantLink(input: {customerId: $c, defaultDomain: $d, contactEmail: $e}) {
  customer { microsoftTenant { state domain } } errors { code field } } }"""
TENANT_LINK_CONFIRM = """mutation($c: ID!, $code: String!) { customerTenantLinkConfirm(input: {customerId: $c, code: $code}) {
  customer { microsoftTenant { state domain } } errors { code field } } }"""
TENANT_CREATE = """mutation($c: ID!, $p: String!) { customerTenantCreate(input: {customerId: $c, prefix: $p}) { adminLogin errors { code field } } }"""


def request_link(as_user, demo, services, partner_user, customer, domain, contact):
    """Requests the link as the partner user and returns the confirmation code mailed to the contact."""
    requested = as_user(partner_user)(TENANT_LINK, {"c": demo.customers[customer].id, "d": domain, "e": contact})["customerTenantLink"]
    assert requested["errors"] == [], requested
    return services.mailer.to(contact)[-1].body.split("code=")[1].split(" ")[0].rstrip(".")


def test_a_failing_confirmation_mail_keeps_the_pending_link_and_shows_it_failed(as_user, demo, services, failing_mailer, caplog):
    """The mail is sent after the request is stored: a refusing mail service answers no error (it answered "Unexpected
    error" for a stored request), logs the failure without the code and shows it on the tenant; a new request sends."""
    kanzlei, sales = demo.customers["kanzlei"].id, as_user("nordit_sales")
    variables = {"c": kanzlei, "d": "kanzlei-weber.de", "e": "office@kanzlei.example"}
    with caplog.at_level(logging.ERROR):
        body = sales.post(TENANT_LINK, variables).json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["customerTenantLink"] == {
        "customer": {"microsoftTenant": {"state": "LINK_PENDING", "domain": "kanzlei-weber.de"}}, "errors": []}
    shown = "query($c: ID!) { customer(id: $c) { microsoftTenant { state linkEmailFailedAt } } }"
    assert sales(shown, {"c": kanzlei})["customer"]["microsoftTenant"] == {"state": "LINK_PENDING", "linkEmailFailedAt": "2026-11-23T09:00:00+00:00"}
    [logged] = [r.getMessage() for r in caplog.records if "tenant link" in r.getMessage()]
    assert kanzlei in logged and "kanzlei-weber.de" in logged and "office@kanzlei.example" in logged and "code=" not in logged
    failing_mailer.restore()
    code = request_link(as_user, demo, services, "nordit_sales", "kanzlei", "kanzlei-weber.de", "office@kanzlei.example")
    assert sales(shown, {"c": kanzlei})["customer"]["microsoftTenant"] == {"state": "LINK_PENDING", "linkEmailFailedAt": None}
    confirmed = as_user("kanzlei_office")(TENANT_LINK_CONFIRM, {"c": kanzlei, "code": code})["customerTenantLinkConfirm"]
    assert confirmed["customer"]["microsoftTenant"]["state"] == "LINKED"


def test_a_linked_onmicrosoft_domain_cannot_be_created_for_another_customer(as_user, demo, services):
    code = request_link(as_user, demo, services, "nordit_sales", "kanzlei", "muellergmbh.onmicrosoft.com", "office@kanzlei.example")
    confirmed = as_user("kanzlei_office")(TENANT_LINK_CONFIRM, {"c": demo.customers["kanzlei"].id, "code": code})["customerTenantLinkConfirm"]
    assert confirmed["customer"]["microsoftTenant"] == {"state": "LINKED", "domain": "muellergmbh.onmicrosoft.com"}
    created = as_user("suedcloud_admin")(TENANT_CREATE, {"c": demo.customers["alpen"].id, "p": "muellergmbh"})["customerTenantCreate"]
    assert created == {"adminLogin": None, "errors": [{"code": "ALREADY_EXISTS", "field": "prefix"}]}


def test_a_tenant_is_linked_to_one_customer_only(as_user, demo, services):
    code = request_link(as_user, demo, services, "nordit_sales", "kanzlei", "kanzlei-weber.de", "office@kanzlei.example")
    as_user("kanzlei_office")(TENANT_LINK_CONFIRM, {"c": demo.customers["kanzlei"].id, "code": code})
    hanse = demo.customers["hanse"].id
    for taken in ("kanzlei-weber.de", f"hanse{hanse[-6:]}.onmicrosoft.com"):  # linked by Kanzlei; created for Hanse (demo)
        refused = as_user("suedcloud_admin")(TENANT_LINK, {"c": demo.customers["alpen"].id, "d": taken, "e": "anton@alpen.example"})
        assert refused["customerTenantLink"] == {"customer": None, "errors": [{"code": "ALREADY_EXISTS", "field": "defaultDomain"}]}
    assert services.mailer.to("anton@alpen.example") == []


def test_a_pending_link_holds_no_domain_and_is_refused_at_confirmation_once_the_domain_is_taken(as_user, demo, services):
    """Unconfirmed, the link is unverified: it must not let anyone hold a prefix by typing it."""
    kanzlei = demo.customers["kanzlei"].id
    code = request_link(as_user, demo, services, "nordit_sales", "kanzlei", "muellergmbh.onmicrosoft.com", "office@kanzlei.example")
    created = as_user("suedcloud_admin")(TENANT_CREATE, {"c": demo.customers["alpen"].id, "p": "muellergmbh"})["customerTenantCreate"]
    assert created == {"adminLogin": "admin@muellergmbh.onmicrosoft.com", "errors": []}
    refused = as_user("kanzlei_office")(TENANT_LINK_CONFIRM, {"c": kanzlei, "code": code})["customerTenantLinkConfirm"]
    assert refused == {"customer": None, "errors": [{"code": "ALREADY_EXISTS", "field": "customerId"}]}
    still = as_user("kanzlei_office")("query($c: ID!) { customer(id: $c) { microsoftTenant { state domain } } }", {"c": kanzlei})
    assert still["customer"]["microsoftTenant"] == {"state": "LINK_PENDING", "domain": "muellergmbh.onmicrosoft.com"}


def test_reduction_inside_the_window_is_credited_pro_rata_and_refused_after(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2023-01-15T10:00:00")
    ordered = order(api, csp_ready)
    sub_id = ordered["subscription"]["id"]
    assert ordered["subscription"]["unitPrice"]["amount"] == "10.50"
    assert ordered["subscription"]["seatLots"] == [{"quantity": 10, "cancellationWindowClosesAt": "2023-01-22T10:00:00+00:00"}]
    assert ordered["charges"] == [{"kind": "RECURRING", "amount": {"amount": "105.00"}, "periodStart": "2023-01-15", "periodEnd": "2023-02-15"}]

    clock.now = at("2023-01-20T12:00:00")
    reduced = api(REDUCE, {"id": sub_id, "seats": 2})["subscriptionSeatsReduce"]
    assert reduced["errors"] == [] and reduced["subscription"]["quantity"] == 8
    # 10.50 x 2 seats x 26 unused days / 31 days of the cycle = 17.6129 -> 17.61
    assert reduced["charges"] == [{"kind": "CREDIT", "amount": {"amount": "-17.61"}}]

    clock.now = at("2023-01-22T10:01:00")
    refused = api(REDUCE, {"id": sub_id, "seats": 1})["subscriptionSeatsReduce"]
    assert refused["subscription"] is None
    assert refused["errors"][0]["code"] == "CANCELLATION_WINDOW_CLOSED"
    assert "2024-01-15 10:00" in refused["errors"][0]["message"] + refused["errors"][0]["hint"]
    assert refused["window"]["nextWindowOpensAt"] == "2024-01-15T10:00:00+00:00"
    assert refused["window"]["reducibleSeatsNow"] == 0 and len(refused["window"]["alternatives"]) == 2
    assert as_user("nordit_admin")(DETAIL, {"id": sub_id})["subscription"]["quantity"] == 8


def test_each_addition_opens_its_own_window(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2023-01-15T10:00:00")
    sub_id = order(api, csp_ready)["subscription"]["id"]
    clock.now = at("2023-06-01T09:00:00")
    added = api(INCREASE, {"id": sub_id, "seats": 5})["subscriptionSeatsIncrease"]
    assert added["subscription"]["quantity"] == 15
    assert {"quantity": 5, "cancellationWindowClosesAt": "2023-06-08T09:00:00+00:00"} in added["subscription"]["seatLots"]
    clock.now = at("2023-06-05T12:00:00")
    too_many = api(REDUCE, {"id": sub_id, "seats": 6})["subscriptionSeatsReduce"]
    assert too_many["errors"][0]["code"] == "CANCELLATION_WINDOW_CLOSED" and too_many["window"]["reducibleSeatsNow"] == 5
    allowed = api(REDUCE, {"id": sub_id, "seats": 3})["subscriptionSeatsReduce"]
    assert allowed["errors"] == [] and allowed["subscription"]["quantity"] == 12


def test_quantity_zero_is_refused_and_cancel_is_final(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2024-03-01T08:00:00")
    sub_id = order(api, csp_ready, quantity=3)["subscription"]["id"]
    zero = api(REDUCE, {"id": sub_id, "seats": 3})["subscriptionSeatsReduce"]
    assert zero["errors"][0]["code"] == "INVALID_INPUT" and "cancel" in (zero["errors"][0]["hint"] or zero["errors"][0]["message"]).lower()
    clock.now = at("2024-03-02T08:00:00")
    cancelled = api("""mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) { subscription { status quantity }
        charges { kind amount { amount } } errors { code } } }""", {"id": sub_id})["subscriptionCancel"]
    assert cancelled["subscription"] == {"status": "CANCELLED", "quantity": 0}
    assert cancelled["charges"][0]["kind"] == "CREDIT"
    again = api(INCREASE, {"id": sub_id, "seats": 1})["subscriptionSeatsIncrease"]
    assert again["errors"][0]["code"] == "CONFLICT"


def test_preview_shows_the_credit_and_writes_nothing(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2023-01-15T10:00:00")
    sub_id = order(api, csp_ready)["subscription"]["id"]
    clock.now = at("2023-01-20T12:00:00")
    preview = api("""query($id: ID!) { subscriptionPreview(subscriptionId: $id, change: {kind: REDUCE_SEATS, seats: 2}) {
        allowed amount { amount } quantityAfter nextRenewalAt priceAfterNextRenewal { amount } errors { code } } }""", {"id": sub_id})
    assert preview["subscriptionPreview"] == {
        "allowed": True, "amount": {"amount": "-17.61"}, "quantityAfter": 8, "nextRenewalAt": "2024-01-15T10:00:00+00:00",
        "priceAfterNextRenewal": {"amount": "11.66"},  # the +11% from 2023-04-01 applies at the renewal
        "errors": [],
    }
    assert api(DETAIL, {"id": sub_id})["subscription"]["quantity"] == 10


def test_a_mid_term_increase_deletes_the_scheduled_change_and_says_so(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2023-01-15T10:00:00")
    sub_id = order(api, csp_ready)["subscription"]["id"]
    clock.now = at("2023-05-01T10:00:00")
    scheduled = api("""mutation($id: ID!) { subscriptionRenewalChangeSchedule(input: {subscriptionId: $id, quantity: 6}) {
        subscription { scheduledChange { quantity } } errors { code } } }""", {"id": sub_id})["subscriptionRenewalChangeSchedule"]
    assert scheduled["subscription"]["scheduledChange"] == {"quantity": 6}
    increased = api(INCREASE, {"id": sub_id, "seats": 1})["subscriptionSeatsIncrease"]
    assert increased["scheduledChangeDeleted"] is True
    assert api(DETAIL, {"id": sub_id})["subscription"]["scheduledChange"] is None


def test_upgrade_moves_seats_to_a_new_subscription_with_the_same_term_end(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = at("2024-02-01T10:00:00")
    sub_id = order(api, csp_ready, quantity=5, product=M365_BUSINESS_BASIC)["subscription"]["id"]
    clock.now = at("2024-05-01T10:00:00")
    upgraded = api("""mutation($id: ID!, $to: ID!) { subscriptionUpgrade(input: {subscriptionId: $id, toProductId: $to, seats: 2}) {
        subscription { quantity termEndsAt } newSubscription { productId quantity termEndsAt } errors { code message } } }""",
        {"id": sub_id, "to": M365_BUSINESS_PREMIUM})["subscriptionUpgrade"]
    assert upgraded["errors"] == []
    assert upgraded["subscription"] == {"quantity": 3, "termEndsAt": "2025-02-01T10:00:00+00:00"}
    assert upgraded["newSubscription"] == {"productId": M365_BUSINESS_PREMIUM, "quantity": 2, "termEndsAt": "2025-02-01T10:00:00+00:00"}


def test_history_records_who_changed_what_and_when(as_user, clock, csp_ready, demo):
    api = as_user("nordit_sales")
    clock.now = at("2023-01-15T10:00:00")
    sub_id = order(api, csp_ready)["subscription"]["id"]
    clock.now = at("2023-02-01T10:00:00")
    api("""mutation($id: ID!) { subscriptionAutoRenewSet(input: {subscriptionId: $id, enabled: false}) { errors { code } } }""", {"id": sub_id})
    history = api(DETAIL, {"id": sub_id})["subscription"]["history"]
    assert [(h["kind"], h["actorId"], h["at"]) for h in history] == [
        ("CREATED", demo.users["nordit_sales"].id, "2023-01-15T10:00:00+00:00"),
        ("AUTO_RENEW_CHANGED", demo.users["nordit_sales"].id, "2023-02-01T10:00:00+00:00"),
    ]


def test_order_retry_with_the_same_idempotency_key_orders_once(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    first = order(api, csp_ready, key="po-2023-001")["subscription"]["id"]
    second = order(api, csp_ready, key="po-2023-001")["subscription"]["id"]
    listed = api("""query($c: ID!) { subscriptions(customerId: $c) { nodes { id } } }""", {"c": csp_ready})["subscriptions"]["nodes"]
    assert first == second and listed == [{"id": first}]


@pytest.mark.parametrize("actor,visible", [("nordit_admin", True), ("kanzlei_office", True), ("suedcloud_admin", False), ("hanse_it", False), ("distributor", True)])
def test_subscriptions_are_visible_to_the_selling_partner_the_customer_and_the_distributor(as_user, csp_ready, actor, visible):
    sub_id = order(as_user("nordit_sales"), csp_ready)["subscription"]["id"]
    assert (as_user(actor)(DETAIL, {"id": sub_id})["subscription"] is not None) is visible


def test_report_only_customer_users_do_not_see_contracts(as_user, demo):
    sub_id = demo.subscriptions["hanse_standard"].id
    assert as_user("hanse_it")(DETAIL, {"id": sub_id})["subscription"]["quantity"] == 12
    assert as_user("hanse_staff")(DETAIL, {"id": sub_id})["subscription"] is None


def test_a_partner_without_csp_ordering_cannot_order(as_user, demo, services, csp_ready):
    from domain.organisations import PartnerPermission, Role
    from domain.policy import Principal
    from domain.services import organisations as svc
    from infra.auth import mint_dev_token
    from tests.e2e.conftest import Api

    viewer = svc.create_user(services.uow(), Principal.of(demo.users["distributor"]), svc.NewUser(
        demo.partners["nordit"].id, "viewer@nordit.example", "Vera View", Role.PARTNER_STAFF,
        permissions=frozenset({PartnerPermission.GENERAL_ACCESS})), now=datetime.now(timezone.utc))
    api = Api(as_user("nordit_admin").client, mint_dev_token(services.settings, viewer.id))
    assert order(api, csp_ready)["errors"][0]["code"] == "FORBIDDEN"
