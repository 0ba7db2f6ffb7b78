"""SEPA credit-transfer files (pain.001.001.03) for partner payouts, built and schema-validated by sepaxml."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from domain.commissions import Payout
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
