"""The GraphQL schema: every query and mutation, and the limits that protect them.

The modules of `schema/` and the resolvers that declare GraphQL fields do not use
`from __future__ import annotations`: Strawberry would evaluate every string annotation on its own
when it builds the schema, about 50 ms of each cold start (bench/coldstart.py). tests/unit/test_cold_start.py
keeps it so.
"""

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    SchemaExtension,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from infra import annotation_cache

annotation_cache.install()  # before the first Strawberry type is defined (resolvers and schema modules below)

from domain.errors import DomainError
from resolvers import organisations as org
from resolvers import node as node_resolvers
from resolvers import invoices as inv
from resolvers import subscriptions as sub
from resolvers import partner_programme as pp
from schema import organisations as t
from schema import invoices as it
from schema import subscriptions as st
from schema import commissions as ct
from schema import partners as pt
from resolvers import tickets as tkt
from resolvers import software_updates as swu
from resolvers import credentials as crd
from resolvers.sign_in import ExecuteWhenSignedIn
from schema import organisations as t
from schema import subscriptions as st
from schema import tickets as tt
from schema import credentials as cs
from schema.common import Node
from schema.limits import IntrospectionDepthLimit
from schema.pagination import Connection

log = logging.getLogger("partnerhub.graphql")

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 20

# The limiters build a new validation rule class per instance, and the ValidationCache is keyed by the
# rule classes: built per request, they made every request a cache miss. Built once, the cache hits.
VALIDATION_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    IntrospectionDepthLimit,  # QueryDepthLimiter skips introspection
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


@strawberry.type
class Query:
    me: t.Viewer = strawberry.field(resolver=org.me, description="The signed-in user and its organisation.")
    node: Node | None = strawberry.field(resolver=node_resolvers.node, description="Any object by its id, if you may see it.")
    customer: t.Customer | None = strawberry.field(resolver=org.customer)
    partner: t.Partner | None = strawberry.field(resolver=org.partner)
    customers: Connection[t.Customer] = strawberry.field(
        resolver=org.customers, description="Distributor: all customers; partner: its linked customers; customer: itself."
    )
    partners: Connection[t.Partner] = strawberry.field(resolver=org.partners, description="Distributor: all partners; partner: itself.")
    users: Connection[t.User] = strawberry.field(resolver=org.users)
    products: list[st.Product] = strawberry.field(resolver=sub.products, description="The catalogue, with dated prices.")
    subscription: st.Subscription | None = strawberry.field(resolver=sub.subscription)
    subscriptions: Connection[st.Subscription] = strawberry.field(
        resolver=sub.subscriptions, description="Per customer or per partner; partners see what they sell, extended customer users their own."
    )
    renewal_planner: Connection[st.Subscription] = strawberry.field(
        resolver=sub.renewal_planner, description="What renews or ends in the next `days` days, in order of term end."
    )
    subscription_preview: st.SubscriptionPreview = strawberry.field(
        resolver=sub.subscription_preview, description="What a change would do (charge or credit, windows, next price). Writes nothing."
    )
    saas_subscriptions: Connection[st.SaasSubscription] = strawberry.field(resolver=sub.saas_subscriptions)
    # Partner programme (issue 5)
    partner_applications: Connection[pt.PartnerApplication] = strawberry.field(resolver=pp.partner_applications, description="Distributor only.")
    programme_partner: pt.ProgrammePartner | None = strawberry.field(
        resolver=pp.programme_partner, description="Partner number, tier, rates and bank details: the distributor, or the partner itself."
    )
    referrals: ct.ReferralsOverview | None = strawberry.field(
        resolver=pp.referrals, description="Referred customers with products, prices and recurring commission, and the sums pending, approved and paid."
    )
    commissions: Connection[ct.Commission] = strawberry.field(resolver=pp.commissions, description="Newest first, each with its status and why.")
    payouts: Connection[ct.Payout] = strawberry.field(resolver=pp.payouts)
    payout_runs: Connection[ct.PayoutRun] = strawberry.field(resolver=pp.payout_runs, description="Distributor only: SEPA files, newest first.")
    ticket: tt.Ticket | None = strawberry.field(resolver=tkt.ticket)
    tickets: Connection[tt.Ticket] = strawberry.field(
        resolver=tkt.tickets, description="A customer's tickets, newest first (a report-only user's: those they reported); service staff may list a status queue instead."
    )
    inbound_emails_awaiting_triage: Connection[tt.InboundEmail] = strawberry.field(
        resolver=tkt.inbound_emails_awaiting_triage,
        description="Service staff: e-mails from unknown senders that made no ticket, newest first, until made a ticket of or dismissed.",
    )
    service_report: tt.ServiceReport | None = strawberry.field(resolver=tkt.service_report, description="Extended customer users and staff.")
    service_reports: Connection[tt.ServiceReport] = strawberry.field(resolver=tkt.service_reports)
    contracts: list[tt.Contract] = strawberry.field(resolver=tkt.contracts, description="Contract status: extended customer users and staff.")
    assets: Connection[tt.Asset] = strawberry.field(resolver=tkt.assets)
    assets_expiring: list[tt.AssetExpiry] = strawberry.field(
        resolver=tkt.assets_expiring, description="Warranties and licences ending in the next `days` days (today included)."
    )
    service_statistics: tt.ServiceStatistics | None = strawberry.field(
        resolver=tkt.service_statistics, description="Tickets per month and status, hours billable and not, quota use (YYYY-MM, inclusive)."
    )
    credentials: Connection[cs.Credential] = strawberry.field(
        resolver=crd.credentials,
        description="A customer's credentials by label, never their passwords: service staff see every detail, the customer's "
                    "EXTENDED users the labels (and their own access); anyone else (REPORT_ONLY users too) nothing.",
    )
    credential: cs.Credential | None = strawberry.field(resolver=crd.credential, description="As in credentials.")
    credentials_awaiting_access_decision: Connection[cs.Credential] = strawberry.field(
        resolver=crd.credentials_awaiting_access_decision,
        description="Service staff: credentials a customer user asked for access to, oldest request first.",
    )
    credential_audit: Connection[cs.CredentialEvent] = strawberry.field(
        resolver=crd.credential_audit,
        description="Service staff: who recorded, changed, deleted and read (revealed) a credential, requests and decisions, newest first.",
    )
    invoice: it.Invoice | None = strawberry.field(resolver=inv.invoice, description="Only for the paying organisation and the distributor.")
    invoices: Connection[it.Invoice] = strawberry.field(
        resolver=inv.invoices, description="Invoices an organisation pays (default: yours), newest first; filter by status and issue date."
    )
    overdue_invoices: Connection[it.Invoice] = strawberry.field(resolver=inv.overdue_invoices, description="Distributor: the dunning list.")
    direct_debit_runs: Connection[it.DirectDebitRun] = strawberry.field(
        resolver=inv.direct_debit_runs, description="Distributor only: SEPA direct-debit files, newest first."
    )


@strawberry.type
class Mutation:
    partner_create: t.PartnerPayload = strawberry.mutation(resolver=org.partner_create)
    partner_microsoft_ids_set: t.PartnerPayload = strawberry.mutation(
        resolver=org.partner_microsoft_ids_set,
        description="Partners enter their Microsoft IDs once; later changes go through the distributor.",
    )
    customer_create: t.CustomerPayload = strawberry.mutation(resolver=org.customer_create)
    customer_update: t.CustomerPayload = strawberry.mutation(resolver=org.customer_update)
    customer_billing_mode_switch: t.BillingModeSwitchPayload = strawberry.mutation(
        resolver=org.customer_billing_mode_switch,
        description="The customer chooses who pays from now on; the partner is e-mailed. Issued invoices never move.",
    )
    customer_billing_mode_notice_resend: t.BillingModeSwitchPayload = strawberry.mutation(
        resolver=org.customer_billing_mode_notice_resend,
        description="E-mail the partner's notice of the link's latest billing-mode switch again, when the mail service refused "
                    "it (partnerNoticeFailed); partnerNotified true once sent, the mark cleared. PRECONDITION_FAILED when there is "
                    "nothing to re-send; DELIVERY_FAILED if the mail service refuses it again (still marked). The customer's "
                    "users who may switch, the distributor and that partner may ask.",
    )
    customer_sepa_mandate_set: t.CustomerPayload = strawberry.mutation(
        resolver=org.customer_sepa_mandate_set,
        description=(
            "Distributor: put the customer's signed SEPA direct-debit mandate on file (replacing one there); its rental and "
            "data-centre hosting invoices are then collected by direct debit. The same reference again amends the mandate."
        ),
    )
    customer_sepa_mandate_revoke: t.CustomerPayload = strawberry.mutation(
        resolver=org.customer_sepa_mandate_revoke,
        description="Distributor: take the mandate off file (revoked); the next invoices are paid by transfer. Issued ones stay.",
    )
    partnership_create: t.CustomerPayload = strawberry.mutation(resolver=org.partnership_create)
    partnership_access_level_set: t.CustomerPayload = strawberry.mutation(resolver=org.partnership_access_level_set)
    user_create: t.UserPayload = strawberry.mutation(
        resolver=org.user_create,
        description="Partner admins in their partner; a customer's EXTENDED users in their customer; a partner with customer "
                    "management and full access REPORT_ONLY users of its customer (EXTENDED: FORBIDDEN); the distributor anywhere.",
    )
    user_permission_level_set: t.UserPayload = strawberry.mutation(
        resolver=org.user_permission_level_set,
        description="Make a customer user REPORT_ONLY or EXTENDED (from its next request on): the customer's EXTENDED users or the "
                    "distributor; never your own login, never the customer's last active EXTENDED user (PRECONDITION_FAILED).",
    )
    user_deactivate: t.UserPayload = strawberry.mutation(
        resolver=org.user_deactivate,
        description="Someone who left: every request of the login is refused from now on; tickets and e-mail address stay with it. "
                    "Who may create the user may deactivate it (a partner: REPORT_ONLY users of its customer only); never your "
                    "own login, never the organisation's last active administrator (PRECONDITION_FAILED).",
    )
    user_reactivate: t.UserPayload = strawberry.mutation(
        resolver=org.user_reactivate, description="Give a deactivated login back, with its role, permissions and level.",
    )
    customer_tenant_create: st.TenantCreatePayload = strawberry.mutation(resolver=sub.customer_tenant_create)
    customer_tenant_link: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_tenant_link)
    customer_tenant_link_confirm: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_tenant_link_confirm)
    customer_agreement_accept: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_agreement_accept)
    customer_eligibility_grant: t.CustomerPayload = strawberry.mutation(resolver=sub.customer_eligibility_grant)
    price_change_schedule: st.CataloguePayload = strawberry.mutation(
        resolver=sub.price_change_schedule, description="Announce a price change from a future date; running terms keep their price."
    )
    subscription_order: st.SubscriptionPayload = strawberry.mutation(resolver=sub.subscription_order)
    legacy_subscription_import: st.SubscriptionPayload = strawberry.mutation(
        resolver=sub.legacy_subscription_import,
        description="Distributor staff: bring in a legacy (pre-New-Commerce) subscription the distributor holds at Microsoft "
                    "when it takes over the customer's licences from the provider that billed them so far. It keeps its own "
                    "renewal date and renews at the price list's price of that day; nothing is charged for the cycle the "
                    "previous provider billed, and never credited here. Billed monthly, its seats can be reduced or it can "
                    "be cancelled at any time (the month started stays billed); billed annually, at the renewal, or the "
                    "distributor cancels it with a credit note for what was charged here (subscriptionCancel). Checked as "
                    "an order (tenant, customer agreement, the partner's Microsoft IDs). Licences held through another "
                    "distributor are never transferred: re-book them as New Commerce (subscriptionOrder).",
    )
    subscription_seats_increase: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_seats_increase)
    subscription_seats_reduce: st.SubscriptionChangePayload = strawberry.mutation(
        resolver=sub.subscription_seats_reduce,
        description="Only seats still inside their 168-hour window can be removed. Legacy subscriptions billed monthly: any "
                    "seat, at any time, without credit (the month started is billed at its highest volume).",
    )
    subscription_cancel: st.SubscriptionChangePayload = strawberry.mutation(
        resolver=sub.subscription_cancel,
        description="Ends use at once and cannot be undone; only inside the 168-hour window. Legacy subscriptions billed "
                    "monthly: at any time, without credit for the month started. Legacy subscriptions billed annually: "
                    "distributor staff also cancel at any time, with a credit note for the rest of the term (not for what "
                    "the previous provider billed).",
    )
    subscription_auto_renew_set: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_auto_renew_set)
    subscription_hosted_desktop_set: st.SubscriptionChangePayload = strawberry.mutation(
        resolver=sub.subscription_hosted_desktop_set,
        description="Assign the licences to a hosted desktop (terminal server), or take them off: only plans with that right.",
    )
    subscription_renewal_change_schedule: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_renewal_change_schedule)
    subscription_renewal_change_remove: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_renewal_change_remove)
    subscription_upgrade: st.SubscriptionChangePayload = strawberry.mutation(resolver=sub.subscription_upgrade)
    saas_subscription_create: st.SaasSubscriptionPayload = strawberry.mutation(
        resolver=sub.saas_subscription_create,
        description="The invitation e-mail is sent after the subscription is stored; if it fails, the subscription stays "
                    "(invitationStatus FAILED) and saasSubscriptionInvitationResend sends it again.",
    )
    saas_subscription_users_change: st.SaasSubscriptionPayload = strawberry.mutation(resolver=sub.saas_subscription_users_change)
    saas_subscription_deactivate: st.SaasSubscriptionPayload = strawberry.mutation(resolver=sub.saas_subscription_deactivate)
    saas_subscription_activate: st.SaasSubscriptionPayload = strawberry.mutation(
        resolver=sub.saas_subscription_activate,
        description="The next payment date stays while it is ahead (the month paid is not over); once passed, the next "
                    "monthly date from the creation day on or after today.",
    )
    saas_subscription_invitation_resend: st.SaasSubscriptionPayload = strawberry.mutation(
        resolver=sub.saas_subscription_invitation_resend,
        description="Send the customer's invitation e-mail of an active subscription again; DELIVERY_FAILED if the mail "
                    "service refuses it (then recorded as FAILED).",
    )
    # Partner programme (issue 5)
    customer_sign_up: ct.CustomerSignUpPayload = strawberry.mutation(
        resolver=pp.customer_sign_up, description="customerCreate plus referral attribution (signed cookie value or partner number)."
    )
    partner_application_proof_upload: pt.PresignedUploadPayload = strawberry.mutation(resolver=pp.partner_application_proof_upload)
    partner_application_submit: pt.PartnerApplicationPayload = strawberry.mutation(resolver=pp.partner_application_submit)
    partner_application_approve: pt.PartnerApplicationPayload = strawberry.mutation(
        resolver=pp.partner_application_approve, description="Creates the partner as Registered with the next partner number."
    )
    partner_application_reject: pt.PartnerApplicationPayload = strawberry.mutation(resolver=pp.partner_application_reject)
    partner_programme_enrol: pt.ProgrammePartnerPayload = strawberry.mutation(
        resolver=pp.partner_programme_enrol,
        description="An existing partner registers (contact person with phone and e-mail, uploaded proof of trade; its company "
                    "address is on record) and joins the programme as Registered with the next partner number.",
    )
    partner_tier_change: pt.ProgrammePartnerPayload = strawberry.mutation(resolver=pp.partner_tier_change)
    partner_programme_active_set: pt.ProgrammePartnerPayload = strawberry.mutation(
        resolver=pp.partner_programme_active_set, description="Distributor: suspend (links ignored, no new commissions) or reinstate."
    )
    partner_bank_details_set: pt.ProgrammePartnerPayload = strawberry.mutation(resolver=pp.partner_bank_details_set)
    payout_request: ct.PayoutPayload = strawberry.mutation(
        resolver=pp.payout_request, description="Partner admins: pay out all approved, unpaid commissions once their sum exceeds the threshold."
    )
    payout_run_create: ct.PayoutRunPayload = strawberry.mutation(
        resolver=pp.payout_run_create, description="Distributor: every requested payout into one SEPA pain.001 file."
    )
    ticket_create: tt.TicketPayload = strawberry.mutation(resolver=tkt.ticket_create, description="A customer user reports a problem in the portal.")
    ticket_hotline_create: tt.TicketPayload = strawberry.mutation(
        resolver=tkt.ticket_hotline_create, description="Service staff record a call on the customer's behalf."
    )
    monitoring_alert_qualify: tt.MonitoringAlertQualifyPayload = strawberry.mutation(
        resolver=tkt.monitoring_alert_qualify,
        description="Service staff: the monitoring team makes a ticket of a sensor's alert (channel MONITORING).",
    )
    inbound_email_ticket_create: tt.InboundEmailTicketCreatePayload = strawberry.mutation(
        resolver=tkt.inbound_email_ticket_create,
        description="Service staff: make a ticket of an e-mail awaiting triage for a customer; the sender gets the receipt. "
                    "Again for the same e-mail: its ticket, nothing sent.",
    )
    inbound_email_dismiss: tt.InboundEmailPayload = strawberry.mutation(
        resolver=tkt.inbound_email_dismiss, description="Service staff: an e-mail awaiting triage needs no ticket (spam, not for us); the raw message stays."
    )
    ticket_comment_add: tt.TicketPayload = strawberry.mutation(
        resolver=tkt.ticket_comment_add, description="`internal: true` writes a technician's note customers never see."
    )
    ticket_status_change: tt.TicketPayload = strawberry.mutation(resolver=tkt.ticket_status_change)
    ticket_assign: tt.TicketPayload = strawberry.mutation(resolver=tkt.ticket_assign)
    ticket_branch_set: tt.TicketPayload = strawberry.mutation(
        resolver=tkt.ticket_branch_set,
        description="Service staff: the customer's branch (a key of onboarding.branches receiving services; null: the head "
                    "office) the ticket's work is delivered at. Time not reported yet is billed to it.",
    )
    ticket_time_entry_add: tt.TimeEntryPayload = strawberry.mutation(resolver=tkt.ticket_time_entry_add)
    ticket_time_entry_update: tt.TimeEntryPayload = strawberry.mutation(
        resolver=tkt.ticket_time_entry_update,
        description="Service staff: correct a time entry no service report lists yet; the input replaces the entry, checked "
                    "as in ticketTimeEntryAdd (technicianId left out keeps the entry's technician). A reported entry is "
                    "final: CONFLICT.",
    )
    ticket_time_entry_delete: tt.TimeEntryPayload = strawberry.mutation(
        resolver=tkt.ticket_time_entry_delete,
        description="Service staff: delete a time entry no service report lists yet (timeEntry: the entry as it was). A "
                    "reported entry is final: CONFLICT.",
    )
    ticket_attachment_upload_start: tt.AttachmentUploadPayload = strawberry.mutation(
        resolver=tkt.ticket_attachment_upload_start,
        description="A presigned form to upload one screenshot or file (type and size checked; no Word documents).",
    )
    ticket_attachment_add: tt.TicketPayload = strawberry.mutation(
        resolver=tkt.ticket_attachment_add, description="Register a file uploaded with ticketAttachmentUploadStart."
    )
    service_report_create: tt.ServiceReportPayload = strawberry.mutation(
        resolver=tkt.service_report_create, description="A ticket's or a period's unreported time as a PDF, e-mailed to the customer."
    )
    contract_create: tt.ContractPayload = strawberry.mutation(resolver=tkt.contract_create)
    contract_quota_month_book: tt.QuotaMonthPayload = strawberry.mutation(resolver=tkt.contract_quota_month_book)
    contract_quota_overdraft_set: tt.ContractPayload = strawberry.mutation(
        resolver=tkt.contract_quota_overdraft_set,
        description="Distributor: grant or withdraw a prepaid quota's overdraft from now on. Minutes debited before keep the "
                    "setting they were debited under; overdraft used is corrected at the month's end at the rate in force "
                    "when it was used.",
    )
    contract_branch_set: tt.ContractPayload = strawberry.mutation(
        resolver=tkt.contract_branch_set,
        description="Distributor: the customer's branch (receiving services; null: the head office) the contract is delivered "
                    "at from now on; its items made from now on are billed to it (per-branch billing). An ended contract: CONFLICT.",
    )
    contract_end: tt.ContractPayload = strawberry.mutation(
        resolver=tkt.contract_end,
        description="Distributor: set or move a contract's last day. Its maintenance schedules stop after it; a quota's "
                    "last month is closed on the 1st after it; a rental or hosting month cut by it is billed pro rata.",
    )
    managed_service_usage_record: tt.ManagedServiceUsagePayload = strawberry.mutation(
        resolver=tkt.managed_service_usage_record,
        description="Distributor: a managed services contract's use in a month that has ended, billed by the next billing run. "
                    "Recorded again before it is billed, it replaces the month's use; a billed month is refused (CONFLICT).",
    )
    maintenance_schedule_add: tt.MaintenanceSchedulePayload = strawberry.mutation(
        resolver=tkt.maintenance_schedule_add,
        description="Distributor: recurring maintenance tickets of a contract, leadDays before each due date. firstDue sets "
                    "the rhythm (anchored: a 31st stays the month's last day); a firstDue in the past raises no ticket for "
                    "the past: the first is for the first due date on or after today (nextDue).",
    )
    maintenance_schedule_update: tt.MaintenanceSchedulePayload = strawberry.mutation(
        resolver=tkt.maintenance_schedule_update,
        description="Distributor: change a schedule's subject, interval, lead days or description for the tickets still to "
                    "come. A new interval continues after the last due date handled, so no due date gets a second ticket.",
    )
    maintenance_schedule_end: tt.MaintenanceSchedulePayload = strawberry.mutation(
        resolver=tkt.maintenance_schedule_end,
        description="Distributor: no maintenance ticket for a due date after lastDay (today or later); tickets created "
                    "already stay. A later lastDay again moves the end.",
    )
    asset_create: tt.AssetPayload = strawberry.mutation(resolver=tkt.asset_create)
    asset_update: tt.AssetPayload = strawberry.mutation(
        resolver=tkt.asset_update,
        description="Distributor: correct an asset or bring it up to date (a renewed warranty or licence, new technical data), "
                    "checked as in assetCreate; assetsExpiring follows the new dates. While an update of it is requested, it "
                    "stays software that interrupts users (un-marking it or making it HARDWARE: CONFLICT naming the ticket).",
    )
    software_update_request: tt.TicketPayload = strawberry.mutation(
        resolver=swu.software_update_request,
        description="A user who sees the asset (an EXTENDED user of its customer), or service staff on the customer's behalf "
                    "naming the caller (and optionally the calling user and the receipt's address), requests the update of "
                    "software that interrupts users: a ticket linked to the asset. Such software is never updated "
                    "automatically; one open request per asset (CONFLICT naming it).",
    )
    software_update_schedule: tt.TicketPayload = strawberry.mutation(
        resolver=swu.software_update_schedule,
        description="Service staff propose a date and time for a requested update; the ticket waits for the customer, who is "
                    "e-mailed the time (Berlin time).",
    )
    software_update_confirm: tt.TicketPayload = strawberry.mutation(
        resolver=swu.software_update_confirm,
        description="The customer confirms the proposed time (a customer user who sees the ticket, or staff naming the caller).",
    )
    software_update_decline: tt.TicketPayload = strawberry.mutation(
        resolver=swu.software_update_decline,
        description="The customer asks for another date than the one proposed or agreed (not from the agreed time to the end "
                    "of that day); the service desk proposes again.",
    )
    software_update_record_installed: tt.TicketPayload = strawberry.mutation(
        resolver=swu.software_update_record_installed,
        description="Service staff: the update was installed; only once the customer confirmed, from the agreed time to the "
                    "end of that day in Berlin (later: propose a new time). Resolves the ticket.",
    )
    credential_create: cs.CredentialPayload = strawberry.mutation(
        resolver=crd.credential_create,
        description="Service staff: record access data of a customer's system that became known to the technicians; password, "
                    "user name and note are stored encrypted together (KMS) and returned by credentialReveal only.",
    )
    credential_update: cs.CredentialPayload = strawberry.mutation(resolver=crd.credential_update, description="Service staff.")
    credential_delete: cs.CredentialDeletePayload = strawberry.mutation(
        resolver=crd.credential_delete,
        description="Service staff: the password, user name and note are erased; the audit trail stays.",
    )
    credential_reveal: cs.CredentialRevealPayload = strawberry.mutation(
        resolver=crd.credential_reveal,
        description="Read a credential's password, user name and note: service staff, and a customer user whose grant is in force. Recorded (who, "
                    "when) in its audit trail before it is returned.",
    )
    credential_access_request: cs.CredentialPayload = strawberry.mutation(
        resolver=crd.credential_access_request,
        description="An EXTENDED user of the credential's customer asks for access; the service desk grants or refuses. CONFLICT while "
                    "a request waits or access is granted.",
    )
    credential_access_grant: cs.CredentialPayload = strawberry.mutation(
        resolver=crd.credential_access_grant, description="Service staff: grant a pending request (else CONFLICT).",
    )
    credential_access_refuse: cs.CredentialPayload = strawberry.mutation(
        resolver=crd.credential_access_refuse, description="Service staff: refuse a pending request (else CONFLICT); the user may ask again.",
    )
    credential_access_revoke: cs.CredentialPayload = strawberry.mutation(
        resolver=crd.credential_access_revoke, description="Service staff: take a granted access back (else CONFLICT).",
    )
    payment_record: it.PaymentRecordPayload = strawberry.mutation(
        resolver=inv.payment_record,
        description="Distributor: money received for an invoice; more than is outstanding is refused, except the bank's "
                    "collection of a direct-debit file (directDebitCollection): what it brings beyond what a later credit note "
                    "left owed, that credit note refunds.",
    )
    credit_note_create: it.CreditNotePayload = strawberry.mutation(
        resolver=inv.credit_note_create, description="Distributor: correct an issued invoice in full or in part."
    )
    invoice_copy_request: it.InvoiceCopyPayload = strawberry.mutation(resolver=inv.invoice_copy_request)
    direct_debit_run_create: it.DirectDebitRunPayload = strawberry.mutation(
        resolver=inv.direct_debit_run_create,
        description=(
            "Distributor: the direct-debit invoices due by collectionDate (tomorrow or later) into one SEPA pain.008 file, each "
            "for what is outstanding, under the mandate on file; an invoice paid meanwhile or whose mandate was revoked or "
            "replaced is taken out (notCollected) and paid by transfer."
        ),
    )
    invoice_delete: it.InvoiceDeletePayload = strawberry.mutation(
        resolver=inv.invoice_delete, description="Refused during the 10-year retention (§14b UStG)."
    )


class DomainErrorExtensions(SchemaExtension):
    """Queries report expected failures (a bad cursor, a page too large) with code, field and hint."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, DomainError):
                error.extensions = {"code": original.code.value, "field": original.field, "hint": original.hint}


def should_mask(error: GraphQLError) -> bool:
    """Hide unexpected exceptions; keep GraphQL's own validation messages and domain errors."""
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError)):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[t.Distributor, t.Partner, t.Customer, t.User, st.Subscription, st.SaasSubscription, st.Product, tt.Ticket, it.Invoice],
    extensions=[
        # Factories: a fresh extension per request; the parser and validation caches are module-wide.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(VALIDATION_RULES),
        ExecuteWhenSignedIn,
        DomainErrorExtensions,
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error. It has been logged."),
    ],
)
