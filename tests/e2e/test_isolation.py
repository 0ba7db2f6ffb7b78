"""Tenant isolation: every query and mutation, as every demo role, against another organisation's objects, finds nothing.

PROBES holds one operation per field of Query and Mutation, aimed at the objects of an organisation
the actor has nothing to do with (FOREIGN). The first test compares PROBES with the schema, so a new
field fails it until it gets a probe. The second runs every probe as every actor and checks that
  - no foreign id appears in the answer's data (queries find null, empty lists or an error),
  - every mutation is refused with NOT_FOUND or FORBIDDEN (existence is not revealed),
  - the foreign objects are unchanged afterwards.
The distributor operates the platform and sees every organisation by design (see test_access_control.py).

Besides the demo data, the `world` fixture links one customer to both partners (neither may see the other's
link) and gives every foreign side the objects of the service desk (a ticket with reported and unreported
time, a service report, a prepaid-quota contract with a maintenance schedule, an asset, a credential its user asked access to), an open, overdue invoice paid by each customer and one paid by each partner, and the partner
programme (both partners enrolled with bank details, a referred customer, an approved commission, a payout).
A payout run, a submitted partner application and an e-mail awaiting triage belong to the distributor: every actor here
is foreign to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import pytest

from tests.conftest import NOW

REFUSALS = {"NOT_FOUND", "FORBIDDEN"}

# Mutations that may succeed for some actors because they create the actor's own object, never a foreign one.
OWN_OBJECT_ONLY = {
    "customerCreate": "a partner creates its own customer; partnerId is the distributor's choice and ignored for partners",
    "customerSignUp": "as customerCreate: a partner signs up its own customer; the foreign partner's referral cookie must not "
                      "attribute it to the foreign partner (state_of compares the foreign partner's referrals)",
}


@dataclass(frozen=True)
class Foreign:
    """Keys (infra/demo.py, plus the `world` fixture) of the objects an actor must not reach."""

    customer: str
    partner: str
    subscription: str
    user: str
    saas: str


NORDIT_SIDE = Foreign("hanse", "nordit", "hanse_standard", "hanse_it", "nordit_saas")
SUEDCLOUD_SIDE = Foreign("alpen", "suedcloud", "alpen_standard", "alpen_owner", "suedcloud_saas")

FOREIGN: dict[str, Foreign] = {
    "nordit_admin": SUEDCLOUD_SIDE,
    "nordit_sales": SUEDCLOUD_SIDE,
    "suedcloud_admin": NORDIT_SIDE,
    # Customers of one partner are strangers to each other (a customer's own partner: test_access_control.py).
    "hanse_it": Foreign("kanzlei", "suedcloud", "alpen_standard", "kanzlei_office", "suedcloud_saas"),
    "hanse_staff": Foreign("kanzlei", "suedcloud", "alpen_standard", "kanzlei_office", "suedcloud_saas"),
    "kanzlei_office": Foreign("hanse", "suedcloud", "hanse_standard", "hanse_it", "suedcloud_saas"),
    "alpen_owner": NORDIT_SIDE,
}


@dataclass
class Target:
    customer: str
    partner: str
    subscription: str
    user: str
    saas: str
    # the foreign customer's service desk
    ticket: str
    time_entry: str  # the ticket's entry no report lists yet
    service_report: str
    contract: str
    schedule: str
    asset: str
    credential: str  # its user (``user``) asked for access; the request waits
    credential_password: str  # never in an answer either
    # invoices paid by the foreign customer and by the foreign partner
    invoice: str
    partner_invoice: str
    # the foreign partner's programme data
    commission: str
    payout: str
    referred_customer: str
    referral_cookie: str  # a signed click on the foreign partner's link (never in an answer either)
    # the distributor's
    payout_run: str
    application: str
    triage_email: str  # the key of an unknown sender's e-mail awaiting triage


ADDRESS = '{street: "Weg 1", postalCode: "10115", city: "Berlin"}'
SUB = "subscription { id } errors { code }"
CUS = "customer { id } errors { code }"
TIC = "ticket { id customerId } errors { code }"
PRG = "programmePartner { partnerId } errors { code }"
SAAS = "saasSubscription { id users status invitedEmail } errors { code }"
APP = "{ application { id partnerId } programmePartner { partnerId } errors { code } }"
PROOF_KEY = "partner-applications/doc_isolation"  # the proof of trade of the world's application

# field -> (operation, variables from the foreign target)
PROBES: dict[str, tuple[str, Callable[[Target], dict]]] = {
    # --- queries
    "me": ("{ me { user { id } organisation { ... on Customer { id } ... on Partner { id } } } }", lambda t: {}),
    "node": ("query($c: ID!, $p: ID!, $u: ID!, $t: ID!, $r: ID!, $k: ID!, $a: ID!, $i: ID!, $j: ID!) { c: node(id: $c) { id } p: node(id: $p) { id } "
             "u: node(id: $u) { id } t: node(id: $t) { id } r: node(id: $r) { id } k: node(id: $k) { id } a: node(id: $a) { id } "
             "i: node(id: $i) { id } j: node(id: $j) { id } }",
             lambda t: {"c": t.customer, "p": t.partner, "u": t.user, "t": t.ticket, "r": t.service_report, "k": t.contract, "a": t.asset,
                        "i": t.invoice, "j": t.partner_invoice}),
    "customer": ("query($id: ID!) { customer(id: $id) { id } }", lambda t: {"id": t.customer}),
    "partner": ("query($id: ID!) { partner(id: $id) { id } }", lambda t: {"id": t.partner}),
    "customers": ("{ customers(first: 100) { nodes { id partnerLinks { partnerId } } } }", lambda t: {}),
    "partners": ("{ partners(first: 100) { nodes { id } } }", lambda t: {}),
    "users": ("query($o: ID!) { users(organisationId: $o, first: 100) { nodes { id } } }", lambda t: {"o": t.customer}),
    "products": ("{ products { id } }", lambda t: {}),  # the catalogue is public to every signed-in user
    "subscription": ("query($id: ID!) { subscription(id: $id) { id } }", lambda t: {"id": t.subscription}),
    "subscriptions": ("query($c: ID!, $p: ID!) { c: subscriptions(customerId: $c, first: 100) { nodes { id } } "
                      "p: subscriptions(partnerId: $p, first: 100) { nodes { id } } }", lambda t: {"c": t.customer, "p": t.partner}),
    "renewalPlanner": ("query($p: ID!) { renewalPlanner(partnerId: $p, days: 92, first: 100) { nodes { id } } }", lambda t: {"p": t.partner}),
    "subscriptionPreview": ("query($id: ID!) { subscriptionPreview(subscriptionId: $id, change: {kind: INCREASE_SEATS, seats: 1}) { allowed quantityAfter } }",
                            lambda t: {"id": t.subscription}),
    "saasSubscriptions": ("{ saasSubscriptions(first: 100) { nodes { id customerId } } }", lambda t: {}),
    # service desk
    "ticket": ("query($id: ID!) { ticket(id: $id) { id } }", lambda t: {"id": t.ticket}),
    "tickets": ("query($c: ID!) { c: tickets(customerId: $c, first: 100) { nodes { id customerId } } "
                "q: tickets(status: NEW, first: 100) { nodes { id customerId } } own: tickets(first: 100) { nodes { id customerId } } }",
                lambda t: {"c": t.customer}),
    "serviceReport": ("query($id: ID!) { serviceReport(id: $id) { id lines { ticketId timeEntryId } } }", lambda t: {"id": t.service_report}),
    "serviceReports": ("query($c: ID!) { serviceReports(customerId: $c, first: 100) { nodes { id } } }", lambda t: {"c": t.customer}),
    "contracts": ("query($c: ID!) { contracts(customerId: $c) { id customerId } }", lambda t: {"c": t.customer}),
    "assets": ("query($c: ID!) { assets(customerId: $c, first: 100) { nodes { id customerId } } }", lambda t: {"c": t.customer}),
    "assetsExpiring": ("query($c: ID!) { assetsExpiring(customerId: $c, days: 365) { asset { id customerId } } }", lambda t: {"c": t.customer}),
    "serviceStatistics": ('query($c: ID!) { serviceStatistics(customerId: $c, fromMonth: "2026-01", toMonth: "2026-12") '
                          "{ billableMinutes quota { contractId } } }", lambda t: {"c": t.customer}),
    "inboundEmailsAwaitingTriage": ("{ inboundEmailsAwaitingTriage(first: 100) { nodes { key sender preview } } }", lambda t: {}),  # staff only
    # credentials
    "credentials": ("query($c: ID!) { credentials(customerId: $c, first: 100) { nodes { id customerId label system accessRequests { userId } } } }",
                    lambda t: {"c": t.customer}),
    "credential": ("query($id: ID!) { credential(id: $id) { id customerId label myAccess { userId } } }", lambda t: {"id": t.credential}),
    "credentialsAwaitingAccessDecision": ("{ credentialsAwaitingAccessDecision(first: 100) { nodes { id customerId accessRequests { userId } } } }",
                                          lambda t: {}),  # staff only
    "credentialAudit": ("query($id: ID!) { credentialAudit(credentialId: $id, first: 100) { nodes { id credentialId byUserId subjectUserId } } }",
                        lambda t: {"id": t.credential}),  # staff only
    # invoices
    "invoice": ("query($i: ID!, $j: ID!) { i: invoice(id: $i) { id } j: invoice(id: $j) { id } }",
                lambda t: {"i": t.invoice, "j": t.partner_invoice}),
    "invoices": ("query($c: ID!, $p: ID!) { c: invoices(organisationId: $c, first: 100) { nodes { id } } "
                 "p: invoices(organisationId: $p, first: 100) { nodes { id } } own: invoices(first: 100) { nodes { id customerId } } }",
                 lambda t: {"c": t.customer, "p": t.partner}),
    "overdueInvoices": ("{ overdueInvoices(first: 100) { nodes { id payerId customerId } } }", lambda t: {}),  # the distributor's dunning list
    "directDebitRuns": ("{ directDebitRuns(first: 100) { nodes { id invoiceIds } } }", lambda t: {}),  # distributor only
    # partner programme
    "partnerApplications": ("{ s: partnerApplications(status: SUBMITTED, first: 100) { nodes { id partnerId } } "
                            "a: partnerApplications(status: APPROVED, first: 100) { nodes { id partnerId } } }", lambda t: {}),  # distributor only
    "programmePartner": ("query($p: ID!) { programmePartner(partnerId: $p) { partnerId bankDetails { ibanMasked } } }", lambda t: {"p": t.partner}),
    "referrals": ("query($p: ID!) { referrals(partnerId: $p) { partnerId customers { customerId } } }", lambda t: {"p": t.partner}),
    "commissions": ("query($p: ID!) { commissions(partnerId: $p, first: 100) { nodes { id customerId invoiceId payoutId } } }", lambda t: {"p": t.partner}),
    "payouts": ("query($p: ID!) { payouts(partnerId: $p, first: 100) { nodes { id partnerId commissionIds runId } } }", lambda t: {"p": t.partner}),
    "payoutRuns": ("{ payoutRuns(first: 100) { nodes { id payoutIds } } }", lambda t: {}),  # distributor only
    # --- mutations
    "partnerCreate": (f'mutation {{ partnerCreate(input: {{name: "Neu GmbH", billingEmail: "a@neu.example", address: {ADDRESS}}}) {{ partner {{ id }} errors {{ code }} }} }}',
                      lambda t: {}),
    "partnerMicrosoftIdsSet": ('mutation($p: ID!) { partnerMicrosoftIdsSet(input: {partnerId: $p, microsoftPartnerNetworkId: "1111111", microsoftId: "x-1"}) { partner { id } errors { code } } }',
                               lambda t: {"p": t.partner}),
    "customerCreate": (f'mutation($p: ID!) {{ customerCreate(input: {{name: "Fremd GmbH", billingEmail: "a@fremd.example", address: {ADDRESS}, partnerId: $p}}) '
                       "{ customer { id partnerLinks { partnerId } } errors { code } } }",
                       lambda t: {"p": t.partner}),
    "customerUpdate": (f'mutation($id: ID!) {{ customerUpdate(id: $id, input: {{name: "Gekapert GmbH"}}) {{ {CUS} }} }}', lambda t: {"id": t.customer}),
    "customerSepaMandateSet": (f'mutation($c: ID!) {{ customerSepaMandateSet(input: {{customerId: $c, reference: "SPY-1", '
                               f'iban: "DE89370400440532013000", accountHolder: "Spy", signedOn: "2026-01-01"}}) {{ {CUS} }} }}',
                               lambda t: {"c": t.customer}),
    "customerSepaMandateRevoke": (f'mutation($c: ID!) {{ customerSepaMandateRevoke(customerId: $c) {{ {CUS} }} }}',
                                  lambda t: {"c": t.customer}),
    "customerBillingModeSwitch": ("mutation($c: ID!, $p: ID!) { customerBillingModeSwitch(input: {customerId: $c, partnerId: $p, billingMode: CUSTOMER_PAYS}) "
                                  "{ customer { id } errors { code } } }", lambda t: {"c": t.customer, "p": t.partner}),
    "customerBillingModeNoticeResend": ("mutation($c: ID!, $p: ID!) { customerBillingModeNoticeResend(input: {customerId: $c, partnerId: $p}) "
                                        "{ customer { id } partnerNotified errors { code } } }", lambda t: {"c": t.customer, "p": t.partner}),
    "partnershipCreate": (f"mutation($c: ID!, $p: ID!) {{ partnershipCreate(input: {{customerId: $c, partnerId: $p}}) {{ {CUS} }} }}",
                          lambda t: {"c": t.customer, "p": t.partner}),
    "partnershipAccessLevelSet": (f"mutation($c: ID!, $p: ID!) {{ partnershipAccessLevelSet(input: {{customerId: $c, partnerId: $p, accessLevel: LIMITED}}) {{ {CUS} }} }}",
                                  lambda t: {"c": t.customer, "p": t.partner}),
    "userCreate": ('mutation($o: ID!) { userCreate(input: {organisationId: $o, email: "spy@fremd.example", name: "Spy", role: CUSTOMER_USER, '
                   "permissionLevel: EXTENDED}) { user { id } errors { code } } }", lambda t: {"o": t.customer}),
    "userPermissionLevelSet": ("mutation($u: ID!) { userPermissionLevelSet(input: {userId: $u, permissionLevel: REPORT_ONLY}) { user { id } errors { code } } }",
                               lambda t: {"u": t.user}),  # the foreign customer's EXTENDED user
    "userDeactivate": ("mutation($u: ID!) { userDeactivate(input: {userId: $u}) { user { id } errors { code } } }", lambda t: {"u": t.user}),
    "userReactivate": ("mutation($u: ID!) { userReactivate(input: {userId: $u}) { user { id } errors { code } } }",
                       lambda t: {"u": t.user}),  # active already: refused for a foreign actor before that
    "customerTenantCreate": (f'mutation($c: ID!) {{ customerTenantCreate(input: {{customerId: $c, prefix: "fremdtenant"}}) {{ {CUS} }} }}', lambda t: {"c": t.customer}),
    "customerTenantLink": (f'mutation($c: ID!) {{ customerTenantLink(input: {{customerId: $c, defaultDomain: "fremd.example", contactEmail: "it@fremd.example"}}) {{ {CUS} }} }}',
                           lambda t: {"c": t.customer}),
    "customerTenantLinkConfirm": (f'mutation($c: ID!) {{ customerTenantLinkConfirm(input: {{customerId: $c, code: "guess"}}) {{ {CUS} }} }}', lambda t: {"c": t.customer}),
    "customerAgreementAccept": (f'mutation($c: ID!) {{ customerAgreementAccept(input: {{customerId: $c, acceptedByName: "X", acceptedByEmail: "x@fremd.example"}}) {{ {CUS} }} }}',
                                lambda t: {"c": t.customer}),
    "customerEligibilityGrant": (f"mutation($c: ID!) {{ customerEligibilityGrant(input: {{customerId: $c, program: EDUCATION, institutionType: SCHOOL}}) {{ {CUS} }} }}",
                                 lambda t: {"c": t.customer}),
    "priceChangeSchedule": ('mutation { priceChangeSchedule(input: {currency: "EUR", percent: "50", effectiveFrom: "2027-04-01"}) { products { id } errors { code } } }',
                            lambda t: {}),  # the distributor's catalogue
    "subscriptionOrder": ("mutation($c: ID!, $p: ID!) { subscriptionOrder(input: {customerId: $c, partnerId: $p, productId: \"prd_m365_business_basic\", "
                          f"term: P1Y, billing: MONTHLY, quantity: 1}}) {{ {SUB} }} }}", lambda t: {"c": t.customer, "p": t.partner}),
    "legacySubscriptionImport": ('mutation($c: ID!, $p: ID!) { legacySubscriptionImport(input: {customerId: $c, partnerId: $p, '
                                 'productId: "prd_o365_e3_legacy", term: P1Y, billing: ANNUAL, quantity: 1, startedAt: "2021-11-21T10:00:00Z", '
                                 'renewsOn: "2027-11-21", chargedThrough: "2027-11-21", previousSubscriptionId: "LEG-SPY"}) '
                                 f"{{ {SUB} }} }}", lambda t: {"c": t.customer, "p": t.partner}),  # distributor staff only
    "subscriptionSeatsIncrease": (f"mutation($id: ID!) {{ subscriptionSeatsIncrease(input: {{subscriptionId: $id, seats: 1}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionSeatsReduce": (f"mutation($id: ID!) {{ subscriptionSeatsReduce(input: {{subscriptionId: $id, seats: 1}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionCancel": (f"mutation($id: ID!) {{ subscriptionCancel(input: {{subscriptionId: $id}}) {{ {SUB} }} }}", lambda t: {"id": t.subscription}),
    "subscriptionAutoRenewSet": (f"mutation($id: ID!) {{ subscriptionAutoRenewSet(input: {{subscriptionId: $id, enabled: false}}) {{ {SUB} }} }}",
                                 lambda t: {"id": t.subscription}),
    "subscriptionHostedDesktopSet": (f"mutation($id: ID!) {{ subscriptionHostedDesktopSet(input: {{subscriptionId: $id, hostedDesktop: false}}) {{ {SUB} }} }}",
                                     lambda t: {"id": t.subscription}),
    "subscriptionRenewalChangeSchedule": (f"mutation($id: ID!) {{ subscriptionRenewalChangeSchedule(input: {{subscriptionId: $id, quantity: 1}}) {{ {SUB} }} }}",
                                          lambda t: {"id": t.subscription}),
    "subscriptionRenewalChangeRemove": (f"mutation($id: ID!) {{ subscriptionRenewalChangeRemove(input: {{subscriptionId: $id}}) {{ {SUB} }} }}",
                                        lambda t: {"id": t.subscription}),
    "subscriptionUpgrade": (f'mutation($id: ID!) {{ subscriptionUpgrade(input: {{subscriptionId: $id, toProductId: "prd_m365_business_premium"}}) {{ {SUB} }} }}',
                            lambda t: {"id": t.subscription}),
    "saasSubscriptionCreate": ('mutation($c: ID!) { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Fremd", users: 5, '
                               "customerId: $c}) { saasSubscription { id } errors { code } } }", lambda t: {"c": t.customer}),
    "saasSubscriptionUsersChange": ("mutation($id: ID!) { saasSubscriptionUsersChange(input: {saasSubscriptionId: $id, users: 50}) "
                                    f"{{ {SAAS} }} }}", lambda t: {"id": t.saas}),
    "saasSubscriptionDeactivate": (f"mutation($id: ID!) {{ saasSubscriptionDeactivate(input: {{saasSubscriptionId: $id}}) {{ {SAAS} }} }}",
                                   lambda t: {"id": t.saas}),
    "saasSubscriptionActivate": (f"mutation($id: ID!) {{ saasSubscriptionActivate(input: {{saasSubscriptionId: $id}}) {{ {SAAS} }} }}",
                                 lambda t: {"id": t.saas}),  # active already: refused for a foreign actor before that
    "saasSubscriptionInvitationResend": (f"mutation($id: ID!) {{ saasSubscriptionInvitationResend(input: {{saasSubscriptionId: $id}}) {{ {SAAS} }} }}",
                                         lambda t: {"id": t.saas}),  # the foreign one invited its customer: no mail may go out
    # --- service desk mutations
    "ticketCreate": ('mutation($c: ID!) { ticketCreate(input: {customerId: $c, subject: "Fremd", description: "x"}) { ticket { id customerId } errors { code } } }',
                     lambda t: {"c": t.customer}),
    "ticketHotlineCreate": ('mutation($c: ID!) { ticketHotlineCreate(input: {customerId: $c, subject: "Fremd", description: "x", callerName: "Spy"}) '
                            "{ ticket { id customerId } errors { code } } }", lambda t: {"c": t.customer}),
    "monitoringAlertQualify": ('mutation($c: ID!) { monitoringAlertQualify(input: {customerId: $c, alertId: "spy-1", kind: OTHER, host: "h", '
                               'sensor: "s", message: "m", raisedAt: "2026-11-23T00:00:00Z"}) { ticket { id customerId } errors { code } } }',
                               lambda t: {"c": t.customer}),
    "inboundEmailTicketCreate": ("mutation($k: String!, $c: ID!) { inboundEmailTicketCreate(input: {key: $k, customerId: $c}) "
                                 "{ ticket { id customerId } inboundEmail { key } errors { code } } }",
                                 lambda t: {"k": t.triage_email, "c": t.customer}),  # staff only
    "inboundEmailDismiss": ('mutation($k: String!) { inboundEmailDismiss(input: {key: $k, reason: "probe"}) { inboundEmail { key } errors { code } } }',
                            lambda t: {"k": t.triage_email}),  # staff only
    "ticketCommentAdd": (f'mutation($id: ID!) {{ ticketCommentAdd(ticketId: $id, body: "gekapert") {{ {TIC} }} }}', lambda t: {"id": t.ticket}),
    "ticketStatusChange": (f"mutation($id: ID!) {{ ticketStatusChange(ticketId: $id, status: RESOLVED) {{ {TIC} }} }}", lambda t: {"id": t.ticket}),
    "ticketAssign": (f"mutation($id: ID!) {{ ticketAssign(ticketId: $id, assigneeId: null) {{ {TIC} }} }}", lambda t: {"id": t.ticket}),
    "ticketBranchSet": (f"mutation($id: ID!) {{ ticketBranchSet(ticketId: $id, branchKey: null) {{ {TIC} }} }}", lambda t: {"id": t.ticket}),
    "ticketTimeEntryAdd": ('mutation($id: ID!) { ticketTimeEntryAdd(ticketId: $id, input: {workDate: "2026-11-23", minutes: 60, billable: true, description: "x"}) '
                           "{ ticket { id } timeEntry { id } errors { code } } }", lambda t: {"id": t.ticket}),
    "ticketTimeEntryUpdate": ('mutation($id: ID!, $e: ID!) { ticketTimeEntryUpdate(ticketId: $id, timeEntryId: $e, input: {workDate: "2026-11-23", '
                              'minutes: 600, billable: true, description: "x"}) { ticket { id } timeEntry { id } errors { code } } }',
                              lambda t: {"id": t.ticket, "e": t.time_entry}),  # the entry is not reported yet
    "ticketTimeEntryDelete": ("mutation($id: ID!, $e: ID!) { ticketTimeEntryDelete(ticketId: $id, timeEntryId: $e) { ticket { id } timeEntry { id } errors { code } } }",
                              lambda t: {"id": t.ticket, "e": t.time_entry}),
    "ticketAttachmentUploadStart": ('mutation($id: ID!) { ticketAttachmentUploadStart(ticketId: $id, filename: "a.png", contentType: "image/png", sizeBytes: 100) '
                                    "{ upload { key } errors { code } } }", lambda t: {"id": t.ticket}),
    "ticketAttachmentAdd": ('mutation($id: ID!, $key: String!) { ticketAttachmentAdd(ticketId: $id, key: $key, filename: "a.png", contentType: "image/png", '
                            f"sizeBytes: 100) {{ {TIC} }} }}", lambda t: {"id": t.ticket, "key": f"tickets/{t.ticket}/att_probe/a.png"}),
    "serviceReportCreate": ("mutation($id: ID!) { serviceReportCreate(ticketId: $id) { serviceReport { id customerId } errors { code } } }",
                            lambda t: {"id": t.ticket}),  # the ticket has unreported time
    "contractCreate": ('mutation($c: ID!) { contractCreate(input: {customerId: $c, kind: PREPAID_QUOTA, startsOn: "2026-12-01", hourlyRate: {amount: "1.00"}, '
                       'quota: {monthlyMinutes: 6000, monthlyPrice: {amount: "1.00"}}}) { contract { id customerId } errors { code } } }',
                       lambda t: {"c": t.customer}),
    "contractQuotaMonthBook": ('mutation($id: ID!) { contractQuotaMonthBook(contractId: $id, month: "2026-11") { contract { id } errors { code } } }',
                               lambda t: {"id": t.contract}),  # not booked yet
    "managedServiceUsageRecord": ('mutation($id: ID!) { managedServiceUsageRecord(input: {contractId: $id, month: "2026-10", '
                                  'usage: [{code: "monitoring", quantity: "12"}]}) { contract { id customerId } recorded { month } errors { code } } }',
                                  lambda t: {"id": t.contract}),
    "contractQuotaOverdraftSet": ('mutation($id: ID!) { contractQuotaOverdraftSet(input: {contractId: $id, allowed: true, hourlyRate: {amount: "1.00"}}) '
                                  "{ contract { id customerId } errors { code } } }", lambda t: {"id": t.contract}),  # not allowed yet
    "contractBranchSet": ('mutation($id: ID!) { contractBranchSet(input: {contractId: $id, branchKey: null}) { contract { id customerId } errors { code } } }',
                          lambda t: {"id": t.contract}),
    "contractEnd": ('mutation($id: ID!) { contractEnd(input: {contractId: $id, endsOn: "2099-12-31"}) { contract { id customerId } errors { code } } }',
                    lambda t: {"id": t.contract}),  # open-ended yet
    "maintenanceScheduleAdd": ('mutation($id: ID!) { maintenanceScheduleAdd(contractId: $id, subject: "Fremd", everyMonths: 1, firstDue: "2026-12-01") '
                               "{ schedule { id contractId } errors { code } } }", lambda t: {"id": t.contract}),
    "maintenanceScheduleUpdate": ('mutation($id: ID!) { maintenanceScheduleUpdate(input: {scheduleId: $id, subject: "Fremd", everyMonths: 2, leadDays: 9}) '
                                  "{ schedule { id contractId } errors { code } } }", lambda t: {"id": t.schedule}),
    "maintenanceScheduleEnd": ('mutation($id: ID!) { maintenanceScheduleEnd(scheduleId: $id, lastDay: "2026-11-30") '
                               "{ schedule { id contractId } errors { code } } }", lambda t: {"id": t.schedule}),
    "assetCreate": ('mutation($c: ID!) { assetCreate(input: {customerId: $c, kind: HARDWARE, name: "Wanze"}) { asset { id customerId } errors { code } } }',
                    lambda t: {"c": t.customer}),
    "assetUpdate": ('mutation($id: ID!) { assetUpdate(input: {assetId: $id, name: "Wanze", warrantyUntil: "2030-12-31"}) '
                    "{ asset { id customerId } errors { code } } }", lambda t: {"id": t.asset}),
    "softwareUpdateRequest": ('mutation($id: ID!) { softwareUpdateRequest(input: {assetId: $id, callerName: "Fremd"}) { %s } }' % TIC,
                              lambda t: {"id": t.asset}),
    "softwareUpdateSchedule": ('mutation($id: ID!) { softwareUpdateSchedule(input: {ticketId: $id, startsAt: "2030-12-04T17:00:00Z"}) { %s } }' % TIC,
                               lambda t: {"id": t.ticket}),
    "softwareUpdateConfirm": ('mutation($id: ID!) { softwareUpdateConfirm(input: {ticketId: $id, callerName: "Fremd"}) { %s } }' % TIC,
                              lambda t: {"id": t.ticket}),
    "softwareUpdateDecline": ('mutation($id: ID!) { softwareUpdateDecline(input: {ticketId: $id, callerName: "Fremd"}) { %s } }' % TIC,
                              lambda t: {"id": t.ticket}),
    "softwareUpdateRecordInstalled": ("mutation($id: ID!) { softwareUpdateRecordInstalled(ticketId: $id) { %s } }" % TIC,
                                      lambda t: {"id": t.ticket}),
    # --- credentials
    "credentialCreate": ('mutation($c: ID!) { credentialCreate(input: {customerId: $c, label: "Wanze", password: "x"}) '
                         "{ credential { id customerId } errors { code } } }", lambda t: {"c": t.customer}),  # staff only
    "credentialUpdate": ('mutation($id: ID!) { credentialUpdate(input: {credentialId: $id, password: "gekapert"}) '
                         "{ credential { id customerId } errors { code } } }", lambda t: {"id": t.credential}),
    "credentialDelete": ("mutation($id: ID!) { credentialDelete(credentialId: $id) { deletedCredentialId errors { code } } }",
                         lambda t: {"id": t.credential}),
    "credentialReveal": ("mutation($id: ID!) { credentialReveal(credentialId: $id) { secret { credentialId password username note } errors { code } } }",
                         lambda t: {"id": t.credential}),
    "credentialAccessRequest": ('mutation($id: ID!) { credentialAccessRequest(credentialId: $id, reason: "probe") '
                                "{ credential { id myAccess { userId } } errors { code } } }", lambda t: {"id": t.credential}),
    "credentialAccessGrant": ("mutation($id: ID!, $u: ID!) { credentialAccessGrant(credentialId: $id, userId: $u) { credential { id } errors { code } } }",
                              lambda t: {"id": t.credential, "u": t.user}),  # the foreign user's request is pending
    "credentialAccessRefuse": ("mutation($id: ID!, $u: ID!) { credentialAccessRefuse(credentialId: $id, userId: $u) { credential { id } errors { code } } }",
                               lambda t: {"id": t.credential, "u": t.user}),
    "credentialAccessRevoke": ("mutation($id: ID!, $u: ID!) { credentialAccessRevoke(credentialId: $id, userId: $u) { credential { id } errors { code } } }",
                               lambda t: {"id": t.credential, "u": t.user}),
    # --- invoices
    "paymentRecord": ('mutation($id: ID!) { paymentRecord(input: {invoiceId: $id, amount: "1.00", paidOn: "2026-11-23", reference: "probe"}) '
                      "{ invoice { id } recorded errors { code } } }", lambda t: {"id": t.invoice}),
    "creditNoteCreate": ('mutation($id: ID!) { creditNoteCreate(input: {invoiceId: $id, reason: "probe"}) { creditNote { id correctsInvoiceId } errors { code } } }',
                         lambda t: {"id": t.partner_invoice}),
    "directDebitRunCreate": ('mutation { directDebitRunCreate(collectionDate: "2026-12-31") { run { id invoiceIds } errors { code } } }',
                             lambda t: {}),  # distributor only: the foreign payers' direct-debit invoices are never collected
    "invoiceCopyRequest": ("mutation($id: ID!) { invoiceCopyRequest(input: {invoiceId: $id}) { decision resent retrievalInvoice { id } errors { code } } }",
                           lambda t: {"id": t.invoice}),
    "invoiceDelete": ("mutation($id: ID!) { invoiceDelete(input: {invoiceId: $id}) { deletedInvoiceId errors { code } } }", lambda t: {"id": t.partner_invoice}),
    # --- partner programme
    "customerSignUp": (f'mutation($p: ID!, $cookie: String) {{ customerSignUp(input: {{name: "Fremd GmbH", billingEmail: "a@fremd.example", address: {ADDRESS}, '
                       "partnerId: $p, billingMode: CUSTOMER_PAYS}, referralCookie: $cookie) { customer { ... on Customer { id partnerLinks { partnerId } } } "
                       "referredByPartnerNumber errors { code } } }", lambda t: {"p": t.partner, "cookie": t.referral_cookie}),
    "partnerApplicationProofUpload": ('mutation { partnerApplicationProofUpload(input: {contentType: "application/pdf", sizeBytes: 100}) { upload { key } errors { code } } }',
                                      lambda t: {}),  # distributor only
    "partnerApplicationSubmit": (f'mutation {{ partnerApplicationSubmit(input: {{companyName: "Fremd IT", address: {ADDRESS}, contactName: "Spy", '
                                 'contactPhone: "+49 30 123456", contactEmail: "spy@fremd.example", proofOfTradeKind: TRADE_LICENCE, '
                                 f'proofOfTradeKey: "{PROOF_KEY}", proofOfTradeContentType: "application/pdf", proofOfTradeSizeBytes: 4}}) {APP} }}',
                                 lambda t: {}),  # distributor only; the proof exists, so only the role can refuse it
    "partnerApplicationApprove": (f"mutation($id: ID!) {{ partnerApplicationApprove(id: $id) {APP} }}", lambda t: {"id": t.application}),
    "partnerApplicationReject": (f'mutation($id: ID!) {{ partnerApplicationReject(id: $id, reason: "probe") {APP} }}', lambda t: {"id": t.application}),
    "partnerProgrammeEnrol": (f'mutation($p: ID!) {{ partnerProgrammeEnrol(input: {{partnerId: $p, contactName: "Spy", contactPhone: "+49 30 123456", '
                              'contactEmail: "spy@fremd.example", proofOfTradeKind: TRADE_LICENCE, '
                              f'proofOfTradeKey: "{PROOF_KEY}", proofOfTradeContentType: "application/pdf", proofOfTradeSizeBytes: 4}}) {{ {PRG} }} }}',
                              lambda t: {"p": t.partner}),  # the proof exists, so only the role can refuse it
    "partnerTierChange": (f'mutation($p: ID!) {{ partnerTierChange(input: {{partnerId: $p, tier: INDIVIDUAL, effectiveFrom: "2026-12-01", '
                          f'individualRates: {{commissionPercent: "50", cashbackPercent: "50", resellerDiscountPercent: "50"}}}}) {{ {PRG} }} }}',
                          lambda t: {"p": t.partner}),
    "partnerProgrammeActiveSet": (f"mutation($p: ID!) {{ partnerProgrammeActiveSet(partnerId: $p, active: false) {{ {PRG} }} }}", lambda t: {"p": t.partner}),
    "partnerBankDetailsSet": (f'mutation($p: ID!) {{ partnerBankDetailsSet(input: {{partnerId: $p, iban: "DE02120300000000202051", accountHolder: "Spy"}}) '
                              f"{{ {PRG} }} }}", lambda t: {"p": t.partner}),
    "payoutRequest": ("mutation($p: ID!) { payoutRequest(partnerId: $p) { payout { id partnerId } errors { code } } }", lambda t: {"p": t.partner}),
    "payoutRunCreate": ('mutation { payoutRunCreate(executionDate: "2026-12-01") { run { id payoutIds } payouts { id } errors { code } } }',
                        lambda t: {}),  # distributor only; the foreign partner's payout is open
}


def schema_fields() -> tuple[set[str], set[str]]:
    """The field names of Query and of Mutation."""
    from schema import schema

    return set(schema._schema.query_type.fields), set(schema._schema.mutation_type.fields)


def test_every_query_and_mutation_has_an_isolation_probe():
    queries, mutations = schema_fields()
    fields = queries | mutations
    assert sorted(fields - PROBES.keys()) == [], "new fields: add a probe to PROBES"
    assert sorted(PROBES.keys() - fields) == [], "probes of fields that no longer exist"


@pytest.fixture
def world(services, demo):
    """Demo data plus what the other side needs: a subscription of Alpen (SüdCloud), a SaaS subscription of each partner (inviting its customer)
    and a customer of both partners."""
    from domain.catalogue import M365_BUSINESS_BASIC, SIGNATURES_FOR_M365, Billing, Term
    from domain.policy import Principal
    from domain.services import organisations as org
    from domain.services import subscriptions as subs

    ops = Principal.of(demo.users["distributor"])
    suedcloud = Principal.of(demo.users["suedcloud_admin"])
    uow = services.uow()
    org.set_microsoft_ids(uow, ops, partner_id=demo.partners["suedcloud"].id, microsoft_partner_network_id="7654321", microsoft_id="sued-msid")
    alpen = demo.customers["alpen"].id
    subs.create_tenant(uow, suedcloud, customer_id=alpen, prefix=f"alpen{alpen[-6:]}")
    subs.accept_customer_agreement(uow, suedcloud, customer_id=alpen, name="Anton Alpen", email="anton@alpen.example", now=NOW)
    order = subs.SubscriptionOrder(alpen, M365_BUSINESS_BASIC, Term.P1Y, Billing.MONTHLY, quantity=4)
    ids = {
        "hanse_standard": demo.subscriptions["hanse_standard"].id,
        "alpen_standard": subs.order_subscription(uow, suedcloud, order, now=NOW).new_subscription.id,
    }
    for partner in ("nordit", "suedcloud"):
        principal = Principal.of(demo.users[f"{partner}_admin"])
        command = subs.NewSaasSubscription(product_id=SIGNATURES_FOR_M365, customer_company_name=f"Kunde von {partner}", users=5,
                                           invite_contact_name="Kim Kunde", invite_email=f"kim@kunde-von-{partner}.example")
        ids[f"{partner}_saas"] = subs.create_saas_subscription(uow, services.mailer, principal, command, now=NOW).id
    ids["shared_customer"] = shared_customer_of(services, demo)
    ids.update(service_desk_of(services, demo))
    ids.update(credentials_of(services, demo))
    ids.update(invoices_of(services, demo))
    ids.update(programme_of(services, demo))
    ids["triage_email"] = triage_email_of(services)
    return ids


def shared_customer_of(services, demo) -> str:
    """A customer of both partners: each partner sees the customer, but the other partner's link (its id, access
    level, billing mode) is that partner's business (the probe of `customers` asks for every link's partnerId)."""
    from domain.organisations import AccessLevel, Address, BillingMode
    from domain.policy import Principal
    from domain.services import organisations as org

    ops = Principal.of(demo.users["distributor"])
    shared = org.create_customer(services.uow(), ops, org.NewCustomer(
        "Zwei Partner GmbH", Address.create("Brückenweg 1", "37073", "Göttingen"), "rechnung@zweipartner.example",
        partner_id=demo.partners["nordit"].id, billing_mode=BillingMode.PARTNER_PAYS), now=NOW)
    org.link_partner(services.uow(), ops, partner_id=demo.partners["suedcloud"].id, customer_id=shared.id,
                     access_level=AccessLevel.LIMITED, billing_mode=BillingMode.CUSTOMER_PAYS, now=NOW)
    return shared.id


SERVICE_CUSTOMERS = ("hanse", "kanzlei", "alpen")  # every customer that is foreign to an actor in FOREIGN


def service_desk_of(services, demo) -> dict[str, str]:
    """Per customer: a hotline ticket (assigned; reported and unreported time), its service report, a prepaid-quota
    contract (month not booked yet) with a maintenance schedule, and an asset whose warranty ends soon."""
    from domain.assets import AssetKind
    from domain.calendar import berlin_date
    from domain.contracts import ContractKind, QuotaTerms, Rates
    from domain.money import Money
    from domain.policy import Principal
    from domain.services import contracts as contract_svc
    from domain.services import tickets as ticket_svc
    from infra.report_pdf import render_service_report

    ops = Principal.of(demo.users["distributor"])
    uow, today, ids = services.uow(), berlin_date(NOW), {}
    for key in SERVICE_CUSTOMERS:
        customer = demo.customers[key].id
        ticket = ticket_svc.open_hotline_ticket(uow, ops, ticket_svc.NewHotlineTicket(customer, "Drucker", "Anruf", "Anrufer"),
                                                now=NOW, mailer=services.mailer)
        ticket_svc.record_time(uow, ops, ticket.id, ticket_svc.NewTimeEntry(today, 30, True, "Treiber"), now=NOW)
        report = ticket_svc.create_service_report(uow, ops, now=NOW, documents=services.documents, mailer=services.mailer,
                                                  render=render_service_report, ticket_id=ticket.id)
        _, unreported = ticket_svc.record_time(uow, ops, ticket.id, ticket_svc.NewTimeEntry(today, 15, True, "Nacharbeit"), now=NOW)
        ticket_svc.assign(uow, ops, ticket.id, technician_id=demo.users["distributor"].id, now=NOW)
        contract = contract_svc.create_contract(
            uow, ops, contract_svc.NewContract(customer, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
                                               quota=QuotaTerms(600, Money.of("900.00"))), now=NOW,
        )
        schedule = contract_svc.add_maintenance_schedule(uow, ops, contract.id, subject="Patchday", every_months=1, anchor=date(2026, 12, 1),
                                                         now=NOW)
        asset = contract_svc.create_asset(uow, ops, customer, now=NOW, kind=AssetKind.HARDWARE, name="Server",
                                          warranty_until=today + timedelta(days=20))
        ids.update({f"{key}_ticket": ticket.id, f"{key}_time_entry": unreported.id, f"{key}_report": report.id, f"{key}_contract": contract.id,
                    f"{key}_schedule": schedule.id, f"{key}_asset": asset.id})
    services.mailer.sent.clear()
    return ids


CREDENTIAL_USERS = {"hanse": "hanse_it", "kanzlei": "kanzlei_office", "alpen": "alpen_owner"}  # the `user` of each Foreign


def credentials_of(services, demo) -> dict[str, str]:
    """Per customer: a credential (its password encrypted with the test KMS key) its user asked for access to."""
    from domain.policy import Principal
    from domain.services import credentials as credential_svc
    from infra.secrets import create_credentials_key

    create_credentials_key(services.settings)
    ops, ids = Principal.of(demo.users["distributor"]), {}
    for key in SERVICE_CUSTOMERS:
        password = f"Geheim-{key}-4711"
        credential = credential_svc.create_credential(
            services.uow(), services.secrets, ops,
            credential_svc.NewCredential(demo.customers[key].id, "Firewall admin", password, system=f"fw.{key}.example", username="admin"),
            now=NOW,
        )
        user = Principal.of(demo.users[CREDENTIAL_USERS[key]])
        credential_svc.request_access(services.uow(), user, credential.id, reason="Wartung", now=NOW + timedelta(minutes=1))
        ids.update({f"{key}_credential": credential.id, f"{key}_credential_password": password})
    return ids


def triage_email_of(services) -> str:
    """An e-mail from an address of no user (tests/fixtures/emails/unknown_sender.eml): it awaits the service desk's triage."""
    from infra.inbound_email import ingest_event
    from tests.integration.test_inbound_email import raw, s3_event

    key = "inbound/isolation-unknown-sender.eml"
    services.documents.put(key, raw("unknown_sender.eml"), "message/rfc822")
    (record,) = ingest_event(services, s3_event(services.settings.documents_bucket, key), now=NOW)
    assert record.awaiting_triage
    return key


def invoices_of(services, demo) -> dict[str, str]:
    """Issued 40 days ago by the billing run, open and overdue: one paid by each customer, one by each partner (for its customer)."""
    from decimal import Decimal

    from domain.billing import ServiceItem
    from domain.calendar import berlin_date
    from domain.money import Money
    from domain.services import billing

    issued_at = NOW - timedelta(days=40)
    run_date = berlin_date(issued_at)
    payers = {"hanse": ("hanse", None), "kanzlei": ("kanzlei", None), "alpen": ("alpen", None),
              "nordit": ("hanse", "nordit"), "suedcloud": ("alpen", "suedcloud")}  # payer -> (customer, partner who pays)
    items = {
        payer: ServiceItem(demo.customers[customer].id, f"Servicebericht {payer}", Decimal("1"), Money.of("100.00"), f"sr_isolation_{payer}",
                           partner_id=demo.partners[partner].id if partner else None)
        for payer, (customer, partner) in payers.items()
    }
    uow = services.uow()
    with uow:
        for item in items.values():
            uow.service_items.add(item, bill_date=run_date)
        uow.commit()
    billing.run_billing(services.uow, run_date=run_date, now=issued_at, documents=services.documents, mailer=services.mailer,
                        renderer=services.invoice_renderer, prefix="PH")
    services.mailer.sent.clear()
    ids = {}
    for payer, item in items.items():
        organisation = (demo.customers | demo.partners)[payer].id
        page = services.uow().invoices.list_for_payer(organisation, issued_from=run_date, issued_to=run_date, status=None, limit=100, cursor=None)
        (invoice,) = [i for i in page.items if any(line.source_reference == item.reference for line in i.lines)]
        ids[f"{payer}_invoice"] = invoice.id
    return ids


def programme_of(services, demo) -> dict[str, str]:
    """Both partners enrolled 200 days ago with bank details and a referred customer whose invoice, paid 120 days ago,
    earned an approved commission, paid out. NordIT's payout is in the distributor's payout run, SüdCloud's still open.
    Plus a submitted partner application."""
    from decimal import Decimal

    from domain.calendar import berlin_date
    from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment, record_payment
    from domain.money import Money
    from domain.organisations import Address, BillingMode
    from domain.partner_programme import DocumentKind, ProgrammeTerms
    from domain.policy import Principal
    from domain.referrals import Attribution
    from domain.services import commissions as ledger
    from domain.services import organisations as org
    from domain.services import partner_programme as programme
    from infra.demo import enrol_demo_partner
    from infra.referral_links import sign_click
    from infra.sepa import render_payouts

    ops = Principal.of(demo.users["distributor"])
    uow, today, joined, ids = services.uow(), berlin_date(NOW), NOW - timedelta(days=200), {}
    bergland = org.create_customer(uow, ops, org.NewCustomer("Bergland Hütte GmbH", Address.create("Almweg 2", "83471", "Berchtesgaden"),
                                                             "rechnung@bergland.example", billing_mode=BillingMode.CUSTOMER_PAYS), now=NOW)
    referred = {"nordit": demo.customers["direkt"].id, "suedcloud": bergland.id}
    for n, (partner, customer) in enumerate(referred.items(), start=1):
        partner_id = demo.partners[partner].id
        number = enrol_demo_partner(uow, services.documents, ops, partner_id, now=joined).partner_number
        programme.set_bank_details(uow, ops, partner_id, iban="DE89 3704 0044 0532 0130 00", account_holder=partner, bic=None)
        with uow:
            uow.referrals.add(Attribution(customer, partner_id, number, joined + timedelta(days=1), joined + timedelta(days=3)))
            uow.commit()
        draft = InvoiceDraft(
            invoice_id=f"inv_isolation{n:012d}", kind=InvoiceKind.INVOICE, issuer_id=demo.distributor.id, payer_id=customer, customer_id=customer,
            currency="EUR", lines=(InvoiceLine.priced("Managed Backup, annual", 1, Money.of("1200.00"), Decimal("19")),),
            vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER, billing_mode=BillingMode.CUSTOMER_PAYS,
        )
        invoice = draft.issue(number=f"ISO-2026-{n:06d}", issued_at=NOW - timedelta(days=127))
        paid = record_payment(invoice, invoice.amount_due, today - timedelta(days=120), f"isolation-{n}", today=today)
        ledger.record_commission_for_payment(uow, paid.invoice, paid.event, terms=ProgrammeTerms.default(), now=NOW)
        ids[f"{partner}_referred"] = customer
        ids[f"{partner}_cookie"] = sign_click(services.settings.referral_secret, number, NOW - timedelta(days=1))
    ledger.approve_due_commissions(services.uow, run_date=today, now=NOW)
    debtor = ledger.Debtor("Cloud Distribution GmbH", "DE02120300000000202051", "BYLADEM1001")
    for partner in referred:
        partner_id = demo.partners[partner].id
        (commission,) = uow.commissions.list_for_partner(partner_id, limit=10, cursor=None).items
        payout = ledger.request_payout(uow, Principal.of(demo.users[f"{partner}_admin"]), partner_id, threshold=Money.of("50.00"), now=NOW)
        ids.update({f"{partner}_commission": commission.id, f"{partner}_payout": payout.id})
        if partner == "nordit":
            ids["payout_run"] = ledger.create_payout_run(uow, services.documents, ops, debtor=debtor, execution_date=today + timedelta(days=2),
                                                         render=render_payouts, now=NOW).id
    services.documents.put(PROOF_KEY, b"%PDF", "application/pdf")
    command = programme.ApplicationCommand("Bewerber IT", {"street": "A 1", "postal_code": "10115", "city": "Berlin"}, "Max", "+49 30 123456",
                                           "max@bewerber.example", DocumentKind.TRADE_LICENCE, PROOF_KEY, "application/pdf", 4)
    ids["application"] = programme.submit_partner_application(uow, services.documents, command, now=NOW).id
    return ids


def target_of(demo, world, foreign: Foreign) -> Target:
    """The service desk and the invoice of the foreign customer, the programme data and the invoice of the foreign partner."""
    c, p = foreign.customer, foreign.partner
    return Target(
        customer=demo.customers[c].id, partner=demo.partners[p].id,
        subscription=world[foreign.subscription], user=demo.users[foreign.user].id, saas=world[foreign.saas],
        ticket=world[f"{c}_ticket"], time_entry=world[f"{c}_time_entry"], service_report=world[f"{c}_report"], contract=world[f"{c}_contract"],
        schedule=world[f"{c}_schedule"], asset=world[f"{c}_asset"],
        credential=world[f"{c}_credential"], credential_password=world[f"{c}_credential_password"],
        invoice=world[f"{c}_invoice"], partner_invoice=world[f"{p}_invoice"],
        commission=world[f"{p}_commission"], payout=world[f"{p}_payout"], referred_customer=world[f"{p}_referred"],
        referral_cookie=world[f"{p}_cookie"], payout_run=world["payout_run"], application=world["application"],
        triage_email=world["triage_email"],
    )


def state_of(services, target: Target) -> tuple:
    from domain.ports import SubscriptionFilter

    uow = services.uow()
    organisations = uow.organisations.get_many([target.customer, target.partner])
    return (
        tuple(sorted((o.id, o.version) for o in organisations.values())),
        uow.subscriptions.get(target.subscription).version,
        tuple(sorted(s.id for s in uow.subscriptions.list_for_customer(target.customer, SubscriptionFilter(), limit=100, cursor=None).items)),
        uow.saas_subscriptions.get(target.saas).version,
        len(uow.users.list_by_organisation(target.customer, limit=100, cursor=None).items),
        uow.users.get(target.user),  # its level and whether it is active (and its version)
        uow.catalogue.get().price_list,
        # service desk
        tuple(uow.tickets.list_for_customer(target.customer, status=None, limit=100, cursor=None).items),
        tuple(uow.service_reports.list_for_customer(target.customer, limit=100, cursor=None).items),
        tuple(uow.contracts.list_for_customer(target.customer)),
        tuple(uow.quota_ledger.entries(target.contract)),
        uow.maintenance_schedules.get(target.schedule),
        len(uow.maintenance_schedules.list_due(date(2100, 1, 1), limit=100, cursor=None).items),  # every schedule: none may be added
        tuple(uow.assets.list_for_customer(target.customer, limit=100, cursor=None).items),
        uow.credentials.get(target.credential),
        tuple(uow.credential_events.list_for_credential(target.credential, limit=100, cursor=None).items),
        # invoices
        *((uow.invoices.get(i), tuple(uow.invoices.list_credit_notes(i)), uow.invoices.delivery_state(i))
          for i in (target.invoice, target.partner_invoice)),
        # partner programme
        uow.programme_partners.get(target.partner),
        tuple(uow.referrals.list_for_partner(target.partner, limit=100, cursor=None).items),
        tuple(uow.commissions.list_for_partner(target.partner, limit=100, cursor=None).items),
        tuple(uow.payouts.list_for_partner(target.partner, limit=100, cursor=None).items),
        tuple(uow.payouts.list_runs(limit=100, cursor=None).items),
        tuple(uow.direct_debit_runs.list(limit=100, cursor=None).items),
        uow.partner_applications.get(target.application),
        # the service desk's triage
        uow.inbound_emails.get(target.triage_email),
        tuple(uow.inbound_emails.list_awaiting_triage(limit=100, cursor=None).items),
    )


def problems_of(field: str, is_mutation: bool, body: dict, target: Target) -> list[str]:
    problems = []
    data_text = json.dumps(body.get("data"))
    leaked = [value for value in vars(target).values() if value in data_text]
    if leaked:
        problems.append(f"foreign ids in the answer: {leaked}")
    if is_mutation:
        payload = (body.get("data") or {}).get(field)
        codes = {e["code"] for e in payload["errors"]} if payload else set()
        if payload is None or not codes <= REFUSALS or not (codes or field in OWN_OBJECT_ONLY):
            problems.append(f"not refused: {payload or body.get('errors')}")
    elif body.get("errors"):  # a query that failed as a whole must fail as not found or forbidden
        codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
        if not codes <= REFUSALS:
            problems.append(f"query errors: {[e['message'] for e in body['errors']]}")
    return problems


def test_no_actor_reaches_another_organisations_objects_through_any_field(as_user, services, demo, world):
    _, mutations = schema_fields()
    failures = []
    for actor, foreign in FOREIGN.items():
        api, target = as_user(actor), target_of(demo, world, foreign)
        before = state_of(services, target)
        for field, (operation, variables) in PROBES.items():
            response = api.post(operation, variables(target))
            if response.status_code != 200:
                failures.append((actor, field, f"HTTP {response.status_code}"))
                continue
            failures += [(actor, field, problem) for problem in problems_of(field, field in mutations, response.json(), target)]
        if state_of(services, target) != before:
            failures.append((actor, "*", "the foreign objects changed"))
    assert failures == [], "\n".join(map(str, failures))
