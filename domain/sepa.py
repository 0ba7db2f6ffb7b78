"""SEPA: accounts in the SEPA zone, direct-debit mandates and the creditor identifier.

Rental and data-centre customers are billed separately by SEPA direct debit, with a mandate on
file (``DOMAIN.md``, "Invoices"). Decided here, where ``DOMAIN.md`` leaves room:

* **The mandate on file** is a SEPA Core mandate for recurring debits that the customer has
  signed and the distributor (the creditor) keeps. Only distributor staff record it: a mandate
  is valid with the debtor's signature, which the creditor must be able to produce, and its
  reference is the creditor's to assign. A customer's users do not enter one themselves (an
  IBAN typed into the portal is no signed mandate); its EXTENDED users see it, masked, like
  their invoices. Partners never see it: it is between the distributor and the customer.
* **Reference**: 1 to 35 characters of the SEPA character set without spaces (letters, digits
  and ``' : ? , - ( + . ) /``), unique per creditor regardless of case and never given to a
  second mandate (even after the first is revoked).
* **Account**: the IBAN is validated like a partner's payout account (``sepa_iban``): checksum
  and national format with python-stdnum, and its country in the SEPA zone. The BIC is
  optional (not needed for SEPA debits since 2016); the account holder is at most 70
  characters. The mandate's signing date is not in the future (Berlin date).
* **Shown masked**: country, check digits and the last four characters of the IBAN
  (``DE89 **** 3000``), in the API, on invoices and in e-mails; the full IBAN goes only into
  the direct-debit file for the bank.
* **Creditor identifier** (Gläubiger-Identifikationsnummer): a setting of the distributor,
  printed on every direct-debit invoice; checked by its ISO 7064 mod 97-10 check digits
  (``DE98ZZZ09999999999`` is the Bundesbank's example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.errors import ValidationFailed
from domain.validation import require_text

SEPA_NAME_MAX_LENGTH = 70

# Countries (ISO 3166 alpha-2 of the IBAN) in the geographical scope of the SEPA schemes:
# the EU and EEA states, Switzerland, the United Kingdom, Monaco, San Marino, Andorra,
# Vatican City and Gibraltar. Overseas parts of France and Portugal, Åland, the Channel Islands and
# the Isle of Man use their mother country's IBAN prefix (FR, PT, FI, GB), so they are covered.
SEPA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
    "IS LI NO CH GB MC SM AD VA GI".split()
)

_MANDATE_REFERENCE = re.compile(r"^[A-Za-z0-9'\:\?,\-\(\+\.\)/]{1,35}$")
_CREDITOR_ID = re.compile(r"^([A-Z]{2})(\d{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$")


def sepa_iban(iban: str, *, field: str, outside_sepa: str) -> str:
    """The IBAN compact and upper-case, if it is valid and held in the SEPA zone; ``outside_sepa`` says why it must be."""
    # Imported here: only entering bank details needs python-stdnum, and it costs every cold start of the API
    # about 4 ms (bench/coldstart.py); tests/unit/test_cold_start.py keeps it out of the handler's import.
    from stdnum import iban as stdnum_iban
    from stdnum.exceptions import ValidationError as StdnumValidationError

    try:
        compact = stdnum_iban.validate(iban or "")
    except StdnumValidationError as exc:
        raise ValidationFailed(
            f"'{iban}' is not a valid IBAN: {str(exc).rstrip('.')}.",
            field=field,
            hint="Copy the IBAN from a bank statement; spaces are fine, e.g. DE89 3704 0044 0532 0130 00.",
        ) from None
    if compact[:2] not in SEPA_COUNTRIES:
        raise ValidationFailed(
            f"{outside_sepa}; the IBAN's country {compact[:2]} is outside the SEPA zone.",
            field=field,
            hint="Enter an account held in a SEPA country.",
        )
    return compact


def sepa_bic(bic: str | None, *, field: str) -> str | None:
    """The BIC if one is given (validated), else ``None``."""
    if bic is None or not bic.strip():
        return None
    from stdnum import bic as stdnum_bic
    from stdnum.exceptions import ValidationError as StdnumValidationError

    try:
        return stdnum_bic.validate(bic)
    except StdnumValidationError as exc:
        raise ValidationFailed(
            f"'{bic}' is not a valid BIC: {str(exc).rstrip('.')}.",
            field=field,
            hint="A BIC has 8 or 11 characters, e.g. COBADEFFXXX; leave it empty if you do not know it.",
        ) from None


def mask_iban(iban: str) -> str:
    """For lists, documents and e-mails: country, check digits and the last four characters only."""
    return f"{iban[:4]} **** {iban[-4:]}"


def _mod97(text: str) -> int:
    return int("".join(str(int(character, 36)) for character in text)) % 97


def creditor_identifier(value: str, *, field: str = "creditorId") -> str:
    """A SEPA creditor identifier, compact and upper-case, if its check digits are right (``DE98ZZZ09999999999``)."""
    compact = "".join((value or "").split()).upper()
    match = _CREDITOR_ID.match(compact)
    # The check digits cover the national identifier and the country; the business code (ZZZ) is not part of it.
    if not match or _mod97(match[4] + match[1] + match[2]) != 1:
        raise ValidationFailed(
            f"'{value}' is not a SEPA creditor identifier.",
            field=field,
            hint="The Gläubiger-Identifikationsnummer as the Bundesbank issued it, e.g. DE98ZZZ09999999999.",
        )
    return compact


def mandate_reference(value: str, *, field: str = "reference") -> str:
    reference = (value or "").strip()
    if not _MANDATE_REFERENCE.match(reference):
        raise ValidationFailed(
            f"'{value}' is not a SEPA mandate reference.",
            field=field,
            hint="1 to 35 letters, digits or ' : ? , - ( + . ) / without spaces, e.g. MNDT-2026-0042.",
        )
    return reference


@dataclass(frozen=True)
class SepaMandate:
    """A signed SEPA Core mandate for recurring debits, as the creditor keeps it on file."""

    reference: str
    iban: str  # compact, upper-case
    account_holder: str
    signed_on: date
    bic: str | None = None

    @property
    def iban_masked(self) -> str:
        return mask_iban(self.iban)

    @classmethod
    def create(
        cls, *, reference: str, iban: str, account_holder: str, signed_on: date, today: date, bic: str | None = None,
        field_prefix: str = "",
    ) -> "SepaMandate":
        """Validated: a reference of the SEPA set, an IBAN in the SEPA zone, a holder's name, signed by ``today``."""
        if signed_on > today:
            raise ValidationFailed(
                f"A mandate cannot be signed on {signed_on.isoformat()}, after today ({today.isoformat()}).",
                field=f"{field_prefix}signedOn",
                hint="Enter the date on the signed mandate form.",
            )
        return cls(
            reference=mandate_reference(reference, field=f"{field_prefix}reference"),
            iban=sepa_iban(iban, field=f"{field_prefix}iban", outside_sepa="Invoices are collected by SEPA direct debit"),
            account_holder=require_text(
                account_holder, f"{field_prefix}accountHolder", label="Account holder", max_length=SEPA_NAME_MAX_LENGTH
            ),
            signed_on=signed_on,
            bic=sepa_bic(bic, field=f"{field_prefix}bic"),
        )


def mandate_claim(reference: str) -> str:
    """The unique claim of a mandate reference: one mandate per reference and creditor, case ignored, forever."""
    return f"sepa-mandate#{reference.upper()}"
