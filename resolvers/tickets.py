"""Resolvers of the service desk: input -> service call -> payload (tickets, reports, contracts, assets, statistics)."""

from datetime import date

import strawberry

from domain import contracts as ct
from domain.assets import AssetKind
from domain.money import Money
from domain.services import contracts as contract_service
from domain.services import tickets as service
from domain.tickets import MonitoringAlert, can_view_ticket
from resolvers.context import Info
from resolvers.errors import payload_errors
from schema import tickets as t
from schema.common import Money as MoneyType
from schema.common import PresignedUpload
from schema.pagination import Connection
from schema.subscriptions import KeyValue


def _render_service_report(*args, **kwargs) -> bytes:
    """The PDF code is imported on first use: most requests never render a report."""
    from infra.report_pdf import render_service_report

    return render_service_report(*args, **kwargs)


def _money(value: t.MoneyInput | None) -> Money | None:
    return Money(value.amount, value.currency.strip().upper()) if value is not None else None


def _ticket(info: Info, ticket) -> t.Ticket:
    return t.Ticket.of(ticket, info.context.principal)


# --- queries -------------------------------------------------------------------------------


async def ticket(info: Info, id: strawberry.ID) -> t.Ticket | None:
    ctx = info.context
    found = await ctx.loaders.ticket_by_id.load(str(id))  # started while signing in (resolvers/sign_in.py)
    customer = await ctx.loaders.organisation_by_id.load(found.customer_id) if found else None
    if customer is None or not can_view_ticket(ctx.principal, found, customer):
        return None
    return _ticket(info, found)


async def tickets(
    info: Info, customer_id: strawberry.ID | None = None, status: t.TicketStatus | None = None, first: int | None = 20, after: str | None = None
) -> Connection[t.Ticket]:
    ctx = info.context
    page = await ctx.run(service.list_tickets, ctx.uow(), ctx.principal, customer_id=customer_id, status=status, first=first, after=after)
    return Connection.of(page, lambda x: _ticket(info, x))


async def inbound_emails_awaiting_triage(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.InboundEmail]:
    ctx = info.context
    page = await ctx.run(service.list_emails_awaiting_triage, ctx.uow(), ctx.principal, first=first, after=after)
    return Connection.of(page, t.InboundEmail.of)


async def service_report(info: Info, id: strawberry.ID) -> t.ServiceReport | None:
    ctx = info.context
    found = await ctx.run(service.get_visible_service_report, ctx.uow(), ctx.principal, id)
    return t.ServiceReport.of(found) if found else None


async def service_reports(info: Info, customer_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[t.ServiceReport]:
    ctx = info.context
    page = await ctx.run(service.list_service_reports, ctx.uow(), ctx.principal, customer_id, first=first, after=after)
    return Connection.of(page, t.ServiceReport.of)


async def contracts(info: Info, customer_id: strawberry.ID) -> list[t.Contract]:
    ctx = info.context
    found = await ctx.run(contract_service.list_contracts, ctx.uow(), ctx.principal, customer_id)
    return [t.Contract.of(c) for c in found]


async def assets(info: Info, customer_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[t.Asset]:
    ctx = info.context
    page = await ctx.run(contract_service.list_assets, ctx.uow(), ctx.principal, customer_id, first=first, after=after)
    return Connection.of(page, t.Asset.of)


async def assets_expiring(info: Info, customer_id: strawberry.ID, days: int = 30) -> list[t.AssetExpiry]:
    ctx = info.context
    found = await ctx.run(contract_service.expiring_assets, ctx.uow(), ctx.principal, customer_id, days=days, now=ctx.now)
    return [t.AssetExpiry(asset=t.Asset.of(e.asset), kind=e.kind, on=e.on, days_left=e.days_left) for e in found]


async def service_statistics(info: Info, customer_id: strawberry.ID, from_month: str, to_month: str) -> t.ServiceStatistics | None:
    ctx = info.context
    found = await ctx.run(contract_service.statistics, ctx.uow(), ctx.principal, customer_id, first_month=from_month, last_month=to_month, now=ctx.now)
    return t.ServiceStatistics.of(found) if found else None


# --- tickets --------------------------------------------------------------------------------


@payload_errors(t.TicketPayload)
async def ticket_create(info: Info, input: t.TicketCreateInput, idempotency_key: str | None = None) -> t.TicketPayload:
    ctx = info.context
    command = service.NewTicket(str(input.customer_id), input.subject, input.description, input.branch_key)
    created = await ctx.run(service.open_portal_ticket, ctx.uow(), ctx.principal, command, now=ctx.now, mailer=ctx.services.mailer,
                            idempotency_key=idempotency_key)
    return t.TicketPayload(ticket=_ticket(info, created))


@payload_errors(t.MonitoringAlertQualifyPayload)
async def monitoring_alert_qualify(info: Info, input: t.MonitoringAlertQualifyInput) -> t.MonitoringAlertQualifyPayload:
    ctx = info.context
    alert = MonitoringAlert(alert_id=input.alert_id, customer_id=str(input.customer_id), kind=input.kind, host=input.host,
                            sensor=input.sensor, message=input.message, raised_at=input.raised_at)
    ticket, created = await ctx.run(service.qualify_monitoring_alert, ctx.uow(), ctx.principal,
                                    service.QualifiedAlert(alert, input.subject, input.note), now=ctx.now, mailer=ctx.services.mailer)
    return t.MonitoringAlertQualifyPayload(ticket=_ticket(info, ticket), created=created)


@payload_errors(t.TicketPayload)
async def ticket_hotline_create(info: Info, input: t.TicketHotlineCreateInput, idempotency_key: str | None = None) -> t.TicketPayload:
    ctx = info.context
    command = service.NewHotlineTicket(str(input.customer_id), input.subject, input.description, input.caller_name, input.caller_email,
                                       str(input.caller_user_id) if input.caller_user_id else None, input.branch_key)
    created = await ctx.run(service.open_hotline_ticket, ctx.uow(), ctx.principal, command, now=ctx.now, mailer=ctx.services.mailer,
                            idempotency_key=idempotency_key)
    return t.TicketPayload(ticket=_ticket(info, created))


def _make_ticket_of_email(services, principal, key: str, customer_id: str, *, now):
    """The e-mail code (MIME parsing, attachments) is imported on first use: most requests never need it."""
    from infra.inbound_email import InboundEmailProcessor

    return InboundEmailProcessor(services).make_ticket_of(principal, key, customer_id, now=now)


@payload_errors(t.InboundEmailTicketCreatePayload)
async def inbound_email_ticket_create(info: Info, input: t.InboundEmailTicketCreateInput) -> t.InboundEmailTicketCreatePayload:
    ctx = info.context
    made = await ctx.run(_make_ticket_of_email, ctx.services, ctx.principal, input.key, str(input.customer_id), now=ctx.now)
    return t.InboundEmailTicketCreatePayload(ticket=_ticket(info, made.ticket), inbound_email=t.InboundEmail.of(made.email), created=made.created)


@payload_errors(t.InboundEmailPayload)
async def inbound_email_dismiss(info: Info, input: t.InboundEmailDismissInput) -> t.InboundEmailPayload:
    ctx = info.context
    record = await ctx.run(service.dismiss_email, ctx.uow(), ctx.principal, input.key, reason=input.reason, now=ctx.now)
    return t.InboundEmailPayload(inbound_email=t.InboundEmail.of(record))


@payload_errors(t.TicketPayload)
async def ticket_comment_add(info: Info, ticket_id: strawberry.ID, body: str, internal: bool = False) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.add_comment, ctx.uow(), ctx.principal, ticket_id, body=body, internal=internal, now=ctx.now,
                            mailer=ctx.services.mailer)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def ticket_status_change(info: Info, ticket_id: strawberry.ID, status: t.TicketStatus, note: str | None = None) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.change_status, ctx.uow(), ctx.principal, ticket_id, status=status, note=note, now=ctx.now,
                            mailer=ctx.services.mailer)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def ticket_assign(info: Info, ticket_id: strawberry.ID, assignee_id: strawberry.ID | None = None) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.assign, ctx.uow(), ctx.principal, ticket_id, technician_id=assignee_id, now=ctx.now)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TicketPayload)
async def ticket_branch_set(info: Info, ticket_id: strawberry.ID, branch_key: str | None = None) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.set_branch, ctx.uow(), ctx.principal, str(ticket_id), branch_key=branch_key, now=ctx.now)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.TimeEntryPayload)
async def ticket_time_entry_add(info: Info, ticket_id: strawberry.ID, input: t.TimeEntryInput) -> t.TimeEntryPayload:
    ctx = info.context
    entry = service.NewTimeEntry(input.work_date, input.minutes, input.billable, input.description, input.reason,
                                 str(input.technician_id) if input.technician_id else None)
    changed, recorded = await ctx.run(service.record_time, ctx.uow(), ctx.principal, ticket_id, entry, now=ctx.now)
    return t.TimeEntryPayload(ticket=_ticket(info, changed), time_entry=t.TimeEntry.of(recorded))


@payload_errors(t.TimeEntryPayload)
async def ticket_time_entry_update(
    info: Info, ticket_id: strawberry.ID, time_entry_id: strawberry.ID, input: t.TimeEntryInput,
) -> t.TimeEntryPayload:
    ctx = info.context
    entry = service.NewTimeEntry(input.work_date, input.minutes, input.billable, input.description, input.reason,
                                 str(input.technician_id) if input.technician_id else None)
    changed, corrected = await ctx.run(service.correct_time, ctx.uow(), ctx.principal, ticket_id, str(time_entry_id), entry, now=ctx.now)
    return t.TimeEntryPayload(ticket=_ticket(info, changed), time_entry=t.TimeEntry.of(corrected))


@payload_errors(t.TimeEntryPayload)
async def ticket_time_entry_delete(info: Info, ticket_id: strawberry.ID, time_entry_id: strawberry.ID) -> t.TimeEntryPayload:
    ctx = info.context
    changed, deleted = await ctx.run(service.delete_time, ctx.uow(), ctx.principal, ticket_id, str(time_entry_id), now=ctx.now)
    return t.TimeEntryPayload(ticket=_ticket(info, changed), time_entry=t.TimeEntry.of(deleted))


@payload_errors(t.AttachmentUploadPayload)
async def ticket_attachment_upload_start(
    info: Info, ticket_id: strawberry.ID, filename: str, content_type: str, size_bytes: int
) -> t.AttachmentUploadPayload:
    ctx = info.context
    upload = await ctx.run(service.start_attachment_upload, ctx.uow(), ctx.services.documents, ctx.principal, ticket_id,
                           filename=filename, content_type=content_type, size_bytes=size_bytes)
    return t.AttachmentUploadPayload(upload=PresignedUpload.of(upload))


@payload_errors(t.TicketPayload)
async def ticket_attachment_add(
    info: Info, ticket_id: strawberry.ID, key: str, filename: str, content_type: str, size_bytes: int
) -> t.TicketPayload:
    ctx = info.context
    changed = await ctx.run(service.add_uploaded_attachment, ctx.uow(), ctx.services.documents, ctx.principal, ticket_id, key=key,
                            filename=filename, content_type=content_type, size_bytes=size_bytes, now=ctx.now)
    return t.TicketPayload(ticket=_ticket(info, changed))


@payload_errors(t.ServiceReportPayload)
async def service_report_create(
    info: Info, ticket_id: strawberry.ID | None = None, customer_id: strawberry.ID | None = None,
    first_day: date | None = None, last_day: date | None = None,
) -> t.ServiceReportPayload:
    ctx = info.context
    report = await ctx.run(
        service.create_service_report, ctx.uow(), ctx.principal, now=ctx.now, documents=ctx.services.documents, mailer=ctx.services.mailer,
        render=_render_service_report, ticket_id=ticket_id, customer_id=customer_id, first_day=first_day, last_day=last_day,
    )
    return t.ServiceReportPayload(service_report=t.ServiceReport.of(report))


# --- contracts and assets ------------------------------------------------------------------------


@payload_errors(t.ContractPayload)
async def contract_create(info: Info, input: t.ContractCreateInput) -> t.ContractPayload:
    ctx = info.context
    quota = None
    if input.quota is not None:
        quota = ct.QuotaTerms(input.quota.monthly_minutes, _money(input.quota.monthly_price), input.quota.overdraft_allowed,
                              _money(input.quota.overdraft_hourly_rate))
    command = contract_service.NewContract(
        customer_id=str(input.customer_id), kind=input.kind, starts_on=input.starts_on,
        rates=ct.Rates(_money(input.hourly_rate), _money(input.daily_rate), _money(input.travel_flat), _money(input.travel_per_km)),
        ends_on=input.ends_on, reaction_times=ct.ReactionTimes(input.reaction_time_critical_hours, input.reaction_time_normal_hours),
        quota=quota, monthly_flat_rate=_money(input.monthly_flat_rate),
        managed_services=tuple(ct.ManagedService(s.code.strip(), s.name.strip(), s.unit.strip(), _money(s.unit_price)) for s in input.managed_services),
        backup_responsibility=input.backup_responsibility, account_manager=input.account_manager, branch_key=input.branch_key,
    )
    created = await ctx.run(contract_service.create_contract, ctx.uow(), ctx.principal, command, now=ctx.now)
    return t.ContractPayload(contract=t.Contract.of(created))


@payload_errors(t.ContractPayload)
async def contract_quota_overdraft_set(
    info: Info, input: t.ContractQuotaOverdraftSetInput, idempotency_key: str | None = None,
) -> t.ContractPayload:
    ctx = info.context
    command = contract_service.OverdraftSetting(str(input.contract_id), input.allowed, _money(input.hourly_rate))
    changed = await ctx.run(contract_service.set_quota_overdraft, ctx.uow(), ctx.principal, command, now=ctx.now,
                            idempotency_key=idempotency_key)
    return t.ContractPayload(contract=t.Contract.of(changed))


@payload_errors(t.ContractPayload)
async def contract_branch_set(info: Info, input: t.ContractBranchSetInput, idempotency_key: str | None = None) -> t.ContractPayload:
    ctx = info.context
    command = contract_service.ContractBranch(str(input.contract_id), input.branch_key)
    changed = await ctx.run(contract_service.set_contract_branch, ctx.uow(), ctx.principal, command, now=ctx.now,
                            idempotency_key=idempotency_key)
    return t.ContractPayload(contract=t.Contract.of(changed))


@payload_errors(t.ContractPayload)
async def contract_end(info: Info, input: t.ContractEndInput, idempotency_key: str | None = None) -> t.ContractPayload:
    ctx = info.context
    command = contract_service.ContractEnd(str(input.contract_id), input.ends_on)
    ended = await ctx.run(contract_service.end_contract, ctx.uow(), ctx.principal, command, now=ctx.now,
                          idempotency_key=idempotency_key)
    return t.ContractPayload(contract=t.Contract.of(ended))


@payload_errors(t.QuotaMonthPayload)
async def contract_quota_month_book(info: Info, contract_id: strawberry.ID, month: str) -> t.QuotaMonthPayload:
    """Close the previous month (overdraft correction) and credit ``month``; booking twice books once."""
    ctx = info.context
    outcome = await ctx.run(contract_service.book_quota_month, ctx.uow(), ctx.principal, contract_id, month=month, now=ctx.now)
    contract = await ctx.run(ctx.uow().contracts.get, contract_id)
    correction = outcome.correction
    return t.QuotaMonthPayload(
        contract=t.Contract.of(contract), overdraft_minutes=correction.entry.minutes if correction else 0,
        overdraft_amount=MoneyType.of(correction.amount) if correction else None,
    )


@payload_errors(t.ManagedServiceUsagePayload)
async def managed_service_usage_record(
    info: Info, input: t.ManagedServiceUsageRecordInput, idempotency_key: str | None = None,
) -> t.ManagedServiceUsagePayload:
    """Book a month's use of managed services for the next billing run; again before it is billed replaces it."""
    ctx = info.context
    command = contract_service.ManagedUsage(str(input.contract_id), input.month, tuple((u.code, u.quantity) for u in input.usage))
    contract = await ctx.run(contract_service.record_managed_usage, ctx.uow(), ctx.principal, command, now=ctx.now,
                             idempotency_key=idempotency_key)
    recorded = contract.managed_usage_of(input.month)
    return t.ManagedServiceUsagePayload(contract=t.Contract.of(contract),
                                        recorded=t.ManagedServiceMonth.of(contract, recorded) if recorded else None)


@payload_errors(t.MaintenanceSchedulePayload)
async def maintenance_schedule_add(
    info: Info, contract_id: strawberry.ID, subject: str, every_months: int, first_due: date, lead_days: int = 0, description: str = "",
    managed_service_code: str | None = None,
) -> t.MaintenanceSchedulePayload:
    ctx = info.context
    s = await ctx.run(contract_service.add_maintenance_schedule, ctx.uow(), ctx.principal, contract_id, subject=subject,
                      every_months=every_months, anchor=first_due, now=ctx.now, lead_days=lead_days, description=description,
                      managed_service_code=managed_service_code)
    return t.MaintenanceSchedulePayload(schedule=t.MaintenanceSchedule.of(s))


@payload_errors(t.MaintenanceSchedulePayload)
async def maintenance_schedule_update(info: Info, input: t.MaintenanceScheduleUpdateInput) -> t.MaintenanceSchedulePayload:
    ctx = info.context
    changes = contract_service.ScheduleChanges(subject=input.subject, every_months=input.every_months, lead_days=input.lead_days,
                                               description=input.description)
    changed = await ctx.run(contract_service.change_maintenance_schedule, ctx.uow(), ctx.principal, str(input.schedule_id), changes,
                            now=ctx.now)
    return t.MaintenanceSchedulePayload(schedule=t.MaintenanceSchedule.of(changed))


@payload_errors(t.MaintenanceSchedulePayload)
async def maintenance_schedule_end(info: Info, schedule_id: strawberry.ID, last_day: date) -> t.MaintenanceSchedulePayload:
    ctx = info.context
    ended = await ctx.run(contract_service.end_maintenance_schedule, ctx.uow(), ctx.principal, str(schedule_id), last_day=last_day,
                          now=ctx.now)
    return t.MaintenanceSchedulePayload(schedule=t.MaintenanceSchedule.of(ended))


@payload_errors(t.AssetPayload)
async def asset_create(info: Info, input: t.AssetCreateInput) -> t.AssetPayload:
    ctx = info.context
    created = await ctx.run(
        contract_service.create_asset, ctx.uow(), ctx.principal, str(input.customer_id), now=ctx.now, kind=AssetKind(input.kind.value),
        name=input.name, manufacturer=input.manufacturer, model=input.model, serial_number=input.serial_number,
        technical_data={kv.key: kv.value for kv in input.technical_data}, purchased_on=input.purchased_on,
        warranty_until=input.warranty_until, licence_expires_on=input.licence_expires_on, interrupts_users=input.interrupts_users,
    )
    return t.AssetPayload(asset=t.Asset.of(created))


@payload_errors(t.AssetPayload)
async def asset_update(info: Info, input: t.AssetUpdateInput) -> t.AssetPayload:
    ctx = info.context
    updated = await ctx.run(
        contract_service.update_asset, ctx.uow(), ctx.principal, str(input.asset_id),
        kind=AssetKind(input.kind.value) if input.kind is not None else None, name=input.name, manufacturer=input.manufacturer,
        model=input.model, serial_number=input.serial_number,
        technical_data={kv.key: kv.value for kv in input.technical_data} if input.technical_data is not None else None,
        purchased_on=input.purchased_on, warranty_until=input.warranty_until, licence_expires_on=input.licence_expires_on,
        interrupts_users=input.interrupts_users,
    )
    return t.AssetPayload(asset=t.Asset.of(updated))
