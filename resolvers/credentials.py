"""Resolvers of the credential store: input -> service call -> payload (rules: domain.credentials)."""

from typing import Iterable

import strawberry

from domain import credentials as cr
from domain.ports import Page
from domain.services import credentials as service
from resolvers.context import Info
from resolvers.errors import payload_errors
from schema import credentials as t
from schema.pagination import Connection


async def _credentials(info: Info, credentials: Iterable[cr.Credential]) -> list[t.Credential]:
    """The credentials as the principal sees them, with the users of the access shown (for staff who asked; for a customer
    user itself), loaded in one batch: whether a grant is in force depends on its user."""
    ctx, found = info.context, list(credentials)
    user_ids = sorted({a.user_id for c in found for a in cr.view_for(ctx.principal, c).access_requests}
                      | ({ctx.principal.user_id} if ctx.principal.is_customer and found else set()))
    users = {u.id: u for u in await ctx.loaders.user_by_id.load_many(user_ids) if u is not None}
    return [t.Credential.of(c, ctx.principal, users) for c in found]


async def _credential(info: Info, credential: cr.Credential) -> t.Credential:
    return (await _credentials(info, [credential]))[0]


async def _connection(info: Info, page: Page[cr.Credential]) -> Connection[t.Credential]:
    return Connection.of(Page(await _credentials(info, page.items), page.next_cursor), lambda node: node)


# --- queries -------------------------------------------------------------------------------


async def credential(info: Info, id: strawberry.ID) -> t.Credential | None:
    ctx = info.context
    found = await ctx.run(service.get_visible_credential, ctx.uow(), ctx.principal, str(id))
    return await _credential(info, found) if found else None


async def credentials(info: Info, customer_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[t.Credential]:
    ctx = info.context
    page = await ctx.run(service.list_credentials, ctx.uow(), ctx.principal, str(customer_id), first=first, after=after)
    return await _connection(info, page)


async def credentials_awaiting_access_decision(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.Credential]:
    ctx = info.context
    page = await ctx.run(service.list_awaiting_decision, ctx.uow(), ctx.principal, first=first, after=after)
    return await _connection(info, page)


async def credential_audit(info: Info, credential_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[t.CredentialEvent]:
    ctx = info.context
    page = await ctx.run(service.audit_trail, ctx.uow(), ctx.principal, str(credential_id), first=first, after=after)
    return Connection.of(page, t.CredentialEvent.of)


# --- mutations -----------------------------------------------------------------------------


@payload_errors(t.CredentialPayload)
async def credential_create(info: Info, input: t.CredentialCreateInput) -> t.CredentialPayload:
    ctx = info.context
    command = service.NewCredential(str(input.customer_id), input.label, input.password, system=input.system, username=input.username,
                                    note=input.note)
    created = await ctx.run(service.create_credential, ctx.uow(), ctx.services.secrets, ctx.principal, command, now=ctx.now)
    return t.CredentialPayload(credential=await _credential(info, created))


@payload_errors(t.CredentialPayload)
async def credential_update(info: Info, input: t.CredentialUpdateInput) -> t.CredentialPayload:
    ctx = info.context
    changes = service.CredentialChanges(label=input.label, system=input.system, username=input.username, password=input.password,
                                        note=input.note)
    updated = await ctx.run(service.update_credential, ctx.uow(), ctx.services.secrets, ctx.principal, str(input.credential_id), changes,
                            now=ctx.now)
    return t.CredentialPayload(credential=await _credential(info, updated))


@payload_errors(t.CredentialDeletePayload)
async def credential_delete(info: Info, credential_id: strawberry.ID) -> t.CredentialDeletePayload:
    ctx = info.context
    deleted = await ctx.run(service.delete_credential, ctx.uow(), ctx.principal, str(credential_id), now=ctx.now)
    return t.CredentialDeletePayload(deleted_credential_id=strawberry.ID(deleted))


@payload_errors(t.CredentialRevealPayload)
async def credential_reveal(info: Info, credential_id: strawberry.ID) -> t.CredentialRevealPayload:
    ctx = info.context
    found = await ctx.run(service.reveal_credential_retrying, ctx.uow, ctx.services.secrets, ctx.principal, str(credential_id), now=ctx.now)
    c, secret = found.credential, found.secret
    return t.CredentialRevealPayload(secret=t.CredentialSecret(
        credential_id=strawberry.ID(c.id), label=c.label, system=c.system, username=secret.username, password=secret.password,
        note=secret.note, revealed_at=found.revealed_at,
    ))


@payload_errors(t.CredentialPayload)
async def credential_access_request(info: Info, credential_id: strawberry.ID, reason: str | None = None) -> t.CredentialPayload:
    ctx = info.context
    changed = await ctx.run(service.request_access, ctx.uow(), ctx.principal, str(credential_id), reason=reason, now=ctx.now)
    return t.CredentialPayload(credential=await _credential(info, changed))


async def _decide(info: Info, credential_id: strawberry.ID, user_id: strawberry.ID, *, grant: bool, note: str | None) -> t.CredentialPayload:
    ctx = info.context
    changed = await ctx.run(service.decide_access, ctx.uow(), ctx.principal, str(credential_id), user_id=str(user_id), grant=grant, note=note,
                            now=ctx.now)
    return t.CredentialPayload(credential=await _credential(info, changed))


@payload_errors(t.CredentialPayload)
async def credential_access_grant(info: Info, credential_id: strawberry.ID, user_id: strawberry.ID, note: str | None = None) -> t.CredentialPayload:
    return await _decide(info, credential_id, user_id, grant=True, note=note)


@payload_errors(t.CredentialPayload)
async def credential_access_refuse(info: Info, credential_id: strawberry.ID, user_id: strawberry.ID, reason: str | None = None) -> t.CredentialPayload:
    return await _decide(info, credential_id, user_id, grant=False, note=reason)


@payload_errors(t.CredentialPayload)
async def credential_access_revoke(info: Info, credential_id: strawberry.ID, user_id: strawberry.ID) -> t.CredentialPayload:
    ctx = info.context
    changed = await ctx.run(service.revoke_access, ctx.uow(), ctx.principal, str(credential_id), user_id=str(user_id), now=ctx.now)
    return t.CredentialPayload(credential=await _credential(info, changed))
