"""SEPA files for the distributor's bank, built and schema-validated by sepaxml: credit transfers (pain.001.001.03)
for partner payouts, direct debits (pain.008.001.02, SEPA Core) for rental and hosting invoices."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from domain.commissions import Payout
from domain.direct_debits import SEQUENCE_TYPE, Creditor, Debit
from domain.services.commissions import Debtor


def render_payouts(debtor: Debtor, payouts: Sequence[Payout], execution_date: date, run_id: str) -> bytes:
    from sepaxml import SepaTransfer

    config = {"name": debtor.name, "IBAN": debtor.iban, "BIC": debtor.bic, "batch": True, "currency": "EUR"}
    transfer = SepaTransfer(config, clean=True)
    for payout in payouts:
        payment = {
            "name": payout.bank_details.account_holder,
            "IBAN": payout.bank_details.iban,
            "amount": payout.amount.cents,  # sepaxml takes integer cents
            "execution_date": execution_date,
            "description": payout.remittance,
            "endtoend_id": payout.id.replace("_", "")[:35],
        }
        if payout.bank_details.bic:
            payment["BIC"] = payout.bank_details.bic
        transfer.add_payment(payment)
    return transfer.export(validate=True)


def render_direct_debits(creditor: Creditor, debits: Sequence[Debit], collection_date: date, run_id: str) -> bytes:
    """One batch of SEPA Core debits (RCUR), each under its mandate, collected on ``collection_date``."""
    from sepaxml import SepaDD

    config = {
        "name": creditor.name, "IBAN": creditor.iban, "BIC": creditor.bic, "batch": True, "creditor_id": creditor.creditor_id,
        "currency": "EUR", "instrument": "CORE",
    }
    collection = SepaDD(config, schema="pain.008.001.02", clean=True)
    for debit in debits:
        payment = {
            "name": debit.mandate.account_holder,
            "IBAN": debit.mandate.iban,
            "amount": debit.amount.cents,  # sepaxml takes integer cents
            "type": SEQUENCE_TYPE,
            "collection_date": collection_date,
            "mandate_id": debit.mandate.reference,
            "mandate_date": debit.mandate.signed_on,
            "description": debit.remittance,
            "endtoend_id": debit.invoice_number.replace("-", "")[:35],
        }
        if debit.mandate.bic:
            payment["BIC"] = debit.mandate.bic
        collection.add_payment(payment)
    return collection.export(validate=True)
