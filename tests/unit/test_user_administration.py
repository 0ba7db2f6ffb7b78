"""Who may create, promote, demote, deactivate and reactivate users; what keeps an organisation administrable.

DOMAIN.md "Actors": a customer's EXTENDED users see its invoices when it pays and decide who pays; the partner may not.
So a partner acting for its customer creates and manages REPORT_ONLY users only: a login it made EXTENDED would hand it
the customer's own rights. EXTENDED users are made by the customer's EXTENDED users or the distributor.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from domain.errors import ErrorCode, Forbidden, ValidationFailed
from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    LastAdministrator,
    OrganisationKind,
    PartnerPermission,
    PermissionLevel,
    Role,
    User,
    new_organisation,
    new_user,
    remaining_administrator,
)
from domain.policy import (
    OwnLoginUnchangeable,
    PartnerManagesReportOnlyUsers,
    Principal,
    require_not_own_login,
    require_user_administration,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
HAMBURG = Address.create("Marktplatz 3", "20095", "Hamburg")
NORDIT = new_organisation(id="ptn_nordit", kind=OrganisationKind.PARTNER, name="NordIT Systemhaus GmbH", address=HAMBURG,
                          billing_email="billing@nordit.example", now=T0)
HANSE = new_organisation(id="cus_hanse", kind=OrganisationKind.CUSTOMER, name="Hanse Logistik AG", address=HAMBURG,
                         billing_email="rechnung@hanse.example", now=T0).with_link(NORDIT, AccessLevel.FULL, BillingMode.PARTNER_PAYS, T0, "usr_ops")
DISTRIBUTOR = new_organisation(id="dst_1", kind=OrganisationKind.DISTRIBUTOR, name="Cloud Distribution GmbH", address=HAMBURG,
                               billing_email="billing@cloud.example", now=T0)

EXTENDED, REPORT_ONLY = PermissionLevel.EXTENDED, PermissionLevel.REPORT_ONLY
MANAGEMENT = frozenset({PartnerPermission.GENERAL_ACCESS, PartnerPermission.CUSTOMER_MANAGEMENT})


def user(key: str, organisation, role: Role, level: PermissionLevel | None = None, permissions=frozenset(), *, active: bool = True) -> User:
    made = new_user(id=f"usr_{key}", organisation=organisation, email=f"{key}@example.com", name=key.title(), role=role,
                    permissions=permissions, permission_level=level, now=T0)
    return made if active else made.deactivated(T0)


def principal(key: str, organisation, role: Role, level: PermissionLevel | None = None, permissions=frozenset()) -> Principal:
    return Principal.of(user(key, organisation, role, level, permissions))


OPS = principal("ops", DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
HANSE_IT = principal("it", HANSE, Role.CUSTOMER_USER, EXTENDED)
HANSE_STAFF = principal("staff", HANSE, Role.CUSTOMER_USER, REPORT_ONLY)
NORDIT_SALES = principal("sales", NORDIT, Role.PARTNER_STAFF, permissions=MANAGEMENT)
NORDIT_ADMIN = principal("admin", NORDIT, Role.PARTNER_ADMIN)


def outcome(actor: Principal, before: PermissionLevel | None, after: PermissionLevel | None, organisation=HANSE) -> str:
    try:
        require_user_administration(actor, organisation, level_before=before, level_after=after, what="manage users")
    except PartnerManagesReportOnlyUsers:
        return "partner: REPORT_ONLY only"
    except Forbidden:
        return "forbidden"
    return "allowed"


@pytest.mark.parametrize(
    "change,before,after,distributor,customer_extended,customer_report_only,partner",
    [
        ("create REPORT_ONLY", None, REPORT_ONLY, "allowed", "allowed", "forbidden", "allowed"),
        ("create EXTENDED", None, EXTENDED, "allowed", "allowed", "forbidden", "partner: REPORT_ONLY only"),
        ("promote", REPORT_ONLY, EXTENDED, "allowed", "allowed", "forbidden", "partner: REPORT_ONLY only"),
        ("demote", EXTENDED, REPORT_ONLY, "allowed", "allowed", "forbidden", "partner: REPORT_ONLY only"),
        ("(de/re)activate a REPORT_ONLY user", REPORT_ONLY, REPORT_ONLY, "allowed", "allowed", "forbidden", "allowed"),
        ("(de/re)activate an EXTENDED user", EXTENDED, EXTENDED, "allowed", "allowed", "forbidden", "partner: REPORT_ONLY only"),
    ],
)
def test_who_administers_a_customers_users(change, before, after, distributor, customer_extended, customer_report_only, partner):
    """NordIT's sales (customer management, FULL link to Hanse) gets REPORT_ONLY users only; partner admins likewise."""
    assert outcome(OPS, before, after) == distributor
    assert outcome(HANSE_IT, before, after) == customer_extended
    assert outcome(HANSE_STAFF, before, after) == customer_report_only
    assert outcome(NORDIT_SALES, before, after) == partner
    assert outcome(NORDIT_ADMIN, before, after) == partner


def test_a_partner_asked_for_an_extended_login_is_told_why_and_who_grants_it():
    with pytest.raises(PartnerManagesReportOnlyUsers) as refused:
        require_user_administration(NORDIT_SALES, HANSE, level_before=None, level_after=EXTENDED, what="add users")
    assert refused.value.code is ErrorCode.FORBIDDEN and refused.value.field == "permissionLevel"
    assert "invoices" in refused.value.message and "decide who pays" in refused.value.message
    assert refused.value.hint == ("Create the login as REPORT_ONLY; an EXTENDED user of Hanse Logistik AG or the distributor "
                                  "may make it EXTENDED.")
    with pytest.raises(PartnerManagesReportOnlyUsers) as touching:
        require_user_administration(NORDIT_SALES, HANSE, level_before=EXTENDED, level_after=EXTENDED, what="deactivate users")
    assert touching.value.field == "userId" and touching.value.hint == "Ask an EXTENDED user of Hanse Logistik AG or the distributor."


def test_a_limited_link_or_missing_customer_management_gives_a_partner_no_say_over_users():
    limited = HANSE.with_access_level(NORDIT.id, AccessLevel.LIMITED)
    assert outcome(NORDIT_SALES, None, REPORT_ONLY, limited) == "forbidden"
    ordering_only = principal("csp", NORDIT, Role.PARTNER_STAFF, permissions=frozenset({PartnerPermission.GENERAL_ACCESS, PartnerPermission.CSP_ORDERING}))
    assert outcome(ordering_only, None, REPORT_ONLY) == "forbidden"


def test_partner_users_are_administered_by_the_partner_admins_and_the_distributor():
    assert outcome(NORDIT_ADMIN, None, None, NORDIT) == "allowed"
    assert outcome(OPS, None, None, NORDIT) == "allowed"
    assert outcome(NORDIT_SALES, None, None, NORDIT) == "forbidden"
    assert outcome(HANSE_IT, None, None, NORDIT) == "forbidden"


def test_nobody_deactivates_or_changes_their_own_login():
    it = user("it", HANSE, Role.CUSTOMER_USER, EXTENDED)
    with pytest.raises(OwnLoginUnchangeable) as refused:
        require_not_own_login(HANSE_IT, it, "deactivate")
    assert refused.value.code is ErrorCode.FORBIDDEN and refused.value.message == "You cannot deactivate your own login."
    require_not_own_login(OPS, it, "deactivate")


def test_deactivating_keeps_the_user_and_records_when_reactivating_clears_it():
    staff = user("staff", HANSE, Role.CUSTOMER_USER, REPORT_ONLY)
    left = staff.deactivated(datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc))
    assert (left.active, left.deactivated_at) == (False, datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc))
    assert left.deactivated(datetime(2026, 4, 1, tzinfo=timezone.utc)) is left  # the first date stays
    assert left.reactivated(now=T0) == replace(staff, standing_changed_at=T0)


def test_only_customer_users_have_a_permission_level():
    with pytest.raises(ValidationFailed) as refused:
        user("sales", NORDIT, Role.PARTNER_STAFF, permissions=MANAGEMENT).with_permission_level(EXTENDED, now=T0)
    assert refused.value.field == "permissionLevel"


def test_the_last_active_extended_user_of_a_customer_stays():
    it = user("it", HANSE, Role.CUSTOMER_USER, EXTENDED)
    staff = user("staff", HANSE, Role.CUSTOMER_USER, REPORT_ONLY)
    former = user("former", HANSE, Role.CUSTOMER_USER, EXTENDED, active=False)  # a deactivated one does not count
    for change in (it.deactivated(T0), it.with_permission_level(REPORT_ONLY, now=T0)):
        with pytest.raises(LastAdministrator) as refused:
            remaining_administrator(HANSE, it, change, [it, staff, former])
        assert refused.value.code is ErrorCode.PRECONDITION_FAILED and refused.value.field == "userId"
        assert refused.value.message.startswith("It (it@example.com) is the last active EXTENDED user of Hanse Logistik AG")
        assert refused.value.hint.startswith("Make another user EXTENDED first")
    second = user("second", HANSE, Role.CUSTOMER_USER, EXTENDED)
    assert remaining_administrator(HANSE, it, it.deactivated(T0), [it, staff, second]) == second
    assert remaining_administrator(HANSE, staff, staff.deactivated(T0), [it, staff]) is None  # no administrator taken away
    assert remaining_administrator(HANSE, staff, staff.with_permission_level(EXTENDED, now=T0), [staff]) is None


def test_the_last_active_partner_admin_and_distributor_staff_user_stay():
    admin = user("admin", NORDIT, Role.PARTNER_ADMIN)
    sales = user("sales", NORDIT, Role.PARTNER_STAFF, permissions=MANAGEMENT)
    with pytest.raises(LastAdministrator) as partner:
        remaining_administrator(NORDIT, admin, admin.deactivated(T0), [admin, sales])
    assert "last active partner admin of NordIT Systemhaus GmbH" in partner.value.message
    ops = user("ops", DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
    with pytest.raises(LastAdministrator):
        remaining_administrator(DISTRIBUTOR, ops, ops.deactivated(T0), [ops, replace(ops, id="usr_gone", active=False)])
