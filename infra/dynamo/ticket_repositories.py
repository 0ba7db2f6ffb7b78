"""Repositories of the service desk: tickets, numbers, inbound e-mails, service reports and items,
contracts, the quota ledger, maintenance schedules and assets."""

from __future__ import annotations

import dataclasses
from datetime import date, timezone
from typing import TYPE_CHECKING, Iterable

from domain.assets import Asset
from domain.contracts import Contract, ContractKind, LedgerEntry, LedgerEntryKind, MaintenanceSchedule
from domain.errors import AlreadyExists, ConcurrentUpdate, Conflict
from domain.ports import InboundEmailRecord, Page
from domain.tickets import ServiceReport, Ticket, TicketFull, TicketStatus
from infra.codec import decode, encode
from infra.dynamo.attributes import item_size
from infra.dynamo.models import (
    AssetModel,
    ContractModel,
    CounterModel,
    InboundEmailModel,
    MaintenanceScheduleModel,
    QuotaLedgerModel,
    ServiceReportModel,
    TicketModel,
)
from infra.dynamo.repositories import batch_get, data_of, due_page, entity_data, from_item, get_by_id, index_page, versioned

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

MAINTENANCE_SHARD = "due"
FLAT_RATE_SHARD = "due"
QUOTA_SHARD = "due"


def _created_key(instant, entity_id: str) -> str:
    return f"{instant.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}#{entity_id}"


def _number_key(distributor_id: str, number: str) -> str:
    return f"{distributor_id}#{number}"


def _reporter_key(customer_id: str, user_id: str) -> str:
    return f"{customer_id}#{user_id}"


# A ticket is one item, comments and history inside, and DynamoDB refuses items above 400 KB (409,600 bytes). A change
# that grows the item by more than TICKET_SMALL_CHANGE (more than a status change, an assignment, a time entry or a
# short comment) is refused past TICKET_ITEM_BUDGET, every change past TICKET_ITEM_LIMIT: the room between the two keeps
# a full ticket workable (it can still be resolved and closed). 16 comments of 20,000 German characters fit, or 18 of
# 20,000 ASCII characters (tests/integration/test_ticket_item_size.py).
TICKET_ITEM_BUDGET = 380_000
TICKET_ITEM_LIMIT = 400_000
TICKET_SMALL_CHANGE = 4_096


def _newest_first(index, key_name: str, key: str, *, status: TicketStatus | None, limit: int, cursor: str | None) -> Page[Ticket]:
    """One page of the tickets under ``key`` of ``index`` (sorted by received time), newest first, of one status if given."""
    return index_page(
        index, key_name, key, filter_condition=(TicketModel.status == status.value) if status else None,
        cls=Ticket, limit=limit, cursor=cursor, newest_first=True,
    )


class TicketRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow
        self._sizes: dict[tuple[str, int], int] = {}  # (id, version) of a ticket read by ``get`` -> its item's size

    def get(self, ticket_id: str) -> Ticket | None:
        if not ticket_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            item = TicketModel.get(ticket_id, consistent_read=True)
        except TicketModel.DoesNotExist:
            return None
        ticket = from_item(Ticket, item)
        self._sizes[(ticket.id, ticket.version)] = item_size(item)  # as it would be written again (an old item shrinks)
        return ticket

    def get_many(self, ticket_ids: Iterable[str]) -> dict[str, Ticket]:
        return batch_get(TicketModel, Ticket, ticket_ids)

    def existing_ids(self, ticket_ids: Iterable[str]) -> set[str]:
        """Which of these tickets exist: strongly consistent, as ``get``, and only the ids read (BatchGetItem, 100 per request)."""
        unique = [ticket_id for ticket_id in dict.fromkeys(ticket_ids) if ticket_id]
        if not unique:
            return set()
        return {item.id for item in TicketModel.batch_get(unique, consistent_read=True, attributes_to_get=["id"])}

    def get_by_number(self, distributor_id: str, number: str) -> Ticket | None:
        found = list(TicketModel.number_index.query(_number_key(distributor_id, number), limit=1))
        # The index is eventually consistent: read the item itself for the current version.
        return self.get(found[0].id) if found else None

    def list_for_customer(self, customer_id: str, *, status: TicketStatus | None, limit: int, cursor: str | None) -> Page[Ticket]:
        return _newest_first(TicketModel.customer_index, "customer_id", customer_id, status=status, limit=limit, cursor=cursor)

    def list_reported_by(
        self, customer_id: str, user_id: str, *, status: TicketStatus | None, limit: int, cursor: str | None
    ) -> Page[Ticket]:
        """The customer's tickets ``user_id`` reported, newest first: only those are read (a sparse index)."""
        reporter = _reporter_key(customer_id, user_id)
        return _newest_first(TicketModel.reporter_index, "reporter_key", reporter, status=status, limit=limit, cursor=cursor)

    def list_by_status(self, status: TicketStatus, *, limit: int, cursor: str | None) -> Page[Ticket]:
        """The queue of one status, oldest first (first come, first served)."""
        return index_page(TicketModel.status_index, "status", status.value, cls=Ticket, limit=limit, cursor=cursor)

    def _item(self, ticket: Ticket) -> TicketModel:
        return TicketModel(
            ticket.id,
            customer_id=ticket.customer_id,
            status=ticket.status.value,
            created_key=_created_key(ticket.received_at, ticket.id),
            number_key=_number_key(ticket.distributor_id, ticket.number),
            reporter_key=_reporter_key(ticket.customer_id, ticket.reporter.user_id) if ticket.reporter.user_id else None,
            data=entity_data(ticket),
            **versioned(ticket),
        )

    def _within_budget(self, ticket: Ticket, item: TicketModel) -> TicketModel:
        """``item``, or ``TicketFull`` if it is too big: nothing is registered then, so nothing of the change is written.

        The growth is measured against the item ``get`` read (as it would be written now); a ticket read from a list is
        held to the limit only."""
        size = item_size(item)
        before = 0 if not ticket.version else self._sizes.get((ticket.id, ticket.version))
        grows = size - before if before is not None else 0
        if size > TICKET_ITEM_LIMIT or (size > TICKET_ITEM_BUDGET and grows > TICKET_SMALL_CHANGE):
            raise TicketFull(ticket.number)
        return item

    def add(self, ticket: Ticket) -> None:
        new = dataclasses.replace(ticket, version=0)
        self._uow.register_save(
            self._within_budget(new, self._item(new)),
            condition=TicketModel.id.does_not_exist(),
            on_condition_failed=AlreadyExists(f"Ticket {ticket.id} exists already.", field="ticketId"),
        )

    def update(self, ticket: Ticket) -> None:
        self._uow.register_save(self._within_budget(ticket, self._item(ticket)))


class TicketNumbers:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def next(self, distributor_id: str) -> int:
        return self.reserve(distributor_id, 1)[0]

    def reserve(self, distributor_id: str, count: int) -> range:
        """The next ``count`` sequences at once (one atomic ADD); the ones a crash leaves unused are a gap."""
        counter = CounterModel(f"ticket-number#{distributor_id}")
        counter.update(actions=[CounterModel.value.add(count)])
        last = int(counter.value)
        return range(last - count + 1, last + 1)


TRIAGE_QUEUE = "AWAITING"


class InboundEmailRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, key: str) -> InboundEmailRecord | None:
        # DynamoDB refuses an empty key, and no S3 key is longer than 1,024 bytes: such keys find nothing.
        if not key or len(key.encode()) > 1024:
            return None
        try:
            return from_item(InboundEmailRecord, InboundEmailModel.get(key, consistent_read=True))
        except InboundEmailModel.DoesNotExist:
            return None

    def list_awaiting_triage(self, *, limit: int, cursor: str | None) -> Page[InboundEmailRecord]:
        return index_page(
            InboundEmailModel.triage_index, "triage_queue", TRIAGE_QUEUE, cls=InboundEmailRecord, limit=limit, cursor=cursor,
            newest_first=True,
        )

    def _item(self, record: InboundEmailRecord) -> InboundEmailModel:
        awaiting = record.awaiting_triage
        return InboundEmailModel(
            record.key,
            triage_queue=TRIAGE_QUEUE if awaiting else None,
            triage_key=_created_key(record.received_at, record.key) if awaiting else None,
            data=entity_data(record),
            **versioned(record),
        )

    def add(self, record: InboundEmailRecord) -> None:
        self._uow.register_save(
            self._item(dataclasses.replace(record, version=0)),
            condition=InboundEmailModel.key.does_not_exist(),
            on_condition_failed=AlreadyExists(f"The e-mail {record.key} was processed already."),
        )

    def update(self, record: InboundEmailRecord) -> None:
        self._uow.register_save(self._item(record))


class ServiceReportRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, report_id: str) -> ServiceReport | None:
        if not report_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return decode(ServiceReport, ServiceReportModel.get(report_id).data)
        except ServiceReportModel.DoesNotExist:
            return None

    def pdf_key(self, report_id: str) -> str | None:
        if not report_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return ServiceReportModel.get(report_id).pdf_key
        except ServiceReportModel.DoesNotExist:
            return None

    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[ServiceReport]:
        return index_page(
            ServiceReportModel.customer_index, "customer_id", customer_id, read=data_of(ServiceReport), limit=limit, cursor=cursor,
            newest_first=True,
        )

    def add(self, report: ServiceReport, *, pdf_key: str) -> None:
        self._uow.register_save(
            ServiceReportModel(
                report.id, customer_id=report.customer_id, created_key=_created_key(report.created_at, report.id),
                pdf_key=pdf_key, data=encode(report),
            ),
            condition=ServiceReportModel.id.does_not_exist(),
            on_condition_failed=AlreadyExists(f"Service report {report.id} exists already."),
        )


class ContractRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, contract_id: str) -> Contract | None:
        if not contract_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(Contract, ContractModel.get(contract_id))
        except ContractModel.DoesNotExist:
            return None

    def list_for_customer(self, customer_id: str) -> list[Contract]:
        # A customer has a handful of contracts: one query, every page.
        return [from_item(Contract, item) for item in ContractModel.customer_index.query(customer_id)]

    def list_by_kind(self, kind: ContractKind, *, limit: int, cursor: str | None) -> Page[Contract]:
        return index_page(ContractModel.kind_index, "kind", kind.value, cls=Contract, limit=limit, cursor=cursor)

    def list_flat_rates_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[Contract]:
        """Rental and hosting contracts with a month to book on or before ``run_date``: only due contracts are read."""
        return due_page(ContractModel.flat_rate_index, FLAT_RATE_SHARD, "flat_rate_shard", ContractModel.flat_rate_due_key, run_date,
                        Contract, limit=limit, cursor=cursor)

    def list_quota_months_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[Contract]:
        """Prepaid quota contracts with a month to book on or before ``run_date``: only due contracts are read."""
        return due_page(ContractModel.quota_index, QUOTA_SHARD, "quota_shard", ContractModel.quota_due_key, run_date,
                        Contract, limit=limit, cursor=cursor)

    def save(self, contract: Contract) -> None:
        due = contract.flat_rate_due_on
        quota_due = contract.quota_month_due_on
        self._uow.register_save(
            ContractModel(
                contract.id, customer_id=contract.customer_id, kind=contract.kind.value,
                flat_rate_shard=FLAT_RATE_SHARD if due else None,
                flat_rate_due_key=f"{due.isoformat()}#{contract.id}" if due else None,
                quota_shard=QUOTA_SHARD if quota_due else None,
                quota_due_key=f"{quota_due.isoformat()}#{contract.id}" if quota_due else None,
                data=entity_data(contract), **versioned(contract),
            )
        )


def _debit_slot(position: int) -> str:
    """The item key of a ledger's ``position``-th debit (1, 2, …): "#DEBIT#00000001" (never an entry key: those start
    with the month)."""
    return f"#DEBIT#{position:08d}"


class QuotaLedgerRepository:
    """The entries of each prepaid quota, one item each; a debit is appended under the ledger's next debit position.

    Only debits lower the balance, so two debits computed from the same balance must not both be booked (two service
    reports made at once for a quota of 60 minutes without overdraft would both take the 60). The debits are an
    append-only stream with optimistic locking: ``entries`` notes how many debits it read, and ``add`` puts a debit
    under the next position (``_debit_slot``) on condition that it is free. Of two writers that read the same ledger
    the second finds the position taken and fails with ``ConcurrentUpdate``; made again, it reads the first's debit.
    No extra write (a report's transaction is at DynamoDB's limit of 100 already). The entry keeps its own key (month,
    kind, reference) in its data; a report is never debited twice, as its own put in the same transaction is
    conditional. Credits and corrections (the quota job, serialised by the contract's version; they never lower the
    balance) are stored under their entry key, so booking one twice is refused, as before. A debit added without the
    ledger read in this unit of work (not done) goes under its entry key, unguarded.
    """

    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow
        self._debits_read: dict[str, int] = {}  # contract id -> debits read (and registered since) in this unit of work

    def entries(self, contract_id: str) -> list[LedgerEntry]:
        entries = [decode(LedgerEntry, item.data) for item in QuotaLedgerModel.query(contract_id, consistent_read=True)]
        self._debits_read[contract_id] = sum(1 for e in entries if e.kind is LedgerEntryKind.USAGE)
        return entries

    def add(self, entry: LedgerEntry) -> None:
        debits = self._debits_read.get(entry.contract_id)
        if entry.kind is LedgerEntryKind.USAGE and debits is not None:
            self._debits_read[entry.contract_id] = debits + 1
            self._uow.register_save(
                QuotaLedgerModel(entry.contract_id, _debit_slot(debits + 1), data=encode(entry)),
                condition=QuotaLedgerModel.key.does_not_exist(),
                on_condition_failed=ConcurrentUpdate(
                    f"The prepaid quota of contract {entry.contract_id} was debited by someone else in the meantime.",
                    hint="Make the service report again: it then takes what is left of the quota.",
                ),
            )
            return
        self._uow.register_save(
            QuotaLedgerModel(entry.contract_id, entry.key, data=encode(entry)),
            condition=QuotaLedgerModel.key.does_not_exist(),
            on_condition_failed=Conflict(f"Ledger entry {entry.key} is booked already."),
        )


class MaintenanceScheduleRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, schedule_id: str) -> MaintenanceSchedule | None:
        return get_by_id(MaintenanceScheduleModel, MaintenanceSchedule, schedule_id, consistent_read=True)

    def list_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[MaintenanceSchedule]:
        """Schedules whose next ticket is to be created on or before ``run_date``: only due items are read."""
        return due_page(MaintenanceScheduleModel.due_index, MAINTENANCE_SHARD, "due_shard", MaintenanceScheduleModel.due_key, run_date,
                        MaintenanceSchedule, limit=limit, cursor=cursor)

    def list_for_contract(self, contract_id: str) -> list[MaintenanceSchedule]:
        # A contract has a handful of schedules: one query, every page.
        return [from_item(MaintenanceSchedule, item) for item in MaintenanceScheduleModel.contract_index.query(contract_id)]

    def save(self, schedule: MaintenanceSchedule) -> None:
        creation = schedule.next_creation_date
        self._uow.register_save(
            MaintenanceScheduleModel(
                schedule.id, contract_id=schedule.contract_id,
                due_shard=MAINTENANCE_SHARD if creation else None,
                due_key=f"{creation.isoformat()}#{schedule.id}" if creation else None,
                data=entity_data(schedule),
                **versioned(schedule),
            )
        )


class AssetRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, asset_id: str) -> Asset | None:
        if not asset_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(Asset, AssetModel.get(asset_id))
        except AssetModel.DoesNotExist:
            return None

    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[Asset]:
        return index_page(AssetModel.customer_index, "customer_id", customer_id, cls=Asset, limit=limit, cursor=cursor)

    def list_expiring(self, customer_id: str, until: date, *, limit: int, cursor: str | None) -> Page[Asset]:
        """Assets whose earliest warranty or licence end is on or before ``until`` (the caller drops past ends)."""
        return index_page(
            AssetModel.expiry_index, "customer_id", customer_id, AssetModel.expiry_key <= f"{until.isoformat()}#~",
            cls=Asset, limit=limit, cursor=cursor,
        )

    def list_interrupting_software(self, customer_id: str) -> list[Asset]:
        """One Query of the customer's assets (more only past 1 MB of them), filtered to those marked."""
        if not customer_id:
            return []
        return [from_item(Asset, item) for item in AssetModel.customer_index.query(
            customer_id, filter_condition=AssetModel.interrupts_users == "Y")]

    def save(self, asset: Asset) -> None:
        expiry = asset.earliest_expiry
        self._uow.register_save(
            AssetModel(
                asset.id, customer_id=asset.customer_id,
                expiry_key=f"{expiry.isoformat()}#{asset.id}" if expiry else None,
                interrupts_users="Y" if asset.interrupts_users else None,
                data=entity_data(asset), **versioned(asset),
            )
        )
