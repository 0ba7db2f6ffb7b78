"""Repositories of the partner programme: applications, programme partners, referrals, commissions, payouts."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Iterable

from domain.commissions import Commission, CommissionStatus, Payout, PayoutRun, PayoutStatus
from domain.errors import ConcurrentUpdate, Conflict
from domain.partner_programme import PartnerApplication, ProgrammePartner
from domain.ports import Page
from domain.referrals import Attribution
from infra.codec import decode, encode
from infra.dynamo.models import (
    CommissionModel,
    CounterModel,
    PartnerApplicationModel,
    PayoutModel,
    PayoutRunModel,
    ProgrammePartnerModel,
    ReferralModel,
    UniqueClaimModel,
)
from infra.dynamo.repositories import data_of, due_page, entity_data, from_item, index_page, versioned

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

PARTNER_NUMBER_COUNTER = "partner-number"
APPROVAL_QUEUE = "PENDING"  # one partition: a day's approvals are few, and a missed day is caught up
OPEN_PAYOUTS = "OPEN"


def _instant(value: datetime) -> str:
    return f"{value.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}"


def partner_number_claim(number: int) -> str:
    return f"partner-number#{number}"


class PartnerApplicationRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, application_id: str) -> PartnerApplication | None:
        if not application_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(PartnerApplication, PartnerApplicationModel.get(application_id))
        except PartnerApplicationModel.DoesNotExist:
            return None

    def list_by_status(self, status: str, *, limit: int, cursor: str | None) -> Page[PartnerApplication]:
        return index_page(
            PartnerApplicationModel.status_index, "status", status, cls=PartnerApplication, limit=limit, cursor=cursor, newest_first=True
        )

    def save(self, application: PartnerApplication) -> None:
        self._uow.register_save(
            PartnerApplicationModel(
                application.id,
                status=application.status.value,
                submitted_key=f"{_instant(application.submitted_at)}#{application.id}",
                data=entity_data(application),
                **versioned(application),
            )
        )


class ProgrammePartnerRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, partner_id: str) -> ProgrammePartner | None:
        if not partner_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(ProgrammePartner, ProgrammePartnerModel.get(partner_id))
        except ProgrammePartnerModel.DoesNotExist:
            return None

    def get_many(self, partner_ids: Iterable[str]) -> dict[str, ProgrammePartner]:
        unique_ids = list(dict.fromkeys(partner_ids))
        if not unique_ids:
            return {}
        return {item.partner_id: from_item(ProgrammePartner, item) for item in ProgrammePartnerModel.batch_get(unique_ids)}

    def get_by_number(self, partner_number: int) -> ProgrammePartner | None:
        if not partner_number:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            claim = UniqueClaimModel.get(partner_number_claim(partner_number))
        except UniqueClaimModel.DoesNotExist:
            return None
        return self.get(claim.owner_id)

    def next_partner_number(self) -> int:
        """The next number; its conditional advance of the counter is part of this unit of work."""
        try:
            counter = CounterModel.get(PARTNER_NUMBER_COUNTER, consistent_read=True)
            current = int(counter.value)
            condition = CounterModel.value == current
        except CounterModel.DoesNotExist:
            current = 0
            condition = CounterModel.name.does_not_exist()
        number = current + 1
        self._uow.register_save(
            CounterModel(PARTNER_NUMBER_COUNTER, value=number),
            condition=condition,
            on_condition_failed=Conflict("Another partner number was allocated at the same time.", hint="Try again."),
        )
        return number

    def add(self, partner: ProgrammePartner) -> None:
        self._uow.register_save(
            UniqueClaimModel(partner_number_claim(partner.partner_number), owner_id=partner.partner_id),
            condition=UniqueClaimModel.key.does_not_exist(),
            on_condition_failed=Conflict(f"Partner number {partner.partner_number} is taken.", hint="Try again."),
        )
        self._register(dataclasses.replace(partner, version=0))

    def update(self, partner: ProgrammePartner) -> None:
        self._register(partner)

    def _register(self, partner: ProgrammePartner) -> None:
        self._uow.register_save(
            ProgrammePartnerModel(partner.partner_id, partner_number=partner.partner_number, data=entity_data(partner), **versioned(partner))
        )


class ReferralRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get_for_customer(self, customer_id: str) -> Attribution | None:
        if not customer_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return decode(Attribution, ReferralModel.get(customer_id).data)
        except ReferralModel.DoesNotExist:
            return None

    def get_many(self, customer_ids: Iterable[str]) -> dict[str, Attribution]:
        unique_ids = list(dict.fromkeys(customer_ids))
        return {item.customer_id: decode(Attribution, item.data) for item in ReferralModel.batch_get(unique_ids)} if unique_ids else {}

    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Attribution]:
        return index_page(
            ReferralModel.partner_index, "partner_id", partner_id, read=data_of(Attribution), limit=limit, cursor=cursor, newest_first=True
        )

    def add(self, attribution: Attribution) -> None:
        """A customer is attributed once: the first attribution stands."""
        self._uow.register_save(
            ReferralModel(
                attribution.customer_id,
                partner_id=attribution.partner_id,
                referred_key=f"{_instant(attribution.attributed_at)}#{attribution.customer_id}",
                data=encode(attribution),
            ),
            condition=ReferralModel.customer_id.does_not_exist(),
            on_condition_failed=Conflict("The customer is attributed to a partner already."),
        )


class CommissionRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, commission_id: str) -> Commission | None:
        if not commission_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(Commission, CommissionModel.get(commission_id))
        except CommissionModel.DoesNotExist:
            return None

    def list_for_invoice(self, invoice_id: str) -> list[Commission]:
        return [from_item(Commission, item) for item in CommissionModel.invoice_index.query(invoice_id)]

    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Commission]:
        return index_page(
            CommissionModel.partner_index, "partner_id", partner_id, cls=Commission, limit=limit, cursor=cursor, newest_first=True
        )

    def all_for_partner(self, partner_id: str) -> list[Commission]:
        """Every entry of a partner (the totals); paged through the partner index."""
        return [from_item(Commission, item) for item in CommissionModel.partner_index.query(partner_id)]

    def list_due_for_approval(self, run_date: date, *, limit: int, cursor: str | None) -> Page[Commission]:
        """Pending entries whose approval date is on or before ``run_date``: only due items are read."""
        return due_page(CommissionModel.approval_index, APPROVAL_QUEUE, "approval_queue", CommissionModel.approval_key, run_date,
                        Commission, limit=limit, cursor=cursor)

    def list_payable(self, partner_id: str, *, limit: int) -> list[Commission]:
        result = CommissionModel.payable_index.query(partner_id, limit=limit, page_size=limit)
        return [from_item(Commission, item) for item in result]

    def add(self, commission: Commission) -> None:
        """Recorded once: the id is derived from the invoice, so a replayed event fails the condition. The writer read
        the invoice's entries before, so a failure means someone recorded it meanwhile: reading again and repeating is safe."""
        self._register(
            dataclasses.replace(commission, version=0),
            condition=CommissionModel.id.does_not_exist(),
            on_condition_failed=ConcurrentUpdate(f"Commission {commission.id} is recorded already.", hint="Read the ledger again."),
        )

    def update(self, commission: Commission) -> None:
        self._register(commission)

    def _register(self, commission: Commission, **condition) -> None:
        key = f"{(commission.approval_date or date.min).isoformat()}#{commission.id}"
        queued = commission.status is CommissionStatus.PENDING and commission.approval_date is not None
        self._uow.register_save(
            CommissionModel(
                commission.id,
                partner_id=commission.partner_id,
                invoice_id=commission.invoice_id,
                created_key=f"{_instant(commission.created_at)}#{commission.id}",
                approval_queue=APPROVAL_QUEUE if queued else None,
                approval_key=key if queued else None,
                payable_partner_id=commission.partner_id if commission.is_payable else None,
                payable_key=key if commission.is_payable else None,
                data=entity_data(commission),
                **versioned(commission),
            ),
            **condition,
        )


class PayoutRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, payout_id: str) -> Payout | None:
        if not payout_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(Payout, PayoutModel.get(payout_id))
        except PayoutModel.DoesNotExist:
            return None

    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Payout]:
        return index_page(PayoutModel.partner_index, "partner_id", partner_id, cls=Payout, limit=limit, cursor=cursor, newest_first=True)

    def list_open(self, *, limit: int) -> list[Payout]:
        return [from_item(Payout, item) for item in PayoutModel.open_index.query(OPEN_PAYOUTS, limit=limit, page_size=limit)]

    def list_for_run(self, run_id: str, *, limit: int, cursor: str | None) -> Page[Payout]:
        return index_page(PayoutModel.run_index, "run_id", run_id, cls=Payout, limit=limit, cursor=cursor)

    def add(self, payout: Payout) -> None:
        self._register(dataclasses.replace(payout, version=0))

    def update(self, payout: Payout) -> None:
        self._register(payout)

    def _register(self, payout: Payout) -> None:
        self._uow.register_save(
            PayoutModel(
                payout.id,
                partner_id=payout.partner_id,
                requested_key=f"{_instant(payout.requested_at)}#{payout.id}",
                export_queue=OPEN_PAYOUTS if payout.status is PayoutStatus.REQUESTED else None,
                run_id=payout.run_id,
                data=entity_data(payout),
                **versioned(payout),
            )
        )

    def get_run(self, run_id: str) -> PayoutRun | None:
        if not run_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(PayoutRun, PayoutRunModel.get(run_id))
        except PayoutRunModel.DoesNotExist:
            return None

    def list_runs(self, *, limit: int, cursor: str | None) -> Page[PayoutRun]:
        return index_page(PayoutRunModel.created_index, "kind", "RUN", cls=PayoutRun, limit=limit, cursor=cursor, newest_first=True)

    def add_run(self, run: PayoutRun) -> None:
        self._uow.register_save(
            PayoutRunModel(run.id, created_key=f"{_instant(run.created_at)}#{run.id}", data=entity_data(run)),
            condition=PayoutRunModel.id.does_not_exist(),
        )
