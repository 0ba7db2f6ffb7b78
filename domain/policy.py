"""Who may do what: the one place that decides access.

Every query and mutation asks one of these functions with the principal and the
resource. Reads that fail answer "not found" upstream, so nobody learns that another
organisation's object exists; writes that fail raise ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import Forbidden
from domain.organisations import (
    AccessLevel,
    Organisation,
    OrganisationKind,
    PartnerLink,
    PartnerPermission,
    PermissionLevel,
    Role,
    User,
)


@dataclass(frozen=True)
class Principal:
    user_id: str
    organisation_id: str
    organisation_kind: OrganisationKind
    role: Role
    permissions: frozenset[PartnerPermission] = frozenset()
    permission_level: PermissionLevel | None = None

    @classmethod
    def of(cls, user: User) -> "Principal":
        return cls(
            user_id=user.id,
            organisation_id=user.organisation_id,
            organisation_kind=user.organisation_kind,
            role=user.role,
            permissions=user.permissions,
            permission_level=user.permission_level,
        )

    @property
    def is_distributor(self) -> bool:
        return self.organisation_kind is OrganisationKind.DISTRIBUTOR

    @property
    def is_partner(self) -> bool:
        return self.organisation_kind is OrganisationKind.PARTNER

    @property
    def is_customer(self) -> bool:
        return self.organisation_kind is OrganisationKind.CUSTOMER

    def has(self, permission: PartnerPermission) -> bool:
        """Partner staff act only with general access plus the area's permission."""
        if not self.is_partner:
            return False
        return PartnerPermission.GENERAL_ACCESS in self.permissions and permission in self.permissions


def _partner_link_access(principal: Principal, customer: Organisation) -> AccessLevel | None:
    if not principal.is_partner or customer.kind is not OrganisationKind.CUSTOMER:
        return None
    if not principal.has(PartnerPermission.GENERAL_ACCESS):
        return None
    link = customer.link_to(principal.organisation_id)
    return link.access_level if link else None


def can_view_organisation(principal: Principal, organisation: Organisation) -> bool:
    if principal.is_distributor or principal.organisation_id == organisation.id:
        return True
    return _partner_link_access(principal, organisation) is not None


def can_view_partner_link(principal: Principal, customer: Organisation, link: PartnerLink) -> bool:
    """A link (access level, billing mode and its history) belongs to the customer and that one partner: the
    customer's users and the distributor see every link, a partner only its own, never another partner's."""
    if principal.is_distributor or principal.organisation_id == customer.id:
        return True
    return principal.organisation_id == link.partner_id and can_view_organisation(principal, customer)


def can_list_partners(principal: Principal) -> bool:
    return principal.is_distributor


def can_create_partner(principal: Principal) -> bool:
    return principal.is_distributor


def can_create_customer(principal: Principal) -> bool:
    return principal.is_distributor or principal.has(PartnerPermission.CUSTOMER_MANAGEMENT)


def can_manage_customer(principal: Principal, customer: Organisation) -> bool:
    """Change a customer's master and onboarding data."""
    if principal.is_distributor:
        return True
    return (
        principal.has(PartnerPermission.CUSTOMER_MANAGEMENT)
        and _partner_link_access(principal, customer) is AccessLevel.FULL
    )


def can_link_partner(principal: Principal) -> bool:
    return principal.is_distributor


def can_switch_billing_mode(principal: Principal, customer: Organisation) -> bool:
    """The customer decides who pays; the distributor may do it on its behalf."""
    if principal.is_distributor:
        return True
    return (
        principal.organisation_id == customer.id
        and principal.permission_level is PermissionLevel.EXTENDED
    )


def can_resend_billing_mode_notice(principal: Principal, customer: Organisation, partner_id: str) -> bool:
    """Who may switch the billing mode, and the partner the notice is for (it asks for its own mail again)."""
    return can_switch_billing_mode(principal, customer) or (principal.is_partner and principal.organisation_id == partner_id)


def can_set_microsoft_ids(principal: Principal, partner: Organisation) -> bool:
    """The partner enters its Microsoft IDs once; later changes go through the distributor."""
    if principal.is_distributor:
        return True
    profile = partner.partner_profile
    first_entry = profile is not None and not (profile.microsoft_partner_network_id or profile.microsoft_id)
    return principal.organisation_id == partner.id and principal.role is Role.PARTNER_ADMIN and first_entry


def require_microsoft_ids_settable(principal: Principal, partner: Organisation) -> None:
    """``can_set_microsoft_ids``, refused with who can do it instead: a partner's staff ask their administrator for the
    first entry; every later change, and an administrator's own, goes through the distributor (DOMAIN.md)."""
    if can_set_microsoft_ids(principal, partner):
        return
    profile = partner.partner_profile
    entered = profile is not None and bool(profile.microsoft_partner_network_id or profile.microsoft_id)
    if entered or principal.role is Role.PARTNER_ADMIN:
        raise Forbidden(
            "After their first entry, a partner's Microsoft IDs are changed by the distributor only.",
            hint="Ask the distributor to change them (an e-mail to its support address opens a ticket); "
                 "it sets them with partnerMicrosoftIdsSet.",
        )
    raise Forbidden(
        "Only an administrator of the partner enters its Microsoft IDs.",
        hint="Ask a partner administrator of your organisation to enter them (partnerMicrosoftIdsSet).",
    )


def can_view_users(principal: Principal, organisation: Organisation) -> bool:
    if principal.is_distributor:
        return True
    if principal.organisation_id == organisation.id:
        return principal.role is Role.PARTNER_ADMIN or principal.permission_level is PermissionLevel.EXTENDED
    return _partner_link_access(principal, organisation) is AccessLevel.FULL


def can_manage_users(principal: Principal, organisation: Organisation) -> bool:
    """Administer the users of ``organisation`` (create, change the level, deactivate, reactivate): the distributor, the
    organisation's own administrators (partner admins; a customer's EXTENDED users), and a partner with customer
    management and a FULL link, for the customer's REPORT_ONLY users only (``require_user_administration``)."""
    if principal.is_distributor:
        return True
    if principal.organisation_id == organisation.id:
        return principal.role is Role.PARTNER_ADMIN or principal.permission_level is PermissionLevel.EXTENDED
    return can_manage_customer(principal, organisation)


class PartnerManagesReportOnlyUsers(Forbidden):
    """A partner acting for a customer creates and manages only the customer's REPORT_ONLY users.

    An EXTENDED user holds the customer's own rights: it sees the customer's invoices when the customer pays and decides
    who pays, which the partner is refused itself. A login the partner makes or keeps must not hand them to it: the
    customer's EXTENDED users or the distributor create EXTENDED users and promote, demote or deactivate them.
    """

    def __init__(self, customer: Organisation, *, granting: bool) -> None:
        if granting:
            super().__init__(
                f"A partner gives users of {customer.name} the level REPORT_ONLY only: EXTENDED users hold the customer's own "
                "rights (they see its invoices and decide who pays).",
                field="permissionLevel",
                hint=f"Create the login as REPORT_ONLY; an EXTENDED user of {customer.name} or the distributor may make it EXTENDED.",
            )
        else:
            super().__init__(
                f"A partner does not change, deactivate or reactivate the EXTENDED users of {customer.name}: they hold the "
                "customer's own rights (they see its invoices and decide who pays).",
                field="userId",
                hint=f"Ask an EXTENDED user of {customer.name} or the distributor.",
            )


class OwnLoginUnchangeable(Forbidden):
    """Nobody deactivates their own login or changes their own level: a slip would lock them out with nobody to undo it."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"You cannot {what} your own login.",
            field="userId",
            hint="Ask another administrator of your organisation (a partner admin, or an EXTENDED user of a customer) or the distributor.",
        )


def require_user_administration(
    principal: Principal, organisation: Organisation, *, level_before: PermissionLevel | None, level_after: PermissionLevel | None,
    what: str,
) -> None:
    """May ``principal`` change a user of ``organisation`` whose level is ``level_before`` (None: a new user) into one of
    ``level_after``? ``Forbidden`` when it may not administer the organisation's users at all;
    ``PartnerManagesReportOnlyUsers`` when a partner acting for its customer would touch an EXTENDED user or make one."""
    require(can_manage_users(principal, organisation), what)
    if principal.is_partner and organisation.kind is OrganisationKind.CUSTOMER:
        if level_before is PermissionLevel.EXTENDED:
            raise PartnerManagesReportOnlyUsers(organisation, granting=False)
        if level_after is PermissionLevel.EXTENDED:
            raise PartnerManagesReportOnlyUsers(organisation, granting=True)


def require_not_own_login(principal: Principal, user: User, what: str) -> None:
    if principal.user_id == user.id:
        raise OwnLoginUnchangeable(what)


def require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(f"You are not allowed to {what}.", hint="Ask an administrator of your organisation or the distributor.")


# --- subscriptions and the customer's Microsoft side ---------------------------------------


def can_order_csp(principal: Principal, customer: Organisation) -> bool:
    """Order or change licences for a customer: the distributor, or a partner with CSP ordering and full access."""
    if principal.is_distributor:
        return True
    return principal.has(PartnerPermission.CSP_ORDERING) and _partner_link_access(principal, customer) is AccessLevel.FULL


def can_order_saas(principal: Principal, customer: Organisation | None) -> bool:
    """Sell a reseller SaaS subscription: an order the partner is billed for, as for CSP licences, so it needs the
    ordering permission; for a customer on the platform also full access (a limited link is read only)."""
    if not principal.has(PartnerPermission.CSP_ORDERING):
        return False
    return customer is None or _partner_link_access(principal, customer) is AccessLevel.FULL


def can_manage_saas_subscription(principal: Principal, *, partner_id: str, customer: Organisation | None) -> bool:
    """Change a reseller SaaS subscription (users, status) or send its invitation again: as selling one
    (``can_order_saas``), and only the selling partner's own (the partner keeps its billing)."""
    return principal.is_partner and principal.organisation_id == partner_id and can_order_saas(principal, customer)


def can_view_partner_sales(principal: Principal, partner_id: str) -> bool:
    """What a partner sold (its CSP and SaaS subscriptions, its renewal planner): the distributor, and that
    partner's staff with general access."""
    if principal.is_distributor:
        return True
    return principal.is_partner and principal.organisation_id == partner_id and principal.has(PartnerPermission.GENERAL_ACCESS)


def can_view_subscription(principal: Principal, *, customer_id: str, partner_id: str) -> bool:
    if principal.is_distributor or principal.is_partner:
        return can_view_partner_sales(principal, partner_id)
    return principal.organisation_id == customer_id and principal.permission_level is PermissionLevel.EXTENDED


def can_change_subscription(principal: Principal, customer: Organisation, *, partner_id: str) -> bool:
    if principal.is_distributor:
        return True
    return principal.organisation_id == partner_id and can_order_csp(principal, customer)


def can_cancel_legacy_with_credit_note(principal: Principal) -> bool:
    """Cancel a legacy CSP subscription billed annually outside its windows, crediting the rest of the term: the
    distributor only (it cancels legacy orders paid annually and issues the credit notes; seed terra-cloud-microsoft-csp)."""
    return principal.is_distributor


def can_manage_catalogue(principal: Principal) -> bool:
    return principal.is_distributor


def can_record_customer_agreement(principal: Principal, customer: Organisation) -> bool:
    """The customer accepts the Microsoft Customer Agreement; its partner or the distributor may record it."""
    if principal.organisation_id == customer.id:
        return principal.permission_level is PermissionLevel.EXTENDED
    return can_order_csp(principal, customer)


def can_confirm_tenant_link(principal: Principal, customer: Organisation) -> bool:
    return principal.is_distributor or (
        principal.organisation_id == customer.id and principal.permission_level is PermissionLevel.EXTENDED
    )


def can_grant_eligibility(principal: Principal) -> bool:
    return principal.is_distributor


def can_manage_sepa_mandates(principal: Principal) -> bool:
    """Record or revoke a customer's direct-debit mandate: the distributor, who is the creditor and keeps the signed
    mandate (domain.sepa); never the customer's own users or a partner."""
    return principal.is_distributor


def can_view_sepa_mandate(principal: Principal, customer: Organisation) -> bool:
    """The mandate on file (masked): the distributor and the customer's EXTENDED users, who also see its invoices."""
    if principal.is_distributor:
        return True
    return principal.organisation_id == customer.id and principal.permission_level is PermissionLevel.EXTENDED


# --- invoices (the object check for one invoice is domain.invoices.can_view_invoice) ---------


def can_view_invoices_of(principal: Principal, organisation_id: str) -> bool:
    """Invoices live in the paying organisation: its invoice readers and the distributor see them."""
    if principal.is_distributor:
        return True
    if principal.organisation_id != organisation_id:
        return False
    if principal.is_customer:
        return principal.permission_level is PermissionLevel.EXTENDED
    return principal.has(PartnerPermission.GENERAL_ACCESS)


def can_manage_invoices(principal: Principal) -> bool:
    """Record payments, issue credit notes, read the dunning list, delete expired invoices: distributor staff."""
    return principal.is_distributor
