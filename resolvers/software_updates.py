"""Resolvers of software updates that interrupt users: input -> service call -> ticket payload."""

import strawberry

from domain.services import software_updates as service
from resolvers.context import Info
from resolvers.errors import payload_errors
from schema import tickets as t


def _ticket(info: Info, ticket) -> t.Ticket:
    return t.Ticket.of(ticket, info.context.principal)


@payload_errors(t.TicketPayload)
async def software_update_request(info: Info, input: t.SoftwareUpdateRequestInput) -> t.TicketPayload:
    ctx = info.context
    command = service.UpdateRequest(str(input.asset_id), tuple(input.wished_dates), input.note, input.caller_name, input.caller_email,
                                    str(input.caller_user_id) if input.caller_user_id is not None else None)
    created = await ctx.run(service.request_update_retrying, ctx.uow, ctx.principal, command, now=ctx.now, mailer=ctx.services.mailer)
    return t.TicketPayload(ticket=_ticket(info, created))


@payload_errors(t.TicketPayload)
async def software_update_schedule(info: Info, input: t.SoftwareUpdateScheduleInput) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.schedule_update, ctx.uow(), ctx.principal, str(input.ticket_id), starts_at=input.starts_at,
                            now=ctx.now, mailer=ctx.services.mailer)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def software_update_confirm(info: Info, input: t.SoftwareUpdateAnswerInput) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.confirm_update, ctx.uow(), ctx.principal, str(input.ticket_id), now=ctx.now,
                            mailer=ctx.services.mailer, caller_name=input.caller_name)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def software_update_decline(info: Info, input: t.SoftwareUpdateDeclineInput) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.decline_update, ctx.uow(), ctx.principal, str(input.ticket_id), now=ctx.now,
                            mailer=ctx.services.mailer, wished_dates=tuple(input.wished_dates), note=input.note,
                            caller_name=input.caller_name)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def software_update_record_installed(info: Info, ticket_id: strawberry.ID) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.record_installed, ctx.uow(), ctx.principal, str(ticket_id), now=ctx.now, mailer=ctx.services.mailer)
    return t.TicketPayload(ticket=_ticket(info, changed))
