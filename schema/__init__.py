"""The GraphQL schema: every query and mutation, and the limits that protect them."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    SchemaExtension,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from domain.errors import DomainError
from resolvers import organisations as org
from resolvers import node as node_resolvers
from resolvers import subscriptions as sub
from schema import organisations as t
from schema import subscriptions as st
from schema.common import Node
from schema.limits import IntrospectionDepthLimit
from schema.pagination import Connection

log = logging.getLogger("partnerhub.graphql")

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 20

# The limiters build a new validation rule class per instance, and the ValidationCache is keyed by the
# rule classes: built per request, they made every request a cache miss. Built once, the cache hits.
VALIDATION_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    IntrospectionDepthLimit,  # QueryDepthLimiter skips introspection
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


@strawberry.type
class Query:
    me: t.Viewer = strawberry.field(resolver=org.me, description="The signed-in user and its organisation.")
    node: Node | None = strawberry.field(resolver=node_resolvers.node, description="Any object by its id, if you may see it.")
    customer: t.Customer | None = strawberry.field(resolver=org.customer)
    partner: t.Partner | None = strawberry.field(resolver=org.partner)
    customers: Connection[t.Customer] = strawberry.field(
        resolver=org.customers, description="Distributor: all customers; partner: its linked customers; customer: itself."
    )
    partners: Connection[t.Partner] = strawberry.field(resolver=org.partners, description="Distributor: all partners; partner: itself.")
    users: Connection[t.User] = strawberry.field(resolver=org.users)
    products: list[st.Product] = strawberry.field(resolver=sub.products, description="The catalogue, with dated prices.")
    subscription: st.Subscription | None = strawberry.field(resolver=sub.subscription)
    subscriptions: Connection[st.Subscription] = strawberry.field(
        resolver=sub.subscriptions, description="Per customer or per partner; partners see what they sell, extended customer users their own."
    )
    renewal_planner: Connection[st.Subscription] = strawberry.field(
        resolver=sub.renewal_planner, description="What renews or ends in the next `days` days, in order of term end."
    )
    subscription_preview: st.SubscriptionPreview = strawberry.field(
        resolver=sub.subscription_preview, description="What a change would do (charge or credit, windows, next price). Writes nothing."
    )
    saas_subscriptions: Connection[st.SaasSubscription] = strawberry.field(resolver=sub.saas_subscriptions)


@strawberry.type
class Mutation:
    partner_create: t.PartnerPayload = strawberry.mutation(resolver=org.partner_create)
    partner_microsoft_ids_set: t.PartnerPayload = strawberry.mutation(
        resolver=org.partner_microsoft_ids_set,
        description="Partners enter their Microsoft IDs once; later changes go through the distributor.",
    )
    customer_create: t.CustomerPayload = strawberry.mutation(resolver=org.customer_create)
    customer_update: t.CustomerPayload = strawberry.mutation(resolver=org.customer_update)
    customer_billing_mode_switch: t.BillingModeSwitchPayload = strawberry.mutation(
        resolver=org.customer_billing_mode_switch,
        description="The customer chooses who pays from now on; the partner is e-mailed. Issued invoices never move.",
    )
    partnership_create: t.CustomerPayload = strawberry.mutation(resolver=org.partnership_create)
    partnership_access_level_set: t.CustomerPayload = strawberry.mutation(resolver=org.partnership_access_level_set)
    user_create: t.UserPayload = strawberry.mutation(resolver=org.user_create)
    customer_tenant_create: st.TenantCreatePayload = strawberry.mutation(resolver=sub.customer_tenant_create)
    customer_tenant_link: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_tenant_link)
    customer_tenant_link_confirm: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_tenant_link_confirm)
    customer_agreement_accept: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_agreement_accept)
    customer_eligibility_grant: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_eligibility_grant)
    price_change_schedule: st.CataloguePayload = strawberry.mutation(
        resolver=sub.price_change_schedule, description="Announce a price change from a future date; running terms keep their price."
    )
    subscription_order: st.SubscriptionPayload = strawberry.mutation(resolver=sub.subscription_order)
    subscription_seats_increase: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_seats_increase)
    subscription_seats_reduce: st.SubscriptionChangePayload = strawberry.mutation(
        resolver=sub.subscription_seats_reduce, description="Only seats still inside their 168-hour window can be removed."
    )
    subscription_cancel: st.SubscriptionChangePayload = strawberry.mutation(
        resolver=sub.subscription_cancel, description="Ends use at once and cannot be undone; only inside the 168-hour window."
    )
    subscription_auto_renew_set: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_auto_renew_set)
    subscription_renewal_change_schedule: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_renewal_change_schedule)
    subscription_renewal_change_remove: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_renewal_change_remove)
    subscription_upgrade: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_upgrade)
    saas_subscription_create: st.SaasSubscriptionPayload = strawberry.mutation(resolver=sub.saas_subscription_create)


class DomainErrorExtensions(SchemaExtension):
    """Queries report expected failures (a bad cursor, a page too large) with code, field and hint."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, DomainError):
                error.extensions = {"code": original.code.value, "field": original.field, "hint": original.hint}


def should_mask(error: GraphQLError) -> bool:
    """Hide unexpected exceptions; keep GraphQL's own validation messages and domain errors."""
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError)):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[t.Distributor, t.Partner, t.Customer, t.User, st.Subscription, st.SaasSubscription, st.Product],
    extensions=[
        # Factories: a fresh extension per request; the parser and validation caches are module-wide.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(VALIDATION_RULES),
        DomainErrorExtensions,
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error. It has been logged."),
    ],
)
