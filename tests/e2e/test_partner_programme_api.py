"""The partner programme through GraphQL: applications, tiers, bank details, sign-up with a referral,
referrals overview, commissions and payouts, and who may see what (nobody sees another partner's data)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment, record_payment
from domain.money import Money
from domain.organisations import BillingMode
from domain.partner_programme import ProgrammeTerms
from domain.services import commissions as ledger
from infra.referral_links import sign_click

ENROL = """mutation($input: PartnerProgrammeEnrolInput!) { partnerProgrammeEnrol(input: $input) {
  programmePartner { partnerNumber tier referralLink } errors { code message field } } }"""
PROOF_UPLOAD = """mutation($input: PartnerApplicationProofUploadInput!) { partnerApplicationProofUpload(input: $input) { upload { url key fields { name value } } errors { code field } } }"""
SUBMIT = """mutation($input: PartnerApplicationSubmitInput!) { partnerApplicationSubmit(input: $input) { application { id status contact { phone } } errors { code field message } } }"""
APPROVE = """mutation($id: ID!) { partnerApplicationApprove(id: $id) { application { status partnerNumber partnerId } programmePartner { partnerNumber tier } errors { code message } } }"""
REJECT = """mutation($id: ID!, $reason: String!) { partnerApplicationReject(id: $id, reason: $reason) { application { status rejectionReason } errors { code field } } }"""
APPLICATIONS = """query($status: ApplicationStatus!) { partnerApplications(status: $status) { nodes { id companyName proofOfTradeDownloadUrl } } }"""
TIER = """mutation($input: PartnerTierChangeInput!) { partnerTierChange(input: $input) { programmePartner { tier tierHistory { tier effectiveFrom } } errors { code field } } }"""
BANK = """mutation($input: PartnerBankDetailsSetInput!) { partnerBankDetailsSet(input: $input) { programmePartner { bankDetails { ibanMasked accountHolder } } errors { code field message } } }"""
PROGRAMME_PARTNER = """query($id: ID!) { programmePartner(partnerId: $id) { partnerNumber tier rates { commissionPercent } bankDetails { ibanMasked } } }"""
SIGN_UP = """mutation($input: CustomerCreateInput!, $code: Int, $cookie: String) {
  customerSignUp(input: $input, referralCode: $code, referralCookie: $cookie) { customer { ... on Customer { id name } } referredByPartnerNumber errors { code field message } } }"""
REFERRALS = """query($id: ID!) { referrals(partnerId: $id) { customers { customerName referredOn lines { productName } }
  totals { pending { amount } approved { amount } paid { amount } } } }"""
COMMISSIONS = """query($id: ID!) { commissions(partnerId: $id) { nodes { id status statusReason amount { amount } approvalDate customerPaidOn } pageInfo { hasNextPage } } }"""
PAYOUT = """mutation($id: ID!) { payoutRequest(partnerId: $id) { payout { id amount { amount } status } errors { code message field } } }"""
PAYOUTS = """query($id: ID!) { payouts(partnerId: $id) { nodes { id amount { amount } } } }"""
RUN = """mutation($d: Date!) { payoutRunCreate(executionDate: $d) { run { id total { amount } downloadUrl } payouts { status } errors { code message } } }"""

NEW_CUSTOMER = {"name": "Neu GmbH", "address": {"street": "Weg 1", "postalCode": "20095", "city": "Hamburg"}, "billingEmail": "billing@neu.example", "billingMode": "CUSTOMER_PAYS"}


def enrolment(services, partner_id: str, *, upload: bool = True, **changes) -> dict:
    """The variables of partnerProgrammeEnrol: a contact person and a trade licence (uploaded unless ``upload`` is false)."""
    key = f"partner-applications/doc_trade_licence_{partner_id}"
    if upload:
        services.documents.put(key, b"%PDF-1.7 Gewerbeanmeldung", "application/pdf")
    registration = {
        "partnerId": partner_id, "contactName": "Nina Nordmann", "contactPhone": "+49 40 1234567", "contactEmail": "nina@nordit.example",
        "proofOfTradeKind": "TRADE_LICENCE", "proofOfTradeKey": key, "proofOfTradeContentType": "application/pdf",
        "proofOfTradeSizeBytes": 24,
    }
    return {"input": {**registration, **changes}}


@pytest.fixture
def enrolled(as_user, demo, clock, services):
    """Both demo partners joined the programme 200 days ago (Registered: 10 % commission)."""
    ops = as_user("distributor")
    now, clock.now = clock.now, clock.now - timedelta(days=200)
    numbers = {}
    for key in ("nordit", "suedcloud"):
        result = ops(ENROL, enrolment(services, demo.partners[key].id))["partnerProgrammeEnrol"]
        assert result["errors"] == []
        numbers[key] = result["programmePartner"]["partnerNumber"]
    clock.now = now
    return numbers


def test_the_distributor_enters_an_application_with_an_uploaded_proof_and_approves_it(as_user, services):
    ops = as_user("distributor")
    upload = ops(PROOF_UPLOAD, {"input": {"contentType": "application/pdf", "sizeBytes": 120000}})["partnerApplicationProofUpload"]
    assert upload["errors"] == [] and {"name": "Content-Type", "value": "application/pdf"} in upload["upload"]["fields"]
    key = upload["upload"]["key"]
    application = {
        "companyName": "Kowalski IT", "address": {"street": "Długa 5", "postalCode": "00-001", "city": "Warszawa", "country": "PL"},
        "contactName": "Anna Kowalska", "contactPhone": "+48 22 123 45 67", "contactEmail": "anna@kowalski.example",
        "proofOfTradeKind": "COMMERCIAL_REGISTER_EXTRACT", "proofOfTradeKey": key, "proofOfTradeContentType": "application/pdf",
        "proofOfTradeSizeBytes": 120000,
    }
    missing = ops(SUBMIT, {"input": application})["partnerApplicationSubmit"]
    assert missing["errors"][0]["field"] == "proofOfTrade.documentKey"  # not uploaded yet
    services.documents.put(key, b"%PDF-1.7 extract", "application/pdf")
    submitted = ops(SUBMIT, {"input": application})["partnerApplicationSubmit"]
    assert submitted["errors"] == [] and submitted["application"]["status"] == "SUBMITTED"
    (listed,) = ops(APPLICATIONS, {"status": "SUBMITTED"})["partnerApplications"]["nodes"]
    assert listed["companyName"] == "Kowalski IT" and key in listed["proofOfTradeDownloadUrl"]
    assert as_user("nordit_admin")(APPLICATIONS, {"status": "SUBMITTED"})["partnerApplications"]["nodes"] == []
    approved = ops(APPROVE, {"id": submitted["application"]["id"]})["partnerApplicationApprove"]
    assert approved["errors"] == [] and approved["application"]["status"] == "APPROVED"
    assert approved["programmePartner"] == {"partnerNumber": 1, "tier": "REGISTERED"}
    again = ops(APPROVE, {"id": submitted["application"]["id"]})["partnerApplicationApprove"]
    assert again["errors"][0]["code"] == "CONFLICT"


APPLICATION_RECORD = """query { partnerApplications(status: APPROVED) { nodes { companyName street postalCode city contact { name phone email }
  proofOfTradeKind proofOfTradeDownloadUrl partnerId partnerNumber } } }"""


def test_an_existing_partner_enrols_with_its_contact_person_and_proof_of_trade_which_are_kept_like_an_application(as_user, demo, services):
    nordit = demo.partners["nordit"].id
    result = as_user("distributor")(ENROL, enrolment(services, nordit))["partnerProgrammeEnrol"]
    assert result["errors"] == [] and result["programmePartner"]["partnerNumber"] == 1
    (record,) = as_user("distributor")(APPLICATION_RECORD)["partnerApplications"]["nodes"]
    assert {k: v for k, v in record.items() if k != "proofOfTradeDownloadUrl"} == {
        "companyName": "NordIT Systemhaus GmbH", "street": "Industriestr. 7", "postalCode": "20095", "city": "Hamburg",
        "contact": {"name": "Nina Nordmann", "phone": "+49 40 1234567", "email": "nina@nordit.example"},
        "proofOfTradeKind": "TRADE_LICENCE", "partnerId": nordit, "partnerNumber": 1,
    }
    assert f"doc_trade_licence_{nordit}" in record["proofOfTradeDownloadUrl"]


def test_enrolment_without_a_valid_contact_person_and_proof_of_trade_is_refused_with_every_problem_and_enrols_nobody(as_user, demo, services):
    nordit = demo.partners["nordit"].id
    bad = enrolment(services, nordit, contactName=" ", contactPhone="", contactEmail="nina@", proofOfTradeContentType="application/zip")
    result = as_user("distributor")(ENROL, bad)["partnerProgrammeEnrol"]
    assert result["programmePartner"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("INVALID_INPUT", "contact.name"), ("INVALID_INPUT", "contact.phone"), ("INVALID_INPUT", "contact.email"),
        ("INVALID_INPUT", "proofOfTrade.contentType"),
    ]
    assert as_user("distributor")(PARTNER_NODE, {"id": nordit})["node"]["partnerNumber"] is None
    assert as_user("distributor")(APPLICATION_RECORD)["partnerApplications"]["nodes"] == []


def test_enrolment_is_refused_until_the_proof_of_trade_is_uploaded(as_user, demo, services):
    nordit = demo.partners["nordit"].id
    missing = as_user("distributor")(ENROL, enrolment(services, nordit, upload=False))["partnerProgrammeEnrol"]
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("INVALID_INPUT", "proofOfTrade.documentKey")]
    assert as_user("distributor")(PARTNER_NODE, {"id": nordit})["node"]["partnerNumber"] is None
    uploaded = as_user("distributor")(ENROL, enrolment(services, nordit))["partnerProgrammeEnrol"]
    assert uploaded["errors"] == [] and uploaded["programmePartner"]["partnerNumber"] == 1


def test_a_proof_of_trade_of_another_type_gets_no_upload_form(as_user):
    result = as_user("distributor")(PROOF_UPLOAD, {"input": {"contentType": "application/zip", "sizeBytes": 100}})["partnerApplicationProofUpload"]
    assert result["upload"] is None and result["errors"] == [{"code": "INVALID_INPUT", "field": "proofOfTrade.contentType"}]


def test_rejection_needs_a_reason_and_only_the_distributor_decides(as_user, services, clock):
    from domain.partner_programme import DocumentKind
    from domain.services import partner_programme as programme

    services.documents.put("partner-applications/doc_1", b"%PDF", "application/pdf")
    command = programme.ApplicationCommand(
        "Firma", {"street": "A 1", "postal_code": "10115", "city": "Berlin"}, "Max", "+49 30 123456", "max@firma.example",
        DocumentKind.TRADE_LICENCE, "partner-applications/doc_1", "application/pdf", 4,
    )
    application = programme.submit_partner_application(services.uow(), services.documents, command, now=clock.now)
    assert as_user("nordit_admin")(REJECT, {"id": application.id, "reason": "x"})["partnerApplicationReject"]["errors"][0]["code"] == "FORBIDDEN"
    assert as_user("distributor")(REJECT, {"id": application.id, "reason": " "})["partnerApplicationReject"]["errors"][0]["field"] == "reason"
    rejected = as_user("distributor")(REJECT, {"id": application.id, "reason": "No trade licence"})["partnerApplicationReject"]
    assert rejected["application"] == {"status": "REJECTED", "rejectionReason": "No trade licence"}


def test_the_distributor_changes_a_tier_with_an_effective_date_a_partner_cannot(as_user, demo, enrolled, clock):
    tomorrow = (clock.now.date() + timedelta(days=1)).isoformat()
    change = {"input": {"partnerId": demo.partners["nordit"].id, "tier": "CERTIFIED", "effectiveFrom": tomorrow}}
    assert as_user("nordit_admin")(TIER, change)["partnerTierChange"]["errors"][0]["code"] == "FORBIDDEN"
    result = as_user("distributor")(TIER, change)["partnerTierChange"]
    assert result["errors"] == [] and result["programmePartner"]["tier"] == "REGISTERED"  # from tomorrow
    assert [c["tier"] for c in result["programmePartner"]["tierHistory"]] == ["REGISTERED", "CERTIFIED"]


PARTNER_NODE = """query($id: ID!) { node(id: $id) { ... on Partner { partnerNumber tier } } }"""


def test_the_partner_shows_its_programme_number_and_the_tier_in_force_today(as_user, demo, enrolled, clock):
    nordit = demo.partners["nordit"].id
    assert as_user("nordit_admin")(PARTNER_NODE, {"id": nordit})["node"] == {"partnerNumber": enrolled["nordit"], "tier": "REGISTERED"}
    tomorrow = clock.now.date() + timedelta(days=1)
    as_user("distributor")(TIER, {"input": {"partnerId": nordit, "tier": "CERTIFIED", "effectiveFrom": tomorrow.isoformat()}})
    assert as_user("nordit_admin")(PARTNER_NODE, {"id": nordit})["node"]["tier"] == "REGISTERED"  # from tomorrow
    clock.now += timedelta(days=1)
    assert as_user("distributor")(PARTNER_NODE, {"id": nordit})["node"] == {"partnerNumber": enrolled["nordit"], "tier": "CERTIFIED"}


def test_a_partner_outside_the_programme_has_no_number(as_user, demo):
    assert as_user("nordit_admin")(PARTNER_NODE, {"id": demo.partners["nordit"].id})["node"] == {"partnerNumber": None, "tier": "REGISTERED"}


ACTIVE = """mutation($id: ID!, $active: Boolean!) { partnerProgrammeActiveSet(partnerId: $id, active: $active) { programmePartner { active } errors { code } } }"""


def test_only_the_distributor_suspends_a_partner_whose_links_are_then_ignored(as_user, client, demo, enrolled):
    nordit = demo.partners["nordit"].id
    assert as_user("nordit_admin")(ACTIVE, {"id": nordit, "active": False})["partnerProgrammeActiveSet"]["errors"][0]["code"] == "FORBIDDEN"
    assert as_user("distributor")(ACTIVE, {"id": nordit, "active": False})["partnerProgrammeActiveSet"]["programmePartner"] == {"active": False}
    assert "set-cookie" not in client.get(f"/r?aff={enrolled['nordit']}&to=/", follow_redirects=False).headers
    code = as_user("distributor")(SIGN_UP, {"input": NEW_CUSTOMER, "code": enrolled["nordit"]})["customerSignUp"]
    assert code["errors"] == [] and code["referredByPartnerNumber"] is None


def test_the_partner_admin_sets_valid_bank_details_only(as_user, demo, enrolled):
    nordit = demo.partners["nordit"].id
    bad = as_user("nordit_admin")(BANK, {"input": {"partnerId": nordit, "iban": "DE89 3704 0044 0532 0130 01", "accountHolder": "NordIT"}})
    assert bad["partnerBankDetailsSet"]["errors"][0]["field"] == "bankDetails.iban"
    good = as_user("nordit_admin")(BANK, {"input": {"partnerId": nordit, "iban": "DE89 3704 0044 0532 0130 00", "accountHolder": "NordIT"}})
    assert good["partnerBankDetailsSet"]["programmePartner"]["bankDetails"] == {"ibanMasked": "DE89 **** 3000", "accountHolder": "NordIT"}
    other = as_user("suedcloud_admin")(BANK, {"input": {"partnerId": nordit, "iban": "DE89370400440532013000", "accountHolder": "Evil"}})
    assert other["partnerBankDetailsSet"]["errors"][0]["code"] == "NOT_FOUND"


def test_sign_up_with_the_signed_cookie_or_a_referral_code_attributes_the_customer(as_user, services, clock, enrolled):
    ops = as_user("distributor")
    cookie = sign_click(services.settings.referral_secret, enrolled["nordit"], clock.now - timedelta(days=10))
    by_cookie = ops(SIGN_UP, {"input": NEW_CUSTOMER, "cookie": cookie})["customerSignUp"]
    assert by_cookie["errors"] == [] and by_cookie["referredByPartnerNumber"] == enrolled["nordit"]
    by_code = ops(SIGN_UP, {"input": {**NEW_CUSTOMER, "name": "Zwei GmbH"}, "code": enrolled["suedcloud"]})["customerSignUp"]
    assert by_code["referredByPartnerNumber"] == enrolled["suedcloud"]
    forged = ops(SIGN_UP, {"input": {**NEW_CUSTOMER, "name": "Drei GmbH"}, "cookie": cookie[:-1] + ("0" if cookie[-1] != "0" else "1")})["customerSignUp"]
    assert forged["errors"] == [] and forged["referredByPartnerNumber"] is None
    old = sign_click(services.settings.referral_secret, enrolled["nordit"], clock.now - timedelta(days=120))
    assert ops(SIGN_UP, {"input": {**NEW_CUSTOMER, "name": "Vier GmbH"}, "cookie": old})["customerSignUp"]["referredByPartnerNumber"] is None


def test_a_partner_signing_up_a_customer_through_its_own_link_earns_nothing(as_user, services, clock, enrolled):
    cookie = sign_click(services.settings.referral_secret, enrolled["nordit"], clock.now - timedelta(days=1))
    result = as_user("nordit_sales")(SIGN_UP, {"input": NEW_CUSTOMER, "cookie": cookie})["customerSignUp"]
    assert result["errors"] == [] and result["referredByPartnerNumber"] is None


@pytest.fixture
def ledger_with_commissions(as_user, demo, services, clock, enrolled):
    """Nordit referred Neu GmbH; two invoices paid 100 days ago (approved: 30.00 + 25.00) and one paid yesterday (pending)."""
    ops = as_user("distributor")
    nordit = demo.partners["nordit"].id
    as_user("nordit_admin")(BANK, {"input": {"partnerId": nordit, "iban": "DE89370400440532013000", "accountHolder": "NordIT Systemhaus"}})
    customer_id = ops(SIGN_UP, {"input": NEW_CUSTOMER, "code": enrolled["nordit"]})["customerSignUp"]["customer"]["id"]
    today = clock.now.date()
    for n, (net, days_ago) in enumerate([("300.00", 100), ("250.00", 100), ("80.00", 1)], start=1):
        issued = clock.now - timedelta(days=days_ago + 5)
        draft = InvoiceDraft(
            invoice_id=f"inv_{n:020d}", kind=InvoiceKind.INVOICE, issuer_id=demo.distributor.id, payer_id=customer_id, customer_id=customer_id,
            currency="EUR", lines=(InvoiceLine.priced("Microsoft 365 Business Standard", 1, Money.of(net), Decimal("19")),),
            vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER, billing_mode=BillingMode.CUSTOMER_PAYS,
        )
        invoice = draft.issue(number=f"PH-{issued.year}-{n:06d}", issued_at=issued)
        outcome = record_payment(invoice, invoice.amount_due, today - timedelta(days=days_ago), f"ref-{n}", today=today)
        ledger.record_commission_for_payment(services.uow(), outcome.invoice, outcome.event, terms=ProgrammeTerms.default(), now=clock.now)
    ledger.approve_due_commissions(services.uow, run_date=today, now=clock.now)
    return nordit


def test_the_partner_sees_its_referrals_and_the_sums_pending_approved_and_paid(as_user, ledger_with_commissions):
    overview = as_user("nordit_admin")(REFERRALS, {"id": ledger_with_commissions})["referrals"]
    assert [c["customerName"] for c in overview["customers"]] == ["Neu GmbH"]
    assert overview["totals"] == {"pending": {"amount": "8.00"}, "approved": {"amount": "55.00"}, "paid": {"amount": "0.00"}}


def test_each_commission_says_why_it_is_pending_or_approved(as_user, ledger_with_commissions):
    nodes = as_user("nordit_admin")(COMMISSIONS, {"id": ledger_with_commissions})["commissions"]["nodes"]
    assert sorted(n["status"] for n in nodes) == ["APPROVED", "APPROVED", "PENDING"]
    pending = next(n for n in nodes if n["status"] == "PENDING")
    assert pending["approvalDate"] in pending["statusReason"] and pending["customerPaidOn"] in pending["statusReason"]


LEDGER_INVOICE = """query($id: ID!) { commissions(partnerId: $id) { nodes { status amount { amount } ratePercent baseAmount { amount }
  invoiceNumber invoiceDate customerPaidOn approvalDate } } }"""


def test_the_referring_partner_sees_its_commission_and_dates_but_not_the_customers_invoice_number_or_net(as_user, ledger_with_commissions, clock):
    """Neu GmbH pays its invoices itself (net 300.00, 250.00, 80.00): they are Neu's; Nordit sees what it earns and when."""
    partner = ledger_with_commissions
    seen = as_user("nordit_admin")(LEDGER_INVOICE, {"id": partner})["commissions"]["nodes"]
    first = next(n for n in seen if n["amount"] == {"amount": "30.00"})
    paid_on = clock.now.date() - timedelta(days=100)
    assert first == {
        "status": "APPROVED", "amount": {"amount": "30.00"}, "ratePercent": "10", "baseAmount": None, "invoiceNumber": None,
        "invoiceDate": (paid_on - timedelta(days=5)).isoformat(), "customerPaidOn": paid_on.isoformat(),
        "approvalDate": (paid_on + timedelta(days=90)).isoformat(),
    }
    assert all(n["baseAmount"] is None and n["invoiceNumber"] is None for n in seen)
    ops = as_user("distributor")(LEDGER_INVOICE, {"id": partner})["commissions"]["nodes"]
    assert sorted((n["invoiceNumber"][-6:], n["baseAmount"]["amount"]) for n in ops) == [
        ("000001", "300.00"), ("000002", "250.00"), ("000003", "80.00")
    ]


# actor -> whether it sees Nordit's programme data (partner staff without the dashboard permission do not)
SEES_NORDIT = {"distributor": True, "nordit_admin": True, "nordit_sales": False, "suedcloud_admin": False, "hanse_it": False, "kanzlei_office": False}


def test_nobody_sees_another_partners_programme_data(as_user, ledger_with_commissions):
    partner = ledger_with_commissions
    for actor, sees in SEES_NORDIT.items():
        api = as_user(actor)
        assert (api(PROGRAMME_PARTNER, {"id": partner})["programmePartner"] is not None) is sees, actor
        assert (api(REFERRALS, {"id": partner})["referrals"] is not None) is sees, actor
        assert (len(api(COMMISSIONS, {"id": partner})["commissions"]["nodes"]) == 3) is sees, actor
        assert api(PAYOUTS, {"id": partner})["payouts"]["nodes"] == []
        if actor not in ("distributor", "nordit_admin"):
            assert api(PAYOUT, {"id": partner})["payoutRequest"]["errors"][0]["code"] == "FORBIDDEN", actor


def test_payout_request_pays_all_approved_commissions_and_the_distributor_gets_a_sepa_file(as_user, ledger_with_commissions, services):
    partner = ledger_with_commissions
    paid = as_user("nordit_admin")(PAYOUT, {"id": partner})["payoutRequest"]
    assert paid["errors"] == [] and paid["payout"]["amount"] == {"amount": "55.00"}
    again = as_user("nordit_admin")(PAYOUT, {"id": partner})["payoutRequest"]
    assert again["errors"][0]["code"] == "PRECONDITION_FAILED"  # nothing approved is left
    assert [p["id"] for p in as_user("suedcloud_admin")(PAYOUTS, {"id": partner})["payouts"]["nodes"]] == []
    assert as_user("nordit_admin")(RUN, {"d": "2099-01-02"})["payoutRunCreate"]["errors"][0]["code"] == "FORBIDDEN"
    run = as_user("distributor")(RUN, {"d": "2099-01-02"})["payoutRunCreate"]
    assert run["errors"] == [] and run["run"]["total"] == {"amount": "55.00"} and run["payouts"] == [{"status": "EXPORTED"}]
    assert "X-Amz-Signature" in run["run"]["downloadUrl"] or "Signature" in run["run"]["downloadUrl"]
    totals = as_user("nordit_admin")(REFERRALS, {"id": partner})["referrals"]["totals"]
    assert totals["paid"] == {"amount": "55.00"} and totals["approved"] == {"amount": "0.00"}


def test_a_suspended_partner_is_paid_the_commissions_approved_before_its_suspension(as_user, ledger_with_commissions):
    """Approved 30.00 + 25.00 (paid 100 days ago) are owed: suspension stops new earning, not their payout."""
    partner = ledger_with_commissions
    assert as_user("distributor")(ACTIVE, {"id": partner, "active": False})["partnerProgrammeActiveSet"]["programmePartner"] == {"active": False}
    paid = as_user("nordit_admin")(PAYOUT, {"id": partner})["payoutRequest"]
    assert paid["errors"] == [] and (paid["payout"]["amount"], paid["payout"]["status"]) == ({"amount": "55.00"}, "REQUESTED")
    totals = as_user("nordit_admin")(REFERRALS, {"id": partner})["referrals"]["totals"]
    assert totals == {"pending": {"amount": "8.00"}, "approved": {"amount": "0.00"}, "paid": {"amount": "55.00"}}
    again = as_user("nordit_admin")(PAYOUT, {"id": partner})["payoutRequest"]
    assert again["errors"][0]["code"] == "PRECONDITION_FAILED" and "do not exceed the payout threshold" in again["errors"][0]["message"]
