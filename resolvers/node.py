"""`node(id)`: any object by its typed id, if the viewer may see it."""

import strawberry

from domain.calendar import berlin_date
from domain.ids import prefix_of
from domain.policy import can_view_organisation, can_view_users
from resolvers.context import Info
from resolvers.organisations import visible_organisation
from schema import organisations as t
from schema.common import Node

ORGANISATION_PREFIXES = {"dst", "ptn", "cus"}


async def node(info: Info, id: strawberry.ID) -> Node | None:
    prefix = prefix_of(id)
    if prefix in ORGANISATION_PREFIXES:
        return await visible_organisation(info, id)
    if prefix == "usr":
        ctx = info.context
        user = await ctx.loaders.user_by_id.load(id)
        if user is None:
            return None
        if user.id != ctx.principal.user_id:
            organisation = await ctx.loaders.organisation_by_id.load(user.organisation_id)
            if organisation is None or not (
                can_view_organisation(ctx.principal, organisation) and can_view_users(ctx.principal, organisation)
            ):
                return None
        return t.User.of(user)
    if prefix in ("tkt", "srv"):  # service desk: a ticket or a service report
        from resolvers import tickets

        return await (tickets.ticket if prefix == "tkt" else tickets.service_report)(info, id)
    if prefix == "inv":
        from resolvers.invoices import invoice

        return await invoice(info, id)
    return await _commercial_node(info, prefix, str(id))


async def _commercial_node(info: Info, prefix: str, id: str) -> Node | None:
    """Subscriptions (CSP or reseller SaaS, both `sub_`), products, contracts and assets, under the rules of their lists."""
    ctx = info.context
    if prefix == "sub":
        from domain.services import subscriptions as subscription_service
        from resolvers.subscriptions import subscription
        from schema.subscriptions import SaasSubscription

        found = await subscription(info, strawberry.ID(id))
        if found is not None:
            return found
        saas = await ctx.run(subscription_service.get_visible_saas_subscription, ctx.uow(), ctx.principal, id)
        return SaasSubscription.of(saas, berlin_date(ctx.now)) if saas else None
    if prefix == "prd":
        from schema.subscriptions import Product

        catalogue = await ctx.loaders.catalogue()
        product = catalogue.products.get(id)
        return Product.of(product, catalogue) if product else None
    if prefix in ("ctr", "ast"):
        from domain.services import contracts as contract_service
        from schema import tickets as tt

        if prefix == "ctr":
            contract = await ctx.run(contract_service.get_visible_contract, ctx.uow(), ctx.principal, id)
            return tt.Contract.of(contract) if contract else None
        asset = await ctx.run(contract_service.get_visible_asset, ctx.uow(), ctx.principal, id)
        return tt.Asset.of(asset) if asset else None
    return None
