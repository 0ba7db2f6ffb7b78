"""Service desk: tickets, comments, attachments, time entries, service reports, contracts, assets, statistics.

What a viewer may see is decided in ``domain.tickets`` (the visibility functions) when a
ticket is mapped here: internal notes, their history and time entries reach service staff only.
"""

from datetime import date, datetime
from decimal import Decimal

import strawberry

from domain import assets as a
from domain import contracts as ct
from domain import service_statistics as ss
from domain import software_updates as su
from domain import tickets as tk
from domain.policy import Principal
from domain.ports import InboundEmailRecord
from schema.common import Error, Money, Node, PresignedUpload, enum_of
from schema.organisations import Customer
from schema.subscriptions import KeyValue

TicketStatus = enum_of(tk.TicketStatus, "NEW → IN_PROGRESS / WAITING_FOR_CUSTOMER → RESOLVED → CLOSED (final).")
TicketChannel = enum_of(tk.TicketChannel)
AlertKind = enum_of(tk.AlertKind, "What a monitoring sensor reported: a disk filling up, a failed backup, a crashed virtual server.")
TicketEventKind = enum_of(tk.TicketEventKind)
ServiceReportScope = enum_of(tk.ServiceReportScope)
ContractKind = enum_of(ct.ContractKind)
BackupResponsibility = enum_of(ct.BackupResponsibility)
LedgerEntryKind = enum_of(ct.LedgerEntryKind)
AssetKind = enum_of(a.AssetKind)
TriageDecision = enum_of(tk.TriageDecision)
ExpiryKind = enum_of(a.ExpiryKind)
SoftwareUpdateState = enum_of(
    su.SoftwareUpdateState,
    "REQUESTED → PROPOSED (staff propose a time) → CONFIRMED (by the customer) → INSTALLED (final, within the agreed Berlin "
    "day); the customer asking for another date puts it back to REQUESTED; the ticket resolved or closed otherwise calls it "
    "off: CANCELLED (final, also if the ticket is reopened).",
)


def _pairs(mapping) -> list[KeyValue]:
    return [KeyValue(key=k, value=v) for k, v in sorted(mapping.items())]


@strawberry.type
class TicketReporter:
    user_id: strawberry.ID | None
    email: str | None
    name: str | None


@strawberry.type
class TicketComment:
    id: strawberry.ID
    author: str = strawberry.field(description="A user id, or the sender's address for replies by e-mail.")
    body: str
    at: datetime
    internal: bool = strawberry.field(description="A technician's note; only service staff ever see these.")
    by_staff: bool


@strawberry.type
class TicketAttachment:
    id: strawberry.ID
    filename: str
    content_type: str
    size_bytes: int
    uploaded_by: str
    uploaded_at: datetime
    _key: strawberry.Private[str]

    @strawberry.field(description="A short-lived link to download the file.")
    def download_url(self, info: strawberry.Info) -> str:
        return info.context.services.documents.download_url(self._key, filename=self.filename)


@strawberry.type
class TicketEvent:
    kind: TicketEventKind
    at: datetime
    actor: str
    details: list[KeyValue]


@strawberry.type
class TimeEntry:
    id: strawberry.ID
    technician_id: strawberry.ID
    work_date: date
    minutes: int
    hours: Decimal
    billable: bool
    description: str
    reason: str | None = strawberry.field(description="Why the time is not billable.")
    service_report_id: strawberry.ID | None

    @classmethod
    def of(cls, e: tk.TimeEntry) -> "TimeEntry":
        return cls(id=strawberry.ID(e.id), technician_id=strawberry.ID(e.technician_id), work_date=e.work_date, minutes=e.minutes,
                   hours=e.hours, billable=e.billable, description=e.description, reason=e.reason, service_report_id=e.service_report_id)


@strawberry.type(description="The update of software that interrupts users this ticket requests: installed only at a time "
                             "agreed with the customer, never automatically.")
class SoftwareUpdate:
    asset_id: strawberry.ID
    asset_name: str
    state: SoftwareUpdateState
    requested_by: strawberry.ID
    requested_at: datetime
    caller_name: str | None = strawberry.field(description="A request the service desk recorded by phone: who asked.")
    wished_dates: list[date]
    note: str | None
    starts_at: datetime | None = strawberry.field(description="The proposed (PROPOSED) or agreed (CONFIRMED, INSTALLED) time.")
    confirmed_by: strawberry.ID | None
    confirmed_caller_name: str | None = strawberry.field(description="Confirmed by phone: who confirmed.")
    confirmed_at: datetime | None
    installed_at: datetime | None
    cancelled_at: datetime | None = strawberry.field(description="CANCELLED: when its ticket was resolved or closed.")

    @classmethod
    def of(cls, u: su.SoftwareUpdate) -> "SoftwareUpdate":
        return cls(
            asset_id=strawberry.ID(u.asset_id), asset_name=u.asset_name, state=u.state, requested_by=strawberry.ID(u.requested_by),
            requested_at=u.requested_at, caller_name=u.caller_name, wished_dates=list(u.wished_dates), note=u.note,
            starts_at=u.starts_at, confirmed_by=strawberry.ID(u.confirmed_by) if u.confirmed_by else None,
            confirmed_caller_name=u.confirmed_caller_name, confirmed_at=u.confirmed_at, installed_at=u.installed_at,
            cancelled_at=u.cancelled_at,
        )


@strawberry.type
class Ticket(Node):
    id: strawberry.ID
    number: str
    customer_id: strawberry.ID
    channel: TicketChannel
    status: TicketStatus
    allowed_next_statuses: list[TicketStatus]
    subject: str
    description: str
    reporter: TicketReporter
    assignee_id: strawberry.ID | None
    received_at: datetime
    comments: list[TicketComment] = strawberry.field(description="Internal notes only for service staff.")
    attachments: list[TicketAttachment]
    history: list[TicketEvent]
    time_entries: list[TimeEntry] = strawberry.field(description="Service staff only; customers see time in service reports.")
    software_update: SoftwareUpdate | None = strawberry.field(description="Set on a ticket requesting a software update (softwareUpdateRequest).")
    branch_key: str | None = strawberry.field(
        description="The key of the customer's branch (onboarding.branches, one receiving services) the work is delivered at; null: the head office. "
                    "Its time is billed to that branch (per-branch billing: on the branch's invoice)."
    )

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        from domain.organisations import OrganisationKind
        from resolvers.organisations import visible_organisation

        return await visible_organisation(info, str(self.customer_id), OrganisationKind.CUSTOMER)

    @classmethod
    def of(cls, t: tk.Ticket, principal: Principal) -> "Ticket":
        staff = tk.can_see_internal_notes(principal)
        return cls(
            id=strawberry.ID(t.id), number=t.number, customer_id=strawberry.ID(t.customer_id), channel=t.channel, status=t.status,
            allowed_next_statuses=list(t.allowed_next_statuses), subject=t.subject, description=t.description,
            reporter=TicketReporter(user_id=t.reporter.user_id, email=t.reporter.email, name=t.reporter.name),
            assignee_id=t.assignee_id, received_at=t.received_at,
            comments=[TicketComment(id=strawberry.ID(c.id), author=c.author, body=c.body, at=c.at, internal=c.internal, by_staff=c.by_staff)
                      for c in tk.visible_comments(t, principal)],
            attachments=[TicketAttachment(id=strawberry.ID(x.id), filename=x.filename, content_type=x.content_type, size_bytes=x.size_bytes,
                                          uploaded_by=x.uploaded_by, uploaded_at=x.uploaded_at, _key=x.key) for x in t.attachments],
            history=[TicketEvent(kind=e.kind, at=e.at, actor=e.actor, details=_pairs(e.details)) for e in tk.visible_history(t, principal)],
            time_entries=[TimeEntry.of(e) for e in t.time_entries] if staff else [],
            software_update=SoftwareUpdate.of(t.software_update) if t.software_update else None,
            branch_key=t.branch_key,
        )


@strawberry.input
class TicketCreateInput:
    customer_id: strawberry.ID
    subject: str
    description: str
    branch_key: str | None = strawberry.field(default=None, description="The key of the customer's branch (onboarding.branches, one receiving services) the work is delivered at; null: the head office. ""Refused (INVALID_INPUT) for a branch the customer does not have or that receives no services.")


@strawberry.input
class TicketHotlineCreateInput:
    customer_id: strawberry.ID
    subject: str
    description: str
    caller_name: str
    caller_email: str | None = None
    caller_user_id: strawberry.ID | None = None
    branch_key: str | None = strawberry.field(default=None, description="The key of the customer's branch (onboarding.branches, one receiving services) the work is delivered at; null: the head office. ""Refused (INVALID_INPUT) for a branch the customer does not have or that receives no services.")


@strawberry.input(description="A monitoring alert the monitoring team qualifies into a ticket.")
class MonitoringAlertQualifyInput:
    customer_id: strawberry.ID
    alert_id: str = strawberry.field(description="The monitoring system's id of the alert: one ticket per alert.")
    kind: AlertKind
    host: str
    sensor: str
    message: str = strawberry.field(description="What the sensor reported.")
    raised_at: datetime = strawberry.field(description="When the sensor raised it; the ticket counts as received then.")
    subject: str | None = strawberry.field(default=None, description="Default: from the kind and host, e.g. 'Backup failed on srv-01'.")
    note: str | None = strawberry.field(default=None, description="The monitoring team's assessment, added to the description.")


@strawberry.type
class MonitoringAlertQualifyPayload:
    ticket: Ticket | None = None
    created: bool = strawberry.field(default=False, description="False when this alert was qualified before: its ticket is returned.")
    errors: list[Error] = strawberry.field(default_factory=list)


# --- e-mails awaiting triage -----------------------------------------------------------------


@strawberry.type(description="What the service desk decided about an e-mail from an unknown sender.")
class EmailTriage:
    decision: TriageDecision
    by: strawberry.ID = strawberry.field(description="The staff user who decided.")
    at: datetime
    customer_id: strawberry.ID | None = strawberry.field(description="TICKET_CREATED: whose ticket it became.")
    reason: str | None = strawberry.field(description="DISMISSED: why.")


@strawberry.type(description="An e-mail to the support address from an address of no active customer user: no ticket, "
                             "nobody answered, until the service desk makes a ticket of it or dismisses it.")
class InboundEmail:
    key: str = strawberry.field(description="The raw message's key in the documents store, where it stays.")
    sender: str | None
    sender_name: str | None
    subject: str | None
    received_at: datetime
    reason: str | None = strawberry.field(description="Why it made no ticket by itself.")
    preview: str | None = strawberry.field(description="The start of its text (280 characters), recorded on arrival.")
    ticket_id: strawberry.ID | None
    triage: EmailTriage | None = strawberry.field(description="Null while it awaits triage.")

    @classmethod
    def of(cls, r: InboundEmailRecord) -> "InboundEmail":
        t = r.triage
        return cls(
            key=r.key, sender=r.sender, sender_name=r.sender_name, subject=r.subject, received_at=r.received_at, reason=r.detail,
            preview=r.preview, ticket_id=strawberry.ID(r.ticket_id) if r.ticket_id else None,
            triage=EmailTriage(decision=t.decision, by=strawberry.ID(t.by), at=t.at, reason=t.reason,
                               customer_id=strawberry.ID(t.customer_id) if t.customer_id else None) if t else None,
        )


@strawberry.input
class InboundEmailTicketCreateInput:
    key: str = strawberry.field(description="The key of an e-mail of inboundEmailsAwaitingTriage.")
    customer_id: strawberry.ID = strawberry.field(description="The customer whose ticket it becomes.")


@strawberry.type
class InboundEmailTicketCreatePayload:
    ticket: Ticket | None = None
    inbound_email: InboundEmail | None = None
    created: bool = strawberry.field(default=False, description="False when the e-mail became this ticket before: nothing was created or sent.")
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class InboundEmailDismissInput:
    key: str
    reason: str = strawberry.field(description="Why it needs no ticket, e.g. spam or not for us (up to 500 characters).")


@strawberry.type
class InboundEmailPayload:
    inbound_email: InboundEmail | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class TimeEntryInput:
    work_date: date
    minutes: int = strawberry.field(description="Whole minutes, 1 to 1440.")
    billable: bool
    description: str
    reason: str | None = strawberry.field(default=None, description="Required when not billable; printed on the service report.")
    technician_id: strawberry.ID | None = None


@strawberry.type
class TicketPayload:
    ticket: Ticket | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class TimeEntryPayload:
    ticket: Ticket | None = None
    time_entry: TimeEntry | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class AttachmentUploadPayload:
    upload: PresignedUpload | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


# --- service reports ---------------------------------------------------------------------


@strawberry.type
class ServiceReportLine:
    time_entry_id: strawberry.ID
    ticket_id: strawberry.ID
    ticket_number: str
    work_date: date
    technician_id: strawberry.ID
    minutes: int
    hours: Decimal
    billable: bool
    description: str
    reason: str | None


@strawberry.type
class ServiceReport(Node):
    id: strawberry.ID
    customer_id: strawberry.ID
    scope: ServiceReportScope
    ticket_id: strawberry.ID | None
    first_day: date
    last_day: date
    created_at: datetime
    lines: list[ServiceReportLine]
    billable_minutes: int
    non_billable_minutes: int
    billable_hours: Decimal
    non_billable_hours: Decimal

    @strawberry.field(description="A short-lived link to the PDF.")
    def pdf_url(self, info: strawberry.Info) -> str:
        key = f"service-reports/{self.customer_id}/{self.id}.pdf"
        return info.context.services.documents.download_url(key, filename=f"{self.id}.pdf")

    @classmethod
    def of(cls, r: tk.ServiceReport) -> "ServiceReport":
        return cls(
            id=strawberry.ID(r.id), customer_id=strawberry.ID(r.customer_id), scope=r.scope, ticket_id=r.ticket_id, first_day=r.first_day,
            last_day=r.last_day, created_at=r.created_at,
            lines=[ServiceReportLine(time_entry_id=strawberry.ID(x.entry_id), ticket_id=strawberry.ID(x.ticket_id), ticket_number=x.ticket_number,
                                     work_date=x.work_date, technician_id=strawberry.ID(x.technician_id), minutes=x.minutes, hours=x.hours,
                                     billable=x.billable, description=x.description, reason=x.reason) for x in r.lines],
            billable_minutes=r.billable_minutes, non_billable_minutes=r.non_billable_minutes,
            billable_hours=r.billable_hours, non_billable_hours=r.non_billable_hours,
        )


@strawberry.type
class ServiceReportPayload:
    service_report: ServiceReport | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


# --- contracts -------------------------------------------------------------------------------


@strawberry.type
class Rates:
    hourly: Money
    daily: Money | None
    travel_flat: Money | None
    travel_per_km: Money | None


@strawberry.type
class QuotaTerms:
    monthly_minutes: int
    monthly_price: Money
    overdraft_allowed: bool
    overdraft_hourly_rate: Money


@strawberry.type
class ManagedService:
    code: str
    name: str
    unit: str
    unit_price: Money


@strawberry.type(description="A managed service's recorded use in a month; amount = quantity × unit price, as the invoice line.")
class ManagedServiceUse:
    code: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Money
    amount: Money


@strawberry.type(description="A month's recorded use of managed services (services not listed were not used), billed by the "
                             "billing run after billDate.")
class ManagedServiceMonth:
    month: str
    usage: list[ManagedServiceUse]
    revision: int = strawberry.field(description="1 when first recorded; each recording again before billing adds one.")
    recorded_at: datetime
    bill_date: date

    @classmethod
    def of(cls, contract: ct.Contract, recorded: ct.ManagedUsageMonth) -> "ManagedServiceMonth":
        services = {s.code: s for s in contract.managed_services}

        def use(u: ct.ManagedServiceUse) -> ManagedServiceUse:
            service = services[u.code]
            return ManagedServiceUse(code=u.code, name=service.name, unit=service.unit, quantity=u.quantity,
                                     unit_price=Money.of(service.unit_price), amount=Money.of(service.unit_price * u.quantity))

        return cls(month=recorded.month, usage=[use(u) for u in recorded.usage], revision=recorded.revision,
                   recorded_at=recorded.recorded_at, bill_date=recorded.bill_date)


@strawberry.type
class QuotaLedgerEntry:
    key: str
    kind: LedgerEntryKind
    month: str
    minutes: int
    at: datetime
    description: str


@strawberry.type(description="The prepaid quota now: balance (negative = overdrawn) and every debit and credit.")
class QuotaStatus:
    balance_minutes: int
    entries: list[QuotaLedgerEntry]


ContractChangeKind = enum_of(ct.ContractChangeKind)


@strawberry.type(description="A change of the contract after its creation (contractQuotaOverdraftSet, contractEnd), "
                             "in force from `at`.")
class ContractChange:
    kind: ContractChangeKind
    at: datetime
    overdraft_allowed: bool | None = strawberry.field(description="QUOTA_OVERDRAFT: the overdraft from `at` on.")
    overdraft_hourly_rate: Money | None = strawberry.field(description="QUOTA_OVERDRAFT, granted: its rate per hour.")
    ends_on: date | None = strawberry.field(description="END: the last day set.")
    previous_ends_on: date | None = strawberry.field(description="END: the last day before (null: open-ended).")
    branch_key: str | None = strawberry.field(default=None, description="BRANCH: the branch from `at` on (null: the head office).")
    previous_branch_key: str | None = strawberry.field(default=None, description="BRANCH: the branch before (null: the head office).")

    @classmethod
    def of(cls, contract: ct.Contract, change: ct.ContractChange) -> "ContractChange":
        granted = change.kind is ct.ContractChangeKind.QUOTA_OVERDRAFT and change.overdraft_allowed
        return cls(kind=change.kind, at=change.at, overdraft_allowed=change.overdraft_allowed,
                   overdraft_hourly_rate=Money.of(change.overdraft_hourly_rate or contract.rates.hourly) if granted else None,
                   ends_on=change.ends_on, previous_ends_on=change.previous_ends_on,
                   branch_key=change.branch_key, previous_branch_key=change.previous_branch_key)


@strawberry.type
class Contract(Node):
    id: strawberry.ID
    customer_id: strawberry.ID
    kind: ContractKind
    starts_on: date
    ends_on: date | None
    rates: Rates
    reaction_time_critical_hours: int
    reaction_time_normal_hours: int
    quota: QuotaTerms | None
    monthly_flat_rate: Money | None
    managed_services: list[ManagedService]
    backup_responsibility: BackupResponsibility
    account_manager: str | None
    managed_service_usage: list[ManagedServiceMonth] = strawberry.field(
        description="MANAGED_SERVICES: the recorded months, oldest first (managedServiceUsageRecord)."
    )
    changes: list[ContractChange] = strawberry.field(description="Changes after creation, oldest first.")
    branch_key: str | None = strawberry.field(
        description="The key of the customer's branch (onboarding.branches, one receiving services) the work is delivered at; null: the head office. "
                    "Its items (fees, quota, use) are billed to that branch (per-branch billing: on the branch's invoice)."
    )
    _domain: strawberry.Private[ct.Contract]

    @strawberry.field
    async def quota_status(self, info: strawberry.Info) -> QuotaStatus | None:
        from domain.services.contracts import visible_quota_ledger

        ctx = info.context
        ledger = await ctx.run(visible_quota_ledger, ctx.uow(), ctx.principal, self._domain)
        if ledger is None:
            return None
        return QuotaStatus(
            balance_minutes=ledger.balance_minutes,
            entries=[QuotaLedgerEntry(key=e.key, kind=e.kind, month=e.month, minutes=e.minutes, at=e.at, description=e.description) for e in ledger.entries],
        )

    @classmethod
    def of(cls, c: ct.Contract) -> "Contract":
        def money(m):
            return Money.of(m) if m is not None else None

        return cls(
            id=strawberry.ID(c.id), customer_id=strawberry.ID(c.customer_id), kind=c.kind, starts_on=c.starts_on, ends_on=c.ends_on,
            rates=Rates(hourly=Money.of(c.rates.hourly), daily=money(c.rates.daily), travel_flat=money(c.rates.travel_flat),
                        travel_per_km=money(c.rates.travel_per_km)),
            reaction_time_critical_hours=c.reaction_times.critical_hours, reaction_time_normal_hours=c.reaction_times.normal_hours,
            quota=QuotaTerms(monthly_minutes=c.quota.monthly_minutes, monthly_price=Money.of(c.quota.monthly_price),
                             overdraft_allowed=c.quota.overdraft_allowed, overdraft_hourly_rate=Money.of(c.overdraft_rate)) if c.quota else None,
            monthly_flat_rate=money(c.monthly_flat_rate),
            managed_services=[ManagedService(code=s.code, name=s.name, unit=s.unit, unit_price=Money.of(s.unit_price)) for s in c.managed_services],
            backup_responsibility=c.backup_responsibility, account_manager=c.account_manager,
            managed_service_usage=[ManagedServiceMonth.of(c, m) for m in c.managed_usage],
            changes=[ContractChange.of(c, change) for change in c.changes], branch_key=c.branch_key, _domain=c,
        )


@strawberry.input
class MoneyInput:
    amount: Decimal
    currency: str = "EUR"


@strawberry.input
class QuotaTermsInput:
    monthly_minutes: int
    monthly_price: MoneyInput
    overdraft_allowed: bool = False
    overdraft_hourly_rate: MoneyInput | None = None


@strawberry.input
class ManagedServiceInput:
    code: str
    name: str
    unit: str
    unit_price: MoneyInput


@strawberry.input
class ContractCreateInput:
    customer_id: strawberry.ID
    kind: ContractKind
    starts_on: date
    hourly_rate: MoneyInput
    ends_on: date | None = None
    daily_rate: MoneyInput | None = None
    travel_flat: MoneyInput | None = None
    travel_per_km: MoneyInput | None = None
    reaction_time_critical_hours: int = 4
    reaction_time_normal_hours: int = 24
    quota: QuotaTermsInput | None = None
    monthly_flat_rate: MoneyInput | None = strawberry.field(
        default=None,
        description="RENTAL_FLAT_RATE and DATA_CENTRE_HOSTING only, and required there: the monthly fee, billed in advance "
        "on an invoice of its own (by SEPA direct debit when the customer has a mandate on file).",
    )
    managed_services: list[ManagedServiceInput] = strawberry.field(default_factory=list)
    backup_responsibility: BackupResponsibility = ct.BackupResponsibility.CUSTOMER
    account_manager: str | None = None
    branch_key: str | None = strawberry.field(default=None, description="The key of the customer's branch (onboarding.branches, one receiving services) the work is delivered at; null: the head office. ""Refused (INVALID_INPUT) for a branch the customer does not have or that receives no services.")


@strawberry.type
class ContractPayload:
    contract: Contract | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class ContractQuotaOverdraftSetInput:
    contract_id: strawberry.ID
    allowed: bool = strawberry.field(description="true grants the overdraft from now on, false withdraws it from now on.")
    hourly_rate: MoneyInput | None = strawberry.field(
        default=None, description="Granting: the overdraft rate per hour (default: the contract's hourly rate). Not when withdrawing."
    )


@strawberry.input
class ContractBranchSetInput:
    contract_id: strawberry.ID
    branch_key: str | None = strawberry.field(
        description="The key of the customer's branch (receiving services) the contract is delivered at from now on; null: the "
                    "head office. Items made from now on are billed to it; those made before keep theirs."
    )


@strawberry.input
class ContractEndInput:
    contract_id: strawberry.ID
    ends_on: date = strawberry.field(
        description="The last day (inclusive): not before the start, not before today (Berlin), not inside a month billed already."
    )


@strawberry.input
class ManagedServiceUseInput:
    code: str
    quantity: Decimal = strawberry.field(description="0 to 1,000,000 units of the service's unit, at most 3 decimal places.")


@strawberry.input
class ManagedServiceUsageRecordInput:
    contract_id: strawberry.ID
    month: str = strawberry.field(description="YYYY-MM, within the contract's term, from the 1st of the next month (Berlin).")
    usage: list[ManagedServiceUseInput] = strawberry.field(
        description="The month's complete use, each service at most once (at most 40); a service not listed was not used."
    )


@strawberry.type
class ManagedServiceUsagePayload:
    contract: Contract | None = None
    recorded: ManagedServiceMonth | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class QuotaMonthPayload:
    contract: Contract | None = None
    overdraft_minutes: int = 0
    overdraft_amount: Money | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class MaintenanceSchedule:
    id: strawberry.ID
    contract_id: strawberry.ID
    subject: str
    every_months: int
    lead_days: int
    next_due: date | None
    next_ticket_on: date | None
    last_day: date | None = strawberry.field(
        default=None, description="No due date after it: the schedule's end (maintenanceScheduleEnd) or its contract's, the earlier."
    )

    @classmethod
    def of(cls, s: ct.MaintenanceSchedule) -> "MaintenanceSchedule":
        return cls(id=strawberry.ID(s.id), contract_id=strawberry.ID(s.contract_id), subject=s.subject, every_months=s.every_months,
                   lead_days=s.lead_days, next_due=s.next_due, next_ticket_on=s.next_creation_date, last_day=s.last_day)


@strawberry.input(description="What to change of a maintenance schedule, for the tickets still to come; a field left out "
                              "(or null) stays as it is.")
class MaintenanceScheduleUpdateInput:
    schedule_id: strawberry.ID
    subject: str | None = None
    every_months: int | None = strawberry.field(
        default=None, description="1 to 36. Continues after the last due date handled, in the first due date's rhythm, from today."
    )
    lead_days: int | None = strawberry.field(default=None, description="0 to 60 days before each due date.")
    description: str | None = strawberry.field(default=None, description="An empty string clears it.")


@strawberry.type
class MaintenanceSchedulePayload:
    schedule: MaintenanceSchedule | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


# --- assets -----------------------------------------------------------------------------------


@strawberry.type
class Asset(Node):
    id: strawberry.ID
    customer_id: strawberry.ID
    kind: AssetKind
    name: str
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    technical_data: list[KeyValue]
    purchased_on: date | None
    warranty_until: date | None
    licence_expires_on: date | None
    interrupts_users: bool = strawberry.field(description="Software whose updates interrupt users: never updated automatically "
                                                          "(not in maintenance tickets), only on request (softwareUpdateRequest).")

    @classmethod
    def of(cls, x: a.Asset) -> "Asset":
        return cls(id=strawberry.ID(x.id), customer_id=strawberry.ID(x.customer_id), kind=x.kind, name=x.name, manufacturer=x.manufacturer,
                   model=x.model, serial_number=x.serial_number, technical_data=_pairs(x.technical_data), purchased_on=x.purchased_on,
                   warranty_until=x.warranty_until, licence_expires_on=x.licence_expires_on, interrupts_users=x.interrupts_users)


@strawberry.type
class AssetExpiry:
    asset: Asset
    kind: ExpiryKind
    on: date
    days_left: int


@strawberry.input
class KeyValueInput:
    key: str
    value: str


@strawberry.input
class AssetCreateInput:
    customer_id: strawberry.ID
    kind: AssetKind
    name: str
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    technical_data: list[KeyValueInput] = strawberry.field(default_factory=list)
    purchased_on: date | None = None
    warranty_until: date | None = None
    licence_expires_on: date | None = None
    interrupts_users: bool = strawberry.field(default=False, description="SOFTWARE only: its updates interrupt users (e.g. "
                                                                         "accounting software), so they are installed only on request.")


@strawberry.input(description="What to change of an asset, checked as in assetCreate: a field left out (or null) stays as it "
                              "is, an empty string clears a text, technicalData given replaces the whole list (empty: none).")
class AssetUpdateInput:
    asset_id: strawberry.ID
    kind: AssetKind | None = None
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    technical_data: list[KeyValueInput] | None = None
    purchased_on: date | None = None
    warranty_until: date | None = strawberry.field(default=None, description="The last day covered, e.g. after a renewal.")
    licence_expires_on: date | None = strawberry.field(default=None, description="The last day licensed, e.g. after a renewal.")
    interrupts_users: bool | None = strawberry.field(default=None, description="SOFTWARE only: its updates interrupt users.")


@strawberry.type
class AssetPayload:
    asset: Asset | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


# --- software updates that interrupt users ---------------------------------------------------------


@strawberry.input(description="Request the update of one software asset that interrupts users: a ticket linked to the asset. "
                              "By a user who sees the asset (EXTENDED), or by service staff for a caller.")
class SoftwareUpdateRequestInput:
    asset_id: strawberry.ID
    wished_dates: list[date] = strawberry.field(default_factory=list, description="At most 5, today or later (Berlin).")
    note: str | None = strawberry.field(default=None, description="E.g. 'not during the month-end closing'; up to 2000 characters.")
    caller_name: str | None = strawberry.field(default=None, description="Service staff only, required for them: the customer's "
                                                                         "person who requested it by phone.")
    caller_email: str | None = strawberry.field(default=None, description="Service staff only: the caller's address for the "
                                                                           "receipt and the notices (else the calling user's).")
    caller_user_id: strawberry.ID | None = strawberry.field(default=None, description="Service staff only: the customer's user who "
                                                                                      "called; they see and answer the ticket in the portal.")


@strawberry.input(description="Service staff propose when to install the update; the customer confirms or asks for another date.")
class SoftwareUpdateScheduleInput:
    ticket_id: strawberry.ID
    starts_at: datetime = strawberry.field(description="In the future, with its time zone, e.g. 2026-12-04T17:00:00Z.")


@strawberry.input(description="The customer's answer to a proposed time: a customer user, or service staff recording a phoned "
                              "answer (callerName required for them).")
class SoftwareUpdateAnswerInput:
    ticket_id: strawberry.ID
    caller_name: str | None = None


@strawberry.input(description="The customer asks for another date than the one proposed or agreed.")
class SoftwareUpdateDeclineInput:
    ticket_id: strawberry.ID
    wished_dates: list[date] = strawberry.field(default_factory=list, description="At most 5, today or later (Berlin).")
    note: str | None = None
    caller_name: str | None = None


# --- statistics ---------------------------------------------------------------------------------


@strawberry.type
class TicketCount:
    month: str
    status: TicketStatus
    count: int


@strawberry.type
class MonthlyQuotaUse:
    month: str
    used_minutes: int


@strawberry.type
class QuotaUsage:
    contract_id: strawberry.ID
    monthly_minutes: int
    balance_minutes: int
    overdraft_allowed: bool
    months: list[MonthlyQuotaUse]


@strawberry.type
class ServiceStatistics:
    from_month: str
    to_month: str
    tickets: list[TicketCount]
    billable_minutes: int
    non_billable_minutes: int
    billable_hours: Decimal
    non_billable_hours: Decimal
    quota: QuotaUsage | None

    @classmethod
    def of(cls, s: ss.ServiceStatistics) -> "ServiceStatistics":
        q = s.quota
        return cls(
            from_month=s.first_month, to_month=s.last_month,
            tickets=[TicketCount(month=c.month, status=c.status, count=c.count) for c in s.tickets],
            billable_minutes=s.billable_minutes, non_billable_minutes=s.non_billable_minutes,
            billable_hours=tk.hours_of(s.billable_minutes), non_billable_hours=tk.hours_of(s.non_billable_minutes),
            quota=QuotaUsage(contract_id=strawberry.ID(q.contract_id), monthly_minutes=q.monthly_minutes, balance_minutes=q.balance_minutes,
                             overdraft_allowed=q.overdraft_allowed,
                             months=[MonthlyQuotaUse(month=m.month, used_minutes=m.used_minutes) for m in q.months]) if q else None,
        )
