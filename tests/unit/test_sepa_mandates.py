"""SEPA direct-debit mandates on file, the creditor identifier, and who may record and see a mandate."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.errors import ValidationFailed
from domain.organisations import (
    Address,
    OrganisationKind,
    PartnerPermission,
    PermissionLevel,
    Role,
    User,
    new_organisation,
)
from domain.policy import Principal, can_manage_sepa_mandates, can_view_sepa_mandate
from domain.sepa import SepaMandate, creditor_identifier, mandate_claim

TODAY = date(2026, 11, 20)


def mandate(**changes) -> SepaMandate:
    fields = dict(reference="MNDT-2026-0042", iban="DE89 3704 0044 0532 0130 00", account_holder="Direktkunde Müller e.K.",
                  signed_on=date(2026, 11, 2), today=TODAY)
    return SepaMandate.create(**{**fields, **changes})


def test_a_mandate_keeps_the_iban_compact_and_shows_it_masked():
    on_file = mandate(bic="cobadeffxxx")
    assert (on_file.reference, on_file.iban, on_file.bic, on_file.signed_on) == (
        "MNDT-2026-0042", "DE89370400440532013000", "COBADEFFXXX", date(2026, 11, 2)
    )
    assert on_file.iban_masked == "DE89 **** 3000"


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"iban": "DE89 3704 0044 0532 0130 01"}, "iban", "not a valid IBAN"),
        ({"iban": "US64SVBKUS6S3300958879"}, "iban", "not a valid IBAN"),  # no IBAN country at all
        ({"iban": "BR1800360305000010009795493C1"}, "iban", "outside the SEPA zone"),
        ({"reference": "MNDT 2026 0042"}, "reference", "not a SEPA mandate reference"),  # no spaces
        ({"reference": "M" * 36}, "reference", "not a SEPA mandate reference"),
        ({"reference": ""}, "reference", "not a SEPA mandate reference"),
        ({"account_holder": " "}, "accountHolder", "must not be empty"),
        ({"account_holder": "x" * 71}, "accountHolder", "longer than 70"),
        ({"bic": "NOTABIC"}, "bic", "not a valid BIC"),
        ({"signed_on": date(2026, 11, 21)}, "signedOn", "after today"),
    ],
)
def test_a_mandate_is_refused_with_the_field_at_fault(changes, field, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        mandate(**changes)
    assert refused.value.field == field


def test_a_mandate_signed_today_is_accepted_and_references_of_35_sepa_characters_are_fine():
    assert mandate(signed_on=TODAY, reference="A1'+:?,-(.)/" + "9" * 23).signed_on == TODAY


def test_a_mandate_reference_is_claimed_regardless_of_case():
    assert mandate_claim("mndt-2026-0042") == mandate_claim("MNDT-2026-0042") == "sepa-mandate#MNDT-2026-0042"


def test_the_creditor_identifier_is_checked_by_its_check_digits():
    assert creditor_identifier("de98 zzz0 9999 9999 99") == "DE98ZZZ09999999999"
    for wrong in ("DE97ZZZ09999999999", "DE98ZZZ", "98ZZZ09999999999", ""):
        with pytest.raises(ValidationFailed):
            creditor_identifier(wrong)


def _principal(kind: OrganisationKind, organisation_id: str, role: Role, level: PermissionLevel | None = None) -> Principal:
    permissions = frozenset(PartnerPermission) if kind is OrganisationKind.PARTNER else frozenset()
    return Principal.of(User("usr_1", organisation_id, kind, "a@example.com", "A", role, permissions, level))


def test_only_the_distributor_records_a_mandate_and_only_it_and_the_customers_extended_users_see_it():
    customer = new_organisation(id="cus_1", kind=OrganisationKind.CUSTOMER, name="Direktkunde Müller e.K.",
                                address=Address.create("Markt 1", "50667", "Köln"), billing_email="rechnung@direkt.example",
                                now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    distributor = _principal(OrganisationKind.DISTRIBUTOR, "dst_1", Role.DISTRIBUTOR_STAFF)
    extended = _principal(OrganisationKind.CUSTOMER, "cus_1", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)
    report_only = _principal(OrganisationKind.CUSTOMER, "cus_1", Role.CUSTOMER_USER, PermissionLevel.REPORT_ONLY)
    other_customer = _principal(OrganisationKind.CUSTOMER, "cus_2", Role.CUSTOMER_USER, PermissionLevel.EXTENDED)
    partner_admin = _principal(OrganisationKind.PARTNER, "ptn_1", Role.PARTNER_ADMIN)
    assert [can_manage_sepa_mandates(p) for p in (distributor, extended, report_only, partner_admin)] == [True, False, False, False]
    assert [can_view_sepa_mandate(p, customer) for p in (distributor, extended, report_only, other_customer, partner_admin)] == [
        True, True, False, False, False
    ]


def test_only_a_customer_has_a_mandate_on_file():
    partner = new_organisation(id="ptn_1", kind=OrganisationKind.PARTNER, name="NordIT", address=Address.create("Hafen 1", "20457", "Hamburg"),
                               billing_email="billing@nordit.example", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(ValidationFailed):
        partner.with_sepa_mandate(mandate())
