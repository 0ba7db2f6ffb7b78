"""Organisations, onboarding data, partnership links and users: the rules of DOMAIN.md "Actors"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import Conflict, ErrorCode, PreconditionFailed, ValidationFailed
from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    Branch,
    BranchBilling,
    CustomerOnboarding,
    OnboardingChanges,
    OrganisationKind,
    PartnerPermission,
    PermissionLevel,
    Role,
    new_organisation,
    new_user,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
BERLIN = Address.create("Unter den Linden 1", "10117", "Berlin")


def customer(**kwargs):
    defaults = dict(id="cus_1", kind=OrganisationKind.CUSTOMER, name="Kunde AG", address=BERLIN, billing_email="rechnung@kunde.de", now=T0)
    return new_organisation(**{**defaults, **kwargs})


def partner(pid="ptn_1", name="Reseller GmbH"):
    return new_organisation(id=pid, kind=OrganisationKind.PARTNER, name=name, address=BERLIN, billing_email="billing@reseller.de", now=T0)


def test_company_name_must_not_be_empty():
    with pytest.raises(ValidationFailed) as err:
        customer(name="   ")
    assert err.value.field == "name" and err.value.code is ErrorCode.INVALID_INPUT


def test_billing_email_must_be_valid():
    with pytest.raises(ValidationFailed) as err:
        customer(billing_email="rechnung(at)kunde.de")
    assert err.value.field == "billingEmail"


@pytest.mark.parametrize("number", ["12a4", "123", "12345678", "12 345"])
def test_malformed_datev_consultant_number_is_refused(number):
    with pytest.raises(ValidationFailed) as err:
        CustomerOnboarding.create(datev_consultant_number=number)
    assert err.value.field == "onboarding.datevConsultantNumber"
    assert "digits" in err.value.hint


@pytest.mark.parametrize("number,expected", [("1234", "1234"), (" 1234567 ", "1234567"), ("", None), (None, None)])
def test_datev_consultant_number_is_optional_and_digits_only(number, expected):
    assert CustomerOnboarding.create(datev_consultant_number=number).datev_consultant_number == expected


def test_per_branch_billing_needs_a_branch():
    with pytest.raises(ValidationFailed) as err:
        CustomerOnboarding.create(branch_billing=BranchBilling.PER_BRANCH)
    assert err.value.field == "onboarding.branches"


@pytest.mark.parametrize("goods,services", [(True, True), (True, False), (False, True)])
def test_a_branch_receives_goods_or_services_or_both(goods, services):
    branch = Branch.create("  Lager Bremen ", BERLIN, receives_goods=goods, receives_services=services)
    assert (branch.name, branch.receives_goods, branch.receives_services) == ("Lager Bremen", goods, services)


def test_a_site_that_receives_neither_goods_nor_services_is_no_branch():
    with pytest.raises(ValidationFailed) as err:
        Branch.create("Archiv", BERLIN, receives_goods=False, receives_services=False, field_prefix="onboarding.branches[1]")
    assert err.value.field == "onboarding.branches[1]" and err.value.code is ErrorCode.INVALID_INPUT
    assert "receivesGoods or receivesServices" in err.value.hint


def test_a_branch_needs_a_name():
    with pytest.raises(ValidationFailed) as err:
        Branch.create("   ", BERLIN, field_prefix="onboarding.branches[0]")
    assert err.value.field == "onboarding.branches[0].name"


def boarded():
    return CustomerOnboarding.create(
        branches=(Branch.create("Lager Bremen", Address.create("Hafenstr. 12", "28195", "Bremen")),),
        branch_billing=BranchBilling.PER_BRANCH, service_report_email="it@hanse.example",
        notify_on_new_ticket=("it@hanse.example",), notify_on_ticket_status_change=("chef@hanse.example",),
        initial_inventory_wanted=True, datev_consultant_number="1234567",
    )


def test_changing_one_onboarding_field_keeps_all_the_others():
    before = boarded()
    after = before.with_changes(OnboardingChanges(datev_consultant_number="4711"))
    assert after.datev_consultant_number == "4711"
    assert after == CustomerOnboarding(**{**before.__dict__, "datev_consultant_number": "4711"})


def test_an_empty_list_or_text_clears_an_onboarding_field():
    after = boarded().with_changes(OnboardingChanges(notify_on_new_ticket=(), service_report_email="", datev_consultant_number=""))
    assert (after.notify_on_new_ticket, after.service_report_email, after.datev_consultant_number) == ((), None, None)
    assert after.notify_on_ticket_status_change == ("chef@hanse.example",) and len(after.branches) == 1


def test_a_changed_onboarding_field_is_validated_and_the_result_as_a_whole():
    with pytest.raises(ValidationFailed) as err:
        boarded().with_changes(OnboardingChanges(notify_on_ticket_status_change=("chef(at)hanse.example",)))
    assert err.value.field == "onboarding.notifyOnTicketStatusChange[0]"
    with pytest.raises(ValidationFailed) as err:
        boarded().with_changes(OnboardingChanges(branches=()))  # billed per branch: the last branch cannot go
    assert err.value.field == "onboarding.branches"
    assert boarded().with_changes(OnboardingChanges(branches=(), branch_billing=BranchBilling.CENTRAL)).branches == ()


def test_ticket_notification_contacts_must_be_e_mail_addresses():
    with pytest.raises(ValidationFailed) as err:
        CustomerOnboarding.create(notify_on_new_ticket=("it@kunde.de", "not-an-address"))
    assert err.value.field == "onboarding.notifyOnNewTicket[1]"


def test_a_ticket_contact_entered_twice_in_any_case_is_kept_once_in_its_first_spelling():
    boarded_twice = CustomerOnboarding.create(
        notify_on_new_ticket=("IT@hanse.example", "it@hanse.example", " it@HANSE.example ", "chef@hanse.example"),
        notify_on_ticket_status_change=("chef@hanse.example", "Chef@Hanse.Example"),
    )
    assert boarded_twice.notify_on_new_ticket == ("IT@hanse.example", "chef@hanse.example")
    assert boarded_twice.notify_on_ticket_status_change == ("chef@hanse.example",)


@pytest.mark.parametrize("field,attribute", [
    ("onboarding.notifyOnNewTicket", "notify_on_new_ticket"),
    ("onboarding.notifyOnTicketStatusChange", "notify_on_ticket_status_change"),
])
def test_at_most_10_different_addresses_receive_each_ticket_notice(field, attribute):
    """Each notice is one message to all contacts (SES takes at most 50 recipients): 80 are refused by field."""
    ten = tuple(f"user{i}@hanse.example" for i in range(10))
    assert getattr(boarded().with_changes(OnboardingChanges(**{attribute: ten + ("USER0@hanse.example",)})), attribute) == ten
    with pytest.raises(ValidationFailed) as err:
        boarded().with_changes(OnboardingChanges(**{attribute: tuple(f"user{i}@hanse.example" for i in range(80))}))
    assert (err.value.field, err.value.code) == (field, ErrorCode.INVALID_INPUT)
    assert "At most 10 different addresses" in err.value.message


def test_country_is_a_two_letter_code():
    with pytest.raises(ValidationFailed) as err:
        Address.create("Str. 1", "10117", "Berlin", "Germany")
    assert err.value.field == "address.country"


def test_a_partner_can_be_linked_only_once():
    linked = customer().with_link(partner(), AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_1")
    with pytest.raises(Conflict):
        linked.with_link(partner(), AccessLevel.LIMITED, BillingMode.CUSTOMER_PAYS, T0, "usr_1")


def test_billing_mode_switch_applies_from_the_switch_on_and_keeps_history():
    switch_at = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
    linked = customer().with_link(partner(), AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_1")
    switched, changed = linked.with_billing_mode("ptn_1", BillingMode.CUSTOMER_PAYS, switch_at, "usr_2")
    link = switched.link_to("ptn_1")
    assert changed is True
    assert link.billing_mode is BillingMode.CUSTOMER_PAYS
    assert link.billing_mode_at(switch_at - timedelta(seconds=1)) is BillingMode.PARTNER_PAYS
    assert link.billing_mode_at(switch_at) is BillingMode.CUSTOMER_PAYS
    assert [p.mode for p in link.billing_mode_history] == [BillingMode.PARTNER_PAYS, BillingMode.CUSTOMER_PAYS]


def test_a_failed_partner_notice_marks_the_switch_it_was_for_and_nothing_else():
    """Linked and switched at the same instant: only the switch (to the mode named) is marked, never the link."""
    linked = customer().with_link(partner(), AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_1")
    switched, _ = linked.with_billing_mode("ptn_1", BillingMode.CUSTOMER_PAYS, T0, "usr_2")
    marked = switched.with_partner_notice_failed("ptn_1", BillingMode.CUSTOMER_PAYS, T0)
    assert [p.partner_notice_failed for p in marked.link_to("ptn_1").billing_mode_history] == [False, True]
    assert switched.with_partner_notice_failed("ptn_1", BillingMode.PARTNER_PAYS, T0) == switched  # the link, no switch


def test_only_the_latest_switch_whose_notice_failed_is_re_sent_and_a_re_sent_notice_clears_its_mark():
    """Switched 2025-06-15 12:00 (notice failed), back on 2025-07-01 (notice sent): the June notice is out of date."""
    june, july = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc), datetime(2025, 7, 1, 9, 0, tzinfo=timezone.utc)
    linked = customer().with_link(partner(), AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_1")
    with pytest.raises(PreconditionFailed, match="never switched"):
        linked.notice_to_resend("ptn_1")
    switched, _ = linked.with_billing_mode("ptn_1", BillingMode.CUSTOMER_PAYS, june, "usr_2")
    failed = switched.with_partner_notice_failed("ptn_1", BillingMode.CUSTOMER_PAYS, june)
    assert (failed.notice_to_resend("ptn_1").mode, failed.notice_to_resend("ptn_1").since) == (BillingMode.CUSTOMER_PAYS, june)
    notified = failed.with_partner_notified("ptn_1", BillingMode.CUSTOMER_PAYS, june)
    assert notified == switched
    with pytest.raises(PreconditionFailed, match="no notice to re-send") as refused:
        notified.notice_to_resend("ptn_1")
    assert refused.value.field == "partnerId"
    back, _ = failed.with_billing_mode("ptn_1", BillingMode.PARTNER_PAYS, july, "usr_2")
    with pytest.raises(PreconditionFailed):
        back.notice_to_resend("ptn_1")  # the partner knows the mode in force
    with pytest.raises(ValidationFailed):
        failed.notice_to_resend("ptn_2")


def test_switching_to_the_current_billing_mode_changes_nothing():
    linked = customer().with_link(partner(), AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_1")
    same, changed = linked.with_billing_mode("ptn_1", BillingMode.PARTNER_PAYS, T0, "usr_2")
    assert changed is False and same is linked


def test_customer_users_need_a_permission_level():
    with pytest.raises(ValidationFailed) as err:
        new_user(id="usr_1", organisation=customer(), email="a@kunde.de", name="Anna", role=Role.CUSTOMER_USER, now=T0)
    assert err.value.field == "permissionLevel"


def test_roles_belong_to_their_kind_of_organisation():
    with pytest.raises(ValidationFailed) as err:
        new_user(id="usr_1", organisation=customer(), email="a@kunde.de", name="Anna", role=Role.PARTNER_ADMIN,
                 permission_level=PermissionLevel.EXTENDED, now=T0)
    assert err.value.field == "role" and "CUSTOMER_USER" in err.value.hint


def test_partner_admins_hold_every_area_permission():
    admin = new_user(id="usr_1", organisation=partner(), email="a@reseller.de", name="Anna", role=Role.PARTNER_ADMIN, now=T0)
    assert admin.permissions == frozenset(PartnerPermission)
