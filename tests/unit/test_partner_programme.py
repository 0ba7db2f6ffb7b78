"""Partner programme: applications, decisions, partner numbers, bank details, tiers and their rates."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import ErrorCode, InvalidInputs, ValidationFailed
from domain.partner_programme import (
    ApplicationAlreadyDecided,
    ApplicationStatus,
    BankDetails,
    DocumentKind,
    ProgrammeTerms,
    Tier,
    TierChangeRefused,
    TierRates,
    UnsupportedDocument,
    new_programme_partner,
    parse_partner_number,
    submit_application,
)

NOW = datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc)
MIB = 1024 * 1024


def application(**changes):
    fields = dict(
        id="pap_1",
        company_name="Kowalski IT Sp. z o.o.",
        address={"street": "ul. Długa 5", "postal_code": "00-001", "city": "Warszawa", "country": "PL"},
        contact_name="Anna Kowalska",
        contact_phone="+48 22 123 45 67",
        contact_email="anna@kowalski-it.example",
        proof_kind=DocumentKind.COMMERCIAL_REGISTER_EXTRACT,
        proof_document_key="partner-applications/pap_1/proof",
        proof_content_type="application/pdf",
        proof_size_bytes=250_000,
        now=NOW,
    )
    fields.update(changes)
    return submit_application(**fields)


def test_an_application_holds_contact_address_and_proof_of_trade():
    app = application()
    assert app.status is ApplicationStatus.SUBMITTED
    assert (app.contact.name, app.contact.phone, app.contact.email) == ("Anna Kowalska", "+48 22 123 45 67", "anna@kowalski-it.example")
    assert app.address.country == "PL" and app.proof_of_trade.content_type == "application/pdf"


@pytest.mark.parametrize("content_type", ["application/zip", "text/html", "image/svg+xml", ""])
def test_proof_of_trade_of_another_type_is_refused(content_type):
    with pytest.raises(UnsupportedDocument) as refused:
        application(proof_content_type=content_type)
    assert refused.value.field == "proofOfTrade.contentType"


def test_proof_of_trade_up_to_10_mib_inclusive_is_accepted_one_byte_more_is_refused():
    assert application(proof_size_bytes=10 * MIB).proof_of_trade.size_bytes == 10 * MIB
    with pytest.raises(UnsupportedDocument):
        application(proof_size_bytes=10 * MIB + 1)
    with pytest.raises(UnsupportedDocument):
        application(proof_size_bytes=0)


def test_every_problem_of_an_application_is_reported_at_once():
    with pytest.raises(InvalidInputs) as refused:
        application(contact_phone="call me", contact_email="nope", company_name=" ")
    assert {e.field for e in refused.value.errors} == {"contact.phone", "contact.email", "companyName"}


def test_approval_records_the_partner_number_and_is_final():
    approved = application().approve(partner_id="ptn_1", partner_number=1001, decided_by="usr_d", now=NOW)
    assert (approved.status, approved.partner_number) == (ApplicationStatus.APPROVED, 1001)
    with pytest.raises(ApplicationAlreadyDecided):
        approved.reject(reason="changed my mind", decided_by="usr_d", now=NOW)


def test_rejection_needs_a_reason():
    with pytest.raises(ValidationFailed):
        application().reject(reason="  ", decided_by="usr_d", now=NOW)
    rejected = application().reject(reason="No trade licence", decided_by="usr_d", now=NOW)
    assert rejected.rejection_reason == "No trade licence"


@pytest.mark.parametrize("number", [0, -1, True])
def test_partner_numbers_are_positive_integers(number):
    with pytest.raises(ValidationFailed):
        application().approve(partner_id="ptn_1", partner_number=number, decided_by="usr_d", now=NOW)


@pytest.mark.parametrize("text,expected", [("1042", 1042), ("0", None), ("+5", None), ("1e3", None), ("٣", None), ("", None), (None, None), ("1" * 13, None)])
def test_the_aff_parameter_is_parsed_strictly(text, expected):
    assert parse_partner_number(text) == expected


def test_iban_is_validated_and_stored_compact_with_python_stdnum():
    details = BankDetails.create(iban="de89 3704 0044 0532 0130 00", account_holder="Nord IT GmbH", bic="cobadeffxxx")
    assert (details.iban, details.bic, details.iban_formatted) == ("DE89370400440532013000", "COBADEFFXXX", "DE89 3704 0044 0532 0130 00")


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 01", "DE8937040044053201300", "XX00", ""])
def test_an_iban_with_a_wrong_checksum_or_length_is_refused(iban):
    with pytest.raises(ValidationFailed) as refused:
        BankDetails.create(iban=iban, account_holder="Nord IT GmbH")
    assert refused.value.field == "bankDetails.iban"


def test_an_iban_outside_the_sepa_zone_is_refused():
    with pytest.raises(ValidationFailed, match="outside the SEPA zone"):
        BankDetails.create(iban="TR330006100519786457841326", account_holder="Istanbul IT")


def test_a_malformed_bic_is_refused_an_empty_one_is_fine():
    with pytest.raises(ValidationFailed) as refused:
        BankDetails.create(iban="DE89370400440532013000", account_holder="Nord IT GmbH", bic="COBA")
    assert refused.value.field == "bankDetails.bic"
    assert BankDetails.create(iban="DE89370400440532013000", account_holder="Nord IT GmbH", bic=" ").bic is None


def partner():
    approved = application().approve(partner_id="ptn_1", partner_number=1001, decided_by="usr_d", now=NOW)
    return new_programme_partner(approved, joined_on=date(2024, 1, 10))


def test_rates_per_tier_are_settings_and_apply_from_the_effective_date():
    terms = ProgrammeTerms.from_json(
        '{"REGISTERED": {"commission_percent": "8", "cashback_percent": "2", "reseller_discount_percent": "5"},'
        ' "QUALIFIED": {"commission_percent": "12", "cashback_percent": "3", "reseller_discount_percent": "10"},'
        ' "CERTIFIED": {"commission_percent": "20", "cashback_percent": "5", "reseller_discount_percent": "15"}}'
    )
    p = partner().with_tier(Tier.QUALIFIED, effective_from=date(2024, 4, 1), today=date(2024, 3, 1), changed_by="usr_d")
    assert p.tier_at(date(2024, 1, 9)) is None
    assert p.tier_at(date(2024, 3, 31)) is Tier.REGISTERED and p.rates_at(date(2024, 3, 31), terms).commission_percent == Decimal("8")
    assert p.tier_at(date(2024, 4, 1)) is Tier.QUALIFIED and p.rates_at(date(2024, 4, 1), terms).commission_percent == Decimal("12")


def test_an_individual_agreement_carries_its_own_rates():
    rates = TierRates.of(commission_percent="25", cashback_percent="6", reseller_discount_percent="18")
    p = partner().with_tier(Tier.INDIVIDUAL, effective_from=date(2024, 2, 1), today=date(2024, 2, 1), changed_by="usr_d", individual_rates=rates)
    assert p.rates_at(date(2024, 2, 1), ProgrammeTerms.default()) == rates
    with pytest.raises(TierChangeRefused):
        partner().with_tier(Tier.INDIVIDUAL, effective_from=date(2024, 2, 1), today=date(2024, 2, 1), changed_by="usr_d")


def test_a_tier_change_cannot_be_backdated():
    with pytest.raises(TierChangeRefused) as refused:
        partner().with_tier(Tier.CERTIFIED, effective_from=date(2024, 2, 28), today=date(2024, 3, 1), changed_by="usr_d")
    assert refused.value.code is ErrorCode.INVALID_INPUT and refused.value.field == "effectiveFrom"


def test_programme_terms_must_name_exactly_the_standard_tiers():
    with pytest.raises(ValidationFailed):
        ProgrammeTerms.from_config({"REGISTERED": {"commission_percent": "8", "cashback_percent": "2", "reseller_discount_percent": "5"}})
    with pytest.raises(ValidationFailed):
        ProgrammeTerms.from_config({**{t: {"commission_percent": "101", "cashback_percent": "2", "reseller_discount_percent": "5"} for t in ("REGISTERED", "QUALIFIED", "CERTIFIED")}})
