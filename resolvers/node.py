"""`node(id)`: any object by its typed id, if the viewer may see it."""

import strawberry

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
    return None
