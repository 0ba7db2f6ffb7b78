"""Invoice copies (free re-send, self-service download, paid archive retrieval) and the 10-year retention."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import ErrorCode, ValidationFailed
from domain.invoices import (
    BillingParty,
    CopyDecision,
    CopyNotFree,
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    InvoiceNoLongerOnline,
    PaymentMethod,
    RetentionPeriodRunning,
    VatTreatment,
    archive_retrieval_draft,
    assert_deletable,
    assert_downloadable,
    assert_free_resend,
    copy_policy,
    quote_archive_retrieval,
    retention_ends_on,
)
from domain.money import Money
from domain.organisations import OrganisationKind, PartnerPermission, PermissionLevel, Role
from domain.policy import Principal

UTC = timezone.utc


def issued_on(day: date, number: str | None = None):
    return InvoiceDraft(
        invoice_id="inv_1",
        kind=InvoiceKind.INVOICE,
        issuer_id="dst_1",
        payer_id="cus_1",
        customer_id="cus_1",
        currency="EUR",
        lines=(InvoiceLine.priced("Hosting", 1, Money.of("100.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD,
        payment_method=PaymentMethod.TRANSFER,
    ).issue(number=number or f"PH-{day.year}-000001", issued_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))


# --- copies -------------------------------------------------------------------------------


def test_copy_requested_on_day_60_is_re_sent_free():
    assert copy_policy(date(2025, 1, 1), date(2025, 3, 2)) is CopyDecision.FREE_RESEND
    assert_free_resend(issued_on(date(2025, 1, 1)), date(2025, 3, 2))  # no error


def test_copy_requested_on_day_61_is_refused_with_the_download_hint():
    invoice = issued_on(date(2025, 1, 1))
    assert copy_policy(date(2025, 1, 1), date(2025, 3, 3)) is CopyDecision.SELF_SERVICE_DOWNLOAD
    with pytest.raises(CopyNotFree) as refused:
        assert_free_resend(invoice, date(2025, 3, 3))
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED
    assert refused.value.decision is CopyDecision.SELF_SERVICE_DOWNLOAD
    assert "Download invoice PH-2025-000001 yourself" in refused.value.hint
    assert "until 2027-01-01" in refused.value.hint


def test_copy_on_the_day_of_issue_is_free():
    assert copy_policy(date(2025, 1, 1), date(2025, 1, 1)) is CopyDecision.FREE_RESEND


def test_invoice_is_downloadable_until_the_same_day_24_months_later_inclusive():
    assert copy_policy(date(2023, 1, 31), date(2025, 1, 31)) is CopyDecision.SELF_SERVICE_DOWNLOAD
    assert copy_policy(date(2023, 1, 31), date(2025, 2, 1)) is CopyDecision.ARCHIVE_RETRIEVAL_REQUIRED


def test_online_period_of_a_leap_day_invoice_ends_on_feb_28():
    assert copy_policy(date(2024, 2, 29), date(2026, 2, 28)) is CopyDecision.SELF_SERVICE_DOWNLOAD
    assert copy_policy(date(2024, 2, 29), date(2026, 3, 1)) is CopyDecision.ARCHIVE_RETRIEVAL_REQUIRED


def test_online_period_is_a_setting():
    assert copy_policy(date(2023, 1, 31), date(2025, 6, 1), online_months=36) is CopyDecision.SELF_SERVICE_DOWNLOAD


def test_copy_of_a_three_year_old_invoice_requires_archive_retrieval_quoted_at_100_for_one_hour():
    invoice = issued_on(date(2022, 5, 10))
    with pytest.raises(CopyNotFree) as refused:
        assert_free_resend(invoice, date(2025, 5, 10))
    assert refused.value.decision is CopyDecision.ARCHIVE_RETRIEVAL_REQUIRED
    assert "archive retrieval" in refused.value.hint
    quote = quote_archive_retrieval(1, hourly_rate=Money.of("60.00"))
    assert quote.net_total == Money.of("100.00")


def test_archive_retrieval_of_three_hours_at_60_per_hour_costs_220():
    assert quote_archive_retrieval(3, hourly_rate=Money.of("60.00")).net_total == Money.of("220.00")


@pytest.mark.parametrize("hours", [0, -1, True, 1.5])
def test_archive_retrieval_is_ordered_in_whole_hours_of_at_least_one(hours):
    with pytest.raises(ValidationFailed):
        quote_archive_retrieval(hours, hourly_rate=Money.of("60.00"))


def test_archive_retrieval_is_its_own_invoice_due_on_the_day_of_issue():
    original = issued_on(date(2021, 3, 4), number="PH-2021-000815")
    quote = quote_archive_retrieval(3, hourly_rate=Money.of("60.00"))
    draft = archive_retrieval_draft(quote, original=original, payer=BillingParty("cus_1"), invoice_id="inv_arch")
    invoice = draft.issue(number="PH-2025-000900", issued_at=datetime(2025, 5, 10, 9, tzinfo=UTC))
    assert [(line.quantity, line.unit_price, line.net_amount) for line in invoice.lines] == [
        (1, Money.of("100.00"), Money.of("100.00")),
        (2, Money.of("60.00"), Money.of("120.00")),
    ]
    assert all("PH-2021-000815" in line.description for line in invoice.lines)
    assert invoice.gross_total == Money.of("261.80")  # 220.00 + 19% VAT
    assert invoice.due_date == invoice.issue_date == date(2025, 5, 10)


# --- self-service download -----------------------------------------------------------------

PAYER = Principal("usr_office", "cus_1", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
PAYING_PARTNER = Principal("usr_nina", "cus_1", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, permissions=frozenset(PartnerPermission))
STAFF = Principal("usr_ops", "dst_1", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)


@pytest.mark.parametrize("payer", [PAYER, PAYING_PARTNER], ids=["customer", "partner"])
def test_the_payer_downloads_an_invoice_of_2023_01_31_until_2025_01_31_and_not_from_2025_02_01(payer):
    invoice = issued_on(date(2023, 1, 31))
    assert_downloadable(payer, invoice, date(2025, 1, 31))  # last online day: no error
    with pytest.raises(InvoiceNoLongerOnline) as refused:
        assert_downloadable(payer, invoice, date(2025, 2, 1))
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED
    assert refused.value.online_until == date(2025, 1, 31)
    assert "until 2025-01-31" in refused.value.message
    assert "archive retrieval" in refused.value.hint and "100.00" in refused.value.hint


def test_the_download_follows_the_online_period_setting():
    invoice = issued_on(date(2023, 1, 31))
    assert_downloadable(PAYER, invoice, date(2026, 1, 31), online_months=36)  # no error
    with pytest.raises(InvoiceNoLongerOnline):
        assert_downloadable(PAYER, invoice, date(2025, 2, 1), online_months=24)


def test_distributor_staff_still_download_an_invoice_no_longer_online_as_they_carry_out_the_archive_retrieval():
    assert_downloadable(STAFF, issued_on(date(2021, 3, 4)), date(2025, 5, 10))  # no error


# --- retention ----------------------------------------------------------------------------


def test_invoice_of_2013_06_30_is_kept_until_2023_12_31():
    assert retention_ends_on(date(2013, 6, 30)) == date(2023, 12, 31)


def test_invoice_cannot_be_deleted_on_the_last_day_of_retention():
    with pytest.raises(RetentionPeriodRunning) as refused:
        assert_deletable(issued_on(date(2013, 6, 30)), date(2023, 12, 31))
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED
    assert refused.value.retention_ends_on == date(2023, 12, 31)


def test_invoice_can_be_deleted_the_day_after_retention_ends():
    assert_deletable(issued_on(date(2013, 6, 30)), date(2024, 1, 1))  # no error


def test_invoice_issued_on_new_years_eve_is_kept_ten_full_years():
    assert retention_ends_on(date(2013, 12, 31)) == date(2023, 12, 31)
    assert retention_ends_on(date(2014, 1, 1)) == date(2024, 12, 31)
