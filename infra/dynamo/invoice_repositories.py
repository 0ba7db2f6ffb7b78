"""Repositories of the invoicing area: invoices, invoice-number counters, billable items, cashback.

An invoice is issued in one transaction (``domain.services.invoices.issue``): the counter
of its issuer and year moves from n to n+1 on condition that it still is n, the invoice is
put on condition that its id is new, and every consumed charge or service item loses its
``bill_date`` on condition that it still has one. DynamoDB transactions are serializable,
so two writers that read the same n cannot both commit: numbers stay unique and gap-free,
and a charge is billed once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Iterable

from pynamodb.exceptions import UpdateError

from domain.billing import Cashback, ServiceItem
from domain.direct_debits import DirectDebitRun
from domain.errors import Conflict
from domain.invoices import Invoice, InvoiceKind, InvoiceStatus, PaymentMethod, assert_content_unchanged
from domain.ports import Page
from domain.services.invoice_errors import AlreadyBilled, InvoiceAlreadyIssued, InvoiceChangedMeanwhile, NumberAllocationConflict
from domain.subscriptions import Charge
from infra.codec import decode, encode
from infra.dynamo.models import CashbackModel, ChargeModel, CounterModel, DirectDebitRunModel, InvoiceModel, ServiceItemModel
from infra.dynamo.repositories import batch_get, data_of, entity_data, from_item, index_page, versioned

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

OPEN = "open"  # the one partition of the open-index: the dunning list is small and read by the distributor only
TO_COLLECT = "sepa"  # the one partition of the debit-index: direct-debit invoices no run has taken yet


def _counter_name(issuer_id: str, year: int) -> str:
    return f"invoice-number#{issuer_id}#{year}"


def _stamp(instant: datetime) -> str:
    return f"{instant.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}"


class InvoiceNumberCounter:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def last_sequence(self, issuer_id: str, year: int) -> int | None:
        """The last sequence number allocated for the issuer and year (strongly consistent), None if none yet."""
        try:
            return int(CounterModel.get(_counter_name(issuer_id, year), consistent_read=True).value)
        except CounterModel.DoesNotExist:
            return None

    def register_advance(self, issuer_id: str, year: int, previous: int | None) -> None:
        """Move the counter from ``previous`` to the next number; fails the transaction if someone moved it first."""
        name = _counter_name(issuer_id, year)
        condition = CounterModel.name.does_not_exist() if previous is None else (CounterModel.value == previous)
        self._uow.register_save(
            CounterModel(name, value=(previous or 0) + 1),
            condition=condition,
            on_condition_failed=NumberAllocationConflict(f"Invoice number {(previous or 0) + 1} of {year} was taken concurrently."),
        )


def _invoice_item(invoice: Invoice, *, delivery_date: date | None, delivery_claimed_until: datetime | None = None) -> InvoiceModel:
    open_ = invoice.is_open  # money owed: payments and credit notes count
    return InvoiceModel(
        invoice.id,
        number=invoice.number,
        payer_id=invoice.payer_id,
        issue_key=f"{invoice.issue_date.isoformat()}#{invoice.number}",
        open_bucket=OPEN if open_ else None,
        due_key=f"{invoice.due_date.isoformat()}#{invoice.id}" if open_ else None,
        delivery_date=delivery_date.isoformat() if delivery_date else None,
        delivery_claimed_until=_stamp(delivery_claimed_until) if delivery_claimed_until else None,
        corrects_invoice_id=invoice.corrects_invoice_id,
        data=entity_data(invoice),
    )


class InvoiceRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, invoice_id: str) -> Invoice | None:
        if not invoice_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(Invoice, InvoiceModel.get(invoice_id))
        except InvoiceModel.DoesNotExist:
            return None

    def get_many(self, invoice_ids: Iterable[str]) -> dict[str, Invoice]:
        return batch_get(InvoiceModel, Invoice, invoice_ids)

    def document_key(self, invoice_id: str) -> str | None:
        if not invoice_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return InvoiceModel.get(invoice_id, attributes_to_get=["id", "document_key"]).document_key
        except InvoiceModel.DoesNotExist:
            return None

    def add(self, invoice: Invoice, *, delivery_date: date, delivery_claimed_until: datetime | None = None) -> None:
        """Put a newly issued invoice; fails the transaction if its id exists (a re-run of the same run).

        ``delivery_claimed_until``: the issuer's delivery claim (as ``claim_delivery`` would take it), written with the invoice.
        """
        item = _invoice_item(invoice, delivery_date=delivery_date, delivery_claimed_until=delivery_claimed_until)
        if invoice.kind is InvoiceKind.INVOICE and invoice.payment_method is PaymentMethod.SEPA_DIRECT_DEBIT:
            item.debit_queue, item.debit_key = TO_COLLECT, f"{invoice.due_date.isoformat()}#{invoice.id}"
        self._uow.register_save(
            item,
            condition=InvoiceModel.id.does_not_exist(),
            on_condition_failed=InvoiceAlreadyIssued(f"Invoice {invoice.id} is issued already.", field="invoiceId"),
        )

    def update_payments(
        self, issued: Invoice, invoice: Invoice, *, credit_note_id: str | None = None, refund_may_grow: bool = False,
    ) -> None:
        """Save ``issued`` (as read) with the payments and credits of ``invoice``; anything else changed is refused
        (``InvoiceImmutable``), and someone else's write in between fails the commit (version).

        ``credit_note_id``: the credit note registered with this write (``credit_note_ids``, read by BatchGet).
        ``refund_may_grow``: a credit note refunding more after a direct debit's collection (``assert_content_unchanged``).
        Delivery attributes are left as they are: an UpdateItem sets only what payments and credits change.
        """
        assert_content_unchanged(issued, invoice, refund_may_grow=refund_may_grow)
        item = _invoice_item(invoice, delivery_date=None)
        model = InvoiceModel(invoice.id)
        model.version = 0  # placeholder: the version is checked by the condition below and incremented
        actions = [InvoiceModel.data.set(item.data)]
        if item.open_bucket:
            actions += [InvoiceModel.open_bucket.set(item.open_bucket), InvoiceModel.due_key.set(item.due_key)]
        else:
            actions += [InvoiceModel.open_bucket.remove(), InvoiceModel.due_key.remove()]
        if credit_note_id is None:
            self._uow.register_update(model, actions, condition=InvoiceModel.version == issued.version)
            return
        self._uow.register_update(
            model, actions + [InvoiceModel.credit_note_ids.add({credit_note_id})], condition=InvoiceModel.version == issued.version,
            on_condition_failed=InvoiceChangedMeanwhile(
                f"Invoice {issued.number} changed while the credit note was made.", field="invoiceId", hint="Issue the credit note again."
            ),
        )

    def list_for_payer(
        self, payer_id: str, *, issued_from: date | None, issued_to: date | None, status: InvoiceStatus | None,
        limit: int, cursor: str | None,
    ) -> Page[Invoice]:
        start = issued_from.isoformat() if issued_from else "0000"
        end = (issued_to.isoformat() if issued_to else "9999") + "#~"
        page = index_page(
            InvoiceModel.payer_index, "payer_id", payer_id, InvoiceModel.issue_key.between(start, end),
            cls=Invoice, limit=limit, cursor=cursor, newest_first=True,
        )
        if status is not None:  # status follows from the payments: filtered after the key condition
            return Page([i for i in page.items if i.status is status], page.next_cursor)
        return page

    def list_open_due_before(self, day: date, *, limit: int, cursor: str | None) -> Page[Invoice]:
        """Open invoices whose due date is before ``day`` (the dunning list), oldest first."""
        return index_page(
            InvoiceModel.open_index, "open_bucket", OPEN, InvoiceModel.due_key < day.isoformat(),
            cls=Invoice, limit=limit, cursor=cursor,
        )

    def list_to_collect(self, until: date, *, limit: int) -> list[Invoice]:
        """Direct-debit invoices no run has taken yet, due on or before ``until``, oldest first (one Query)."""
        result = InvoiceModel.debit_index.query(TO_COLLECT, InvoiceModel.debit_key <= f"{until.isoformat()}#~", limit=limit, page_size=limit)
        return [from_item(Invoice, item) for item in result]

    def register_collection(self, invoice_id: str, run_id: str) -> None:
        """Take the invoice out of the queue for ``run_id``, in the run's transaction; refused if another run took it."""
        model = InvoiceModel(invoice_id)
        model.version = 0
        self._uow.register_update(
            model, [InvoiceModel.debit_queue.remove(), InvoiceModel.debit_key.remove(), InvoiceModel.debit_run_id.set(run_id)],
            condition=InvoiceModel.debit_queue.exists(),
            on_condition_failed=Conflict(
                f"Invoice {invoice_id} was taken by another direct-debit run.", hint="Create the run again: it takes what is left."
            ),
        )

    def debit_run_of(self, invoice_id: str) -> str | None:
        return InvoiceModel.get(invoice_id, consistent_read=True).debit_run_id

    def register_credit_note(self, invoice: Invoice, credited: Invoice, credit_note_id: str) -> None:
        """Note the credit note on the corrected invoice (``invoice`` as read: version checked; ``credited``: with the
        credit note in its credits), in the credit note's transaction; so two concurrent credit notes cannot both
        credit the same amount, and what is owed (the open index) follows the credit at once."""
        self.update_payments(invoice, credited, credit_note_id=credit_note_id)

    def credit_notes_of(self, invoice_ids: Iterable[str]) -> dict[str, list[Invoice]]:
        """The credit notes of several invoices: two BatchGets, whatever their number."""
        unique = list(dict.fromkeys(invoice_ids))
        if not unique:
            return {}
        note_ids = {item.id: sorted(item.credit_note_ids or ()) for item in InvoiceModel.batch_get(unique, attributes_to_get=["id", "credit_note_ids"])}
        notes = self.get_many(n for ids in note_ids.values() for n in ids)
        return {i: [notes[n] for n in note_ids.get(i, []) if n in notes] for i in unique}

    def list_credit_notes(self, invoice_id: str) -> list[Invoice]:
        return [from_item(Invoice, item) for item in InvoiceModel.corrects_index.query(invoice_id)]

    def list_undelivered(self, delivery_date: date, *, limit: int, cursor: str | None) -> Page[Invoice]:
        return index_page(
            InvoiceModel.undelivered_index, "delivery_date", delivery_date.isoformat(), cls=Invoice, limit=limit, cursor=cursor
        )

    def claim_delivery(self, invoice_id: str, *, now: datetime, until: datetime) -> bool:
        """Take the right to deliver an undelivered invoice until ``until`` (immediately, outside any transaction).

        False when it is delivered already or another run holds an unexpired claim, so two
        overlapping runs never e-mail the same invoice.
        """
        model = InvoiceModel(invoice_id)
        model.version = 0
        condition = InvoiceModel.delivery_date.exists() & (
            InvoiceModel.delivery_claimed_until.does_not_exist() | (InvoiceModel.delivery_claimed_until < _stamp(now))
        )
        try:
            model.update([InvoiceModel.delivery_claimed_until.set(_stamp(until))], condition=condition, add_version_condition=False)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_delivery_claim(self, invoice_id: str) -> None:
        model = InvoiceModel(invoice_id)
        model.version = 0
        model.update([InvoiceModel.delivery_claimed_until.remove()], condition=InvoiceModel.id.exists(), add_version_condition=False)

    def mark_delivered(self, invoice_id: str, *, document_key: str, now: datetime) -> None:
        model = InvoiceModel(invoice_id)
        model.version = 0
        model.update(
            [
                InvoiceModel.delivery_date.remove(),
                InvoiceModel.delivery_claimed_until.remove(),
                InvoiceModel.delivered_at.set(now),
                InvoiceModel.document_key.set(document_key),
            ],
            condition=InvoiceModel.id.exists(),
            add_version_condition=False,
        )

    def delete(self, invoice_id: str) -> None:
        """Remove an invoice whose retention has ended (the service checks that first)."""
        InvoiceModel(invoice_id).delete(add_version_condition=False)

    def delivery_state(self, invoice_id: str) -> tuple[datetime | None, str | None]:
        """When the invoice was e-mailed (None: not yet) and where its PDF is stored."""
        item = InvoiceModel.get(invoice_id, consistent_read=True)
        return item.delivered_at, item.document_key


def _billed(model_cls, key: str, invoice_id: str, what: str):
    model = model_cls(key)
    model.version = 0
    return (
        model,
        [model_cls.bill_date.remove(), model_cls.billed_invoice_id.set(invoice_id)],
        model_cls.bill_date.exists(),
        AlreadyBilled(f"{what} {key} is billed already.", field="chargeIds"),
    )


class UnbilledCharges:
    """The billing side of the charges table: what is due on a date, and consuming it."""

    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def list_due(self, bill_date: date, *, limit: int, cursor: str | None) -> Page[Charge]:
        return index_page(
            ChargeModel.unbilled_index, "bill_date", bill_date.isoformat(), read=data_of(Charge), limit=limit, cursor=cursor
        )

    def register_billed(self, charge_id: str, invoice_id: str) -> None:
        model, actions, condition, error = _billed(ChargeModel, charge_id, invoice_id, "Charge")
        self._uow.register_update(model, actions, condition=condition, on_condition_failed=error)

    def billed_invoice_id(self, charge_id: str) -> str | None:
        return ChargeModel.get(charge_id, consistent_read=True).billed_invoice_id

    def billing_of_subscription(self, subscription_id: str, *, page_limit: int = 100) -> list[tuple[Charge, str | None]]:
        """Every charge of a subscription with the invoice that billed it (None: unbilled): a Query on the
        subscription index, in pages. The billing run traces a credit to the invoices of the seats it takes back."""
        entries: list[tuple[Charge, str | None]] = []
        cursor: str | None = None
        while True:
            page = index_page(
                ChargeModel.subscription_index, "subscription_id", subscription_id,
                read=lambda item: (decode(Charge, item.data), item.billed_invoice_id), limit=page_limit, cursor=cursor,
            )
            entries.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return entries


class ServiceItemRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def add(self, item: ServiceItem, *, bill_date: date) -> None:
        self._uow.register_save(
            ServiceItemModel(item.reference, customer_id=item.customer_id, bill_date=bill_date.isoformat(), data=encode(item)),
            condition=ServiceItemModel.id.does_not_exist(),
            on_condition_failed=AlreadyBilled(f"Service item {item.reference} is recorded already.", field="reference"),
        )

    def list_due(self, bill_date: date, *, limit: int, cursor: str | None) -> Page[ServiceItem]:
        return index_page(
            ServiceItemModel.unbilled_index, "bill_date", bill_date.isoformat(), read=data_of(ServiceItem), limit=limit, cursor=cursor
        )

    def register_billed(self, reference: str, invoice_id: str) -> None:
        model, actions, condition, error = _billed(ServiceItemModel, reference, invoice_id, "Service item")
        self._uow.register_update(model, actions, condition=condition, on_condition_failed=error)

    def billed_invoice_id(self, reference: str) -> str | None:
        return ServiceItemModel.get(reference, consistent_read=True).billed_invoice_id

    def billed_invoice_ids(self, references: Iterable[str]) -> dict[str, str | None]:
        keys = sorted(set(references))
        if not keys:
            return {}
        return {item.id: item.billed_invoice_id for item in ServiceItemModel.batch_get(
            keys, consistent_read=True, attributes_to_get=["id", "billed_invoice_id"])}

    def withdraw(self, reference: str) -> None:
        # Off the unbilled index, on condition it is still on it: a billing run that read it before cannot bill it now.
        model = ServiceItemModel(reference)
        model.version = 0
        self._uow.register_update(
            model, [ServiceItemModel.bill_date.remove()], condition=ServiceItemModel.bill_date.exists(),
            on_condition_failed=AlreadyBilled(f"Service item {reference} was billed meanwhile.", field="month",
                                              hint="Read the contract again: a billed month is not recorded again."),
        )


class CashbackRepository:
    """Cashback records (one per customer-pays invoice with a partner); the commission feature reads them."""

    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def add(self, cashback: Cashback, *, issue_date: date) -> None:
        self._uow.register_save(
            CashbackModel(
                cashback.invoice_id, partner_id=cashback.partner_id,
                issue_key=f"{issue_date.isoformat()}#{cashback.invoice_id}", data=encode(cashback),
            ),
            condition=CashbackModel.invoice_id.does_not_exist(),
            on_condition_failed=InvoiceAlreadyIssued(f"Cashback for {cashback.invoice_id} is recorded already."),
        )

    def get(self, invoice_id: str) -> Cashback | None:
        if not invoice_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return decode(Cashback, CashbackModel.get(invoice_id).data)
        except CashbackModel.DoesNotExist:
            return None

    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Cashback]:
        return index_page(CashbackModel.partner_index, "partner_id", partner_id, read=data_of(Cashback), limit=limit, cursor=cursor)


def _instant(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


class DirectDebitRunRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, run_id: str) -> DirectDebitRun | None:
        if not run_id:  # DynamoDB refuses an empty key; an empty id finds nothing
            return None
        try:
            return from_item(DirectDebitRun, DirectDebitRunModel.get(run_id))
        except DirectDebitRunModel.DoesNotExist:
            return None

    def list(self, *, limit: int, cursor: str | None) -> Page[DirectDebitRun]:
        return index_page(
            DirectDebitRunModel.created_index, "kind", "RUN", cls=DirectDebitRun, limit=limit, cursor=cursor, newest_first=True
        )

    def add(self, run: DirectDebitRun) -> None:
        self._uow.register_save(
            DirectDebitRunModel(run.id, created_key=f"{_instant(run.created_at)}#{run.id}", data=entity_data(run)),
            condition=DirectDebitRunModel.id.does_not_exist(),
        )
