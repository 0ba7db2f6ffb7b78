"""PynamoDB models: one table per aggregate, plus the small tables that make writes safe.

Access patterns (every read is a GetItem, BatchGetItem or Query; nothing scans):

| pattern                                   | table / index                         | key                         |
|-------------------------------------------|---------------------------------------|-----------------------------|
| organisation by id (and batch)            | organisations                         | id                          |
| partners / customers by name (distributor)| organisations.kind-index              | kind, sort_name             |
| customers of a partner                    | partner_customers (then BatchGet)     | partner_id, customer_id     |
| user by id (principal, batch)             | users                                 | id                          |
| users of an organisation                  | users.organisation-index              | organisation_id, email      |
| unique claim (user e-mail, tenant prefix) | uniques                               | key                         |
| direct-debit collections of an invoice    | uniques (direct-debit-collection#…)   | key = …#<run id>#<invoice id> |
| idempotency record                        | idempotency                           | key (expires via TTL)       |
| catalogue (products and dated prices)     | catalogue                             | id = "current"              |
| subscription by id (and batch)            | subscriptions                         | id                          |
| subscriptions of a customer               | subscriptions.customer-index          | customer_id, created_key    |
| subscriptions of a partner                | subscriptions.partner-index           | partner_id, created_key     |
| a partner's subscriptions of a customer page | subscriptions.partner-customer-index | partner_id, customer_key  |
| renewals due on a date (renewal job)      | subscriptions.renewal-index (sparse)  | renewal_date, renewal_key   |
| a partner's renewals in a date range      | subscriptions.partner-renewal-index   | partner_id, renewal_key     |
| history pages of subscriptions (batch)    | subscriptions (no index attributes)   | id = <id>#history#<n>       |
| charge by id                              | charges                               | id                          |
| unbilled charges by billing date          | charges.unbilled-index (sparse)       | bill_date, id               |
| charges of a subscription                 | charges.subscription-index            | subscription_id, id         |
| SaaS subscriptions of a partner           | saas_subscriptions.partner-index      | partner_id, id              |
| every SaaS subscription (distributor)     | saas_subscriptions.kind-index         | kind = "SAAS", id           |
| SaaS months due (job; catch-up included)  | saas_subscriptions.payment-index (sparse) | payment_shard, payment_due_key <= run date |
| history pages of SaaS subscriptions       | saas_subscriptions (no index attrs)   | id = <id>#history#<n>       |
| partner application by id                 | partner_applications                  | id                          |
| applications by status (distributor)      | partner_applications.status-index     | status, submitted_key       |
| programme partner by partner id (batch)   | programme_partners                    | partner_id                  |
| programme partner by partner number       | uniques (partner-number#N → id)       | key, then programme_partners|
| next partner number                       | counters                              | name = "partner-number"     |
| referral of a customer                    | referrals                             | customer_id                 |
| referred customers of a partner           | referrals.partner-index               | partner_id, referred_key    |
| commission by id                          | commissions                           | id                          |
| commissions of a partner                  | commissions.partner-index             | partner_id, created_key     |
| commissions of an invoice (credit notes)  | commissions.invoice-index             | invoice_id, id              |
| pending commissions due by a date (job)   | commissions.approval-index (sparse)   | approval_queue, approval_key|
| approved unpaid commissions of a partner  | commissions.payable-index (sparse)    | payable_partner_id, payable_key |
| payout by id                              | payouts                               | id                          |
| payouts of a partner                      | payouts.partner-index                 | partner_id, requested_key   |
| payouts not yet in a SEPA file            | payouts.open-index (sparse)           | export_queue, requested_key |
| payouts of a SEPA run                     | payouts.run-index (sparse)            | run_id, id                  |
| payout runs, newest first                 | payout_runs.created-index             | kind, created_key           |
| ticket by id (and batch)                  | tickets                               | id                          |
| tickets of a customer, newest first       | tickets.customer-index                | customer_id, created_key    |
| the service desk's queue by status        | tickets.status-index                  | status, created_key         |
| ticket by number (replies by e-mail)      | tickets.number-index                  | number_key, id              |
| next ticket number of a distributor       | counters (UpdateItem ADD)             | name = ticket-number#<dst>  |
| raw inbound e-mail's outcome (idempotent) | inbound_emails                        | key (the S3 key)            |
| e-mails awaiting triage, newest first     | inbound_emails.triage-index (sparse)  | triage_queue, triage_key    |
| service report by id / of a customer      | service_reports(.customer-index)      | id / customer_id, created_key |
| unbilled service items by billing date    | service_items.unbilled-index (sparse) | bill_date, id               |
| contracts of a customer                   | contracts.customer-index              | customer_id, id             |
| every prepaid quota (month-end job)       | contracts.kind-index                  | kind, id                    |
| rental/hosting months due (job; catch-up) | contracts.flat-rate-index (sparse)    | flat_rate_shard, flat_rate_due_key <= run date |
| quota ledger of a contract                | quota_ledger                          | contract_id, key            |
| maintenance due (job; catch-up included)  | maintenance_schedules.due-index       | due_shard, due_key <= run date |
| maintenance schedules of a contract (end) | maintenance_schedules.contract-index  | contract_id, id             |
| assets of a customer                      | assets.customer-index                 | customer_id, id             |
| assets expiring up to a date              | assets.expiry-index (sparse)          | customer_id, expiry_key     |
| software interrupting users (maint. job)  | assets.customer-index, filter interrupts_users | customer_id, id    |
| invoice by id (and batch)                 | invoices                              | id                          |
| invoices of a payer, by issue date        | invoices.payer-index                  | payer_id, issue_key         |
| open invoices by due date (dunning list)  | invoices.open-index (sparse)          | open_bucket, due_key        |
| invoices still to e-mail (billing run)    | invoices.undelivered-index (sparse)   | delivery_date, id           |
| credit notes of an invoice                | invoices.corrects-index (sparse)      | corrects_invoice_id, id     |
| direct-debit invoices to collect by a date| invoices.debit-index (sparse)         | debit_queue, debit_key <= date |
| direct-debit runs, newest first           | direct_debit_runs.created-index       | kind, created_key           |
| next invoice number of issuer and year    | counters                              | invoice-number#issuer#year  |
| cashback of an invoice / of a partner     | cashbacks, cashbacks.partner-index    | invoice_id; partner_id, key |
| credential by id (tombstones too)         | credentials                           | id                          |
| a customer's credentials, by label        | credentials.customer-index (sparse)   | listed_customer_id, label_key |
| credentials awaiting an access decision   | credentials.pending-index (sparse)    | pending_queue, pending_key  |
| a credential's audit trail, newest first  | credential_events                     | credential_id, key          |
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from infra.dynamo.attributes import CompactJSONAttribute
from infra.dynamo.connection import attach
from infra.settings import Settings, get_settings


class _Meta:
    billing_mode = "PAY_PER_REQUEST"


class OrganisationKindIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "kind-index"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    sort_name = UnicodeAttribute(range_key=True)


class OrganisationModel(Model):
    class Meta(_Meta):
        table_name = "organisations"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    sort_name = UnicodeAttribute()
    data = JSONAttribute()
    version = VersionAttribute()
    kind_index = OrganisationKindIndex()


class PartnerCustomerModel(Model):
    """Index items: which customers a partner is linked to (the link itself lives on the customer)."""

    class Meta(_Meta):
        table_name = "partner_customers"

    partner_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute(range_key=True)


class UserOrganisationIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "organisation-index"
        projection = AllProjection()

    organisation_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class UserModel(Model):
    class Meta(_Meta):
        table_name = "users"

    id = UnicodeAttribute(hash_key=True)
    organisation_id = UnicodeAttribute()
    email = UnicodeAttribute()
    data = JSONAttribute()
    version = VersionAttribute()
    organisation_index = UserOrganisationIndex()


class UniqueClaimModel(Model):
    class Meta(_Meta):
        table_name = "uniques"

    key = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    # A claim that adds up amounts (the direct-debit collections of an invoice under a run): its owners and their total
    # in cents, updated under a condition on the total. Absent on plain claims.
    tally_owners = ListAttribute(of=UnicodeAttribute, null=True)
    tally_cents = NumberAttribute(null=True)


class IdempotencyModel(Model):
    class Meta(_Meta):
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class CounterModel(Model):
    """Gap-free sequences (partner numbers, invoice and ticket numbers), advanced in transactions."""

    class Meta(_Meta):
        table_name = "counters"

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class CatalogueModel(Model):
    """The product catalogue with its dated price lists: one small, versioned item."""

    class Meta(_Meta):
        table_name = "catalogue"

    id = UnicodeAttribute(hash_key=True)
    data = JSONAttribute()
    version = VersionAttribute()


def _index(name: str, hash_attribute: str, range_attribute: str) -> type[GlobalSecondaryIndex]:
    attributes = {
        "Meta": type("Meta", (), {"index_name": name, "projection": AllProjection()}),
        hash_attribute: UnicodeAttribute(hash_key=True),
        range_attribute: UnicodeAttribute(range_key=True),
    }
    return type(f"Index_{name.replace('-', '_')}", (GlobalSecondaryIndex,), attributes)


class SubscriptionModel(Model):
    class Meta(_Meta):
        table_name = "subscriptions"

    id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    status = UnicodeAttribute()
    created_key = UnicodeAttribute()  # started_at#id: lists in order of ordering
    # customer_id#started_at#id: what a partner sells, by customer and then by age, so a page of its customers
    # (contiguous by id) gets all their subscriptions in one Query.
    customer_key = UnicodeAttribute()
    # Set only while the subscription will renew or end at term end (sparse indexes):
    renewal_date = UnicodeAttribute(null=True)  # Berlin date of the term end
    renewal_key = UnicodeAttribute(null=True)  # term end instant (ISO, UTC)#id
    # Set only while a monthly cycle of the current term awaits its charge (sparse index):
    cycle_date = UnicodeAttribute(null=True)  # Berlin date the next cycle starts
    cycle_key = UnicodeAttribute(null=True)  # cycle start instant (ISO, UTC)#id
    data = JSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "customer_id", "created_key")()
    partner_index = _index("partner-index", "partner_id", "created_key")()
    partner_customer_index = _index("partner-customer-index", "partner_id", "customer_key")()
    renewal_index = _index("renewal-index", "renewal_date", "renewal_key")()
    partner_renewal_index = _index("partner-renewal-index", "partner_id", "renewal_key")()
    cycle_index = _index("cycle-index", "cycle_date", "cycle_key")()


class CustomerSubscriptionsModel(Model):
    """References to a customer's subscriptions, so a page of customers gets theirs in one BatchGetItem.

    Written with an UpdateItem ADD in the transaction that creates a subscription (never read-modify-write).
    """

    class Meta(_Meta):
        table_name = "customer_subscriptions"

    customer_id = UnicodeAttribute(hash_key=True)
    # "<started at, ISO UTC>#<partner id>#<subscription id>": sorts by age, and says who sells it, so a page
    # can be cut and filtered by visibility before any subscription is read.
    subscription_refs = UnicodeSetAttribute(null=True)


class ChargeModel(Model):
    """What is owed (or credited) for which period; billing consumes unbilled charges."""

    class Meta(_Meta):
        table_name = "charges"

    id = UnicodeAttribute(hash_key=True)
    subscription_id = UnicodeAttribute()
    bill_date = UnicodeAttribute(null=True)  # removed once billed (sparse index)
    billed_invoice_id = UnicodeAttribute(null=True)  # set when billing consumes the charge
    data = JSONAttribute()
    version = VersionAttribute()
    unbilled_index = _index("unbilled-index", "bill_date", "id")()
    subscription_index = _index("subscription-index", "subscription_id", "id")()


class SaasSubscriptionModel(Model):
    class Meta(_Meta):
        table_name = "saas_subscriptions"

    id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    kind = UnicodeAttribute(default="SAAS")  # one partition holding every SaaS subscription: the distributor's list
    # Set while active (sparse): one small partition of the next payment dates, read up to the run date by the daily
    # billing job, so a missed run is caught up by the next one.
    payment_shard = UnicodeAttribute(null=True)
    payment_due_key = UnicodeAttribute(null=True)  # the next payment date (ISO)#id
    data = JSONAttribute()
    version = VersionAttribute()
    partner_index = _index("partner-index", "partner_id", "id")()
    kind_index = _index("kind-index", "kind", "id")()
    payment_index = _index("payment-index", "payment_shard", "payment_due_key")()


class PartnerApplicationModel(Model):
    class Meta(_Meta):
        table_name = "partner_applications"

    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    submitted_key = UnicodeAttribute()  # submitted_at#id
    data = JSONAttribute()
    version = VersionAttribute()
    status_index = _index("status-index", "status", "submitted_key")()


class ProgrammePartnerModel(Model):
    """A partner's standing in the programme (number, tiers, bank details), next to its organisation."""

    class Meta(_Meta):
        table_name = "programme_partners"

    partner_id = UnicodeAttribute(hash_key=True)
    partner_number = NumberAttribute()
    data = JSONAttribute()
    version = VersionAttribute()


class ReferralModel(Model):
    """A customer's attribution to the partner that referred it: at most one per customer."""

    class Meta(_Meta):
        table_name = "referrals"

    customer_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    referred_key = UnicodeAttribute()  # attributed_at#customer_id
    data = JSONAttribute()
    partner_index = _index("partner-index", "partner_id", "referred_key")()


class CommissionModel(Model):
    class Meta(_Meta):
        table_name = "commissions"

    id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    created_key = UnicodeAttribute()  # created_at#id
    # Set only while pending with a known approval date (sparse): the approval job's queue.
    approval_queue = UnicodeAttribute(null=True)
    approval_key = UnicodeAttribute(null=True)  # approval date#id
    # Set only while approved and not paid out (sparse): what a payout takes.
    payable_partner_id = UnicodeAttribute(null=True)
    payable_key = UnicodeAttribute(null=True)  # approval date#id
    data = JSONAttribute()
    version = VersionAttribute()
    partner_index = _index("partner-index", "partner_id", "created_key")()
    invoice_index = _index("invoice-index", "invoice_id", "id")()
    approval_index = _index("approval-index", "approval_queue", "approval_key")()
    payable_index = _index("payable-index", "payable_partner_id", "payable_key")()


class PayoutModel(Model):
    class Meta(_Meta):
        table_name = "payouts"

    id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    requested_key = UnicodeAttribute()  # requested_at#id
    export_queue = UnicodeAttribute(null=True)  # "OPEN" until a SEPA run takes it (sparse)
    run_id = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    partner_index = _index("partner-index", "partner_id", "requested_key")()
    open_index = _index("open-index", "export_queue", "requested_key")()
    run_index = _index("run-index", "run_id", "id")()


class PayoutRunModel(Model):
    """One SEPA credit-transfer file for the bank and the payouts in it."""

    class Meta(_Meta):
        table_name = "payout_runs"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="RUN")
    created_key = UnicodeAttribute()
    data = JSONAttribute()
    version = VersionAttribute()
    created_index = _index("created-index", "kind", "created_key")()
# --- service desk -------------------------------------------------------------------------


class TicketModel(Model):
    """A ticket with its comments, attachment metadata, time entries and history (small child lists)."""

    class Meta(_Meta):
        table_name = "tickets"

    id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    created_key = UnicodeAttribute()  # received_at (ISO, UTC)#id
    number_key = UnicodeAttribute()  # distributor_id#T-000123
    # Sparse: customer_id#user_id of a reporter with a login. A report-only user lists only the tickets they reported.
    reporter_key = UnicodeAttribute(null=True)
    # UTF-8 JSON: comments are free text, and DynamoDB holds 400 KB per item (TicketRepository keeps a budget).
    data = CompactJSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "customer_id", "created_key")()
    status_index = _index("status-index", "status", "created_key")()
    number_index = _index("number-index", "number_key", "id")()
    reporter_index = _index("reporter-index", "reporter_key", "created_key")()


class InboundEmailModel(Model):
    """What became of each raw inbound e-mail (the S3 object stays where SES put it)."""

    class Meta(_Meta):
        table_name = "inbound_emails"

    key = UnicodeAttribute(hash_key=True)
    # Set only while an unknown sender's mail awaits triage (sparse): the service desk's list. Records written
    # before the index existed lack them and are not listed.
    triage_queue = UnicodeAttribute(null=True)
    triage_key = UnicodeAttribute(null=True)  # received_at (ISO, UTC)#key
    data = JSONAttribute()
    version = VersionAttribute()
    triage_index = _index("triage-index", "triage_queue", "triage_key")()


class ServiceReportModel(Model):
    class Meta(_Meta):
        table_name = "service_reports"

    id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    created_key = UnicodeAttribute()
    pdf_key = UnicodeAttribute()
    data = JSONAttribute()
    customer_index = _index("customer-index", "customer_id", "created_key")()


class InvoiceModel(Model):
    """An issued invoice or credit note (lines and payments inside: they stay small)."""

    class Meta(_Meta):
        table_name = "invoices"

    id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    issue_key = UnicodeAttribute()  # issue date#number: lists in issue order, date ranges by key condition
    # Sparse: set while an invoice (not a credit note) is not fully paid.
    open_bucket = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # due date#id
    # Sparse: set until the PDF is stored and e-mailed to the payer.
    delivery_date = UnicodeAttribute(null=True)
    delivery_claimed_until = UnicodeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    document_key = UnicodeAttribute(null=True)
    corrects_invoice_id = UnicodeAttribute(null=True)
    credit_note_ids = UnicodeSetAttribute(null=True)  # added with each credit note: nested lists load by BatchGet
    # Sparse: set on a direct-debit invoice until a direct-debit run takes it (into its file, or out with a reason).
    debit_queue = UnicodeAttribute(null=True)
    debit_key = UnicodeAttribute(null=True)  # due date#id
    debit_run_id = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    payer_index = _index("payer-index", "payer_id", "issue_key")()
    open_index = _index("open-index", "open_bucket", "due_key")()
    undelivered_index = _index("undelivered-index", "delivery_date", "id")()
    corrects_index = _index("corrects-index", "corrects_invoice_id", "id")()
    debit_index = _index("debit-index", "debit_queue", "debit_key")()


class ServiceItemModel(Model):
    """Billable items that are not subscription charges (service reports, time); billing consumes them."""

    class Meta(_Meta):
        table_name = "service_items"

    id = UnicodeAttribute(hash_key=True)  # the item's reference (e.g. the service report id)
    customer_id = UnicodeAttribute(null=True)
    bill_date = UnicodeAttribute(null=True)  # removed once billed (sparse index)
    billed_invoice_id = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    unbilled_index = _index("unbilled-index", "bill_date", "id")()


class ContractModel(Model):
    class Meta(_Meta):
        table_name = "contracts"

    id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    # Set while a rental or hosting contract has a month ahead to book for billing (sparse): one small partition,
    # read up to the run date, so a missed run is caught up by the next one.
    flat_rate_shard = UnicodeAttribute(null=True)
    flat_rate_due_key = UnicodeAttribute(null=True)  # the date the next month is due (ISO)#id
    # The same for a prepaid quota's next month to book (close the previous month, credit this one).
    quota_shard = UnicodeAttribute(null=True)
    quota_due_key = UnicodeAttribute(null=True)  # the date the next quota month is due (ISO)#id
    data = JSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "customer_id", "id")()
    kind_index = _index("kind-index", "kind", "id")()
    flat_rate_index = _index("flat-rate-index", "flat_rate_shard", "flat_rate_due_key")()
    quota_index = _index("quota-index", "quota_shard", "quota_due_key")()


class QuotaLedgerModel(Model):
    """One item per ledger entry: a credit or correction under its deterministic key (booked once), a debit under the
    ledger's next debit position (``QuotaLedgerRepository``: optimistic locking of the balance)."""

    class Meta(_Meta):
        table_name = "quota_ledger"

    contract_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    data = JSONAttribute()


class MaintenanceScheduleModel(Model):
    class Meta(_Meta):
        table_name = "maintenance_schedules"

    id = UnicodeAttribute(hash_key=True)
    # Set while a due date is ahead (sparse): one small partition, read up to the run date, so a
    # missed run is caught up by the next one.
    due_shard = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # creation date (ISO)#id
    # Absent on schedules saved before the index (index_maintenance_schedules puts those still running on it).
    contract_id = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    due_index = _index("due-index", "due_shard", "due_key")()
    contract_index = _index("contract-index", "contract_id", "id")()


class AssetModel(Model):
    class Meta(_Meta):
        table_name = "assets"

    id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    expiry_key = UnicodeAttribute(null=True)  # earliest warranty/licence end (ISO)#id; absent without one
    # "Y" on software marked as interrupting users, absent otherwise: the maintenance job's filter (no index: a
    # customer's assets are few, and the job reads them once per customer and run).
    interrupts_users = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "customer_id", "id")()
    expiry_index = _index("expiry-index", "customer_id", "expiry_key")()


class DirectDebitRunModel(Model):
    """One SEPA direct-debit file (pain.008) for the distributor's bank and the invoices in it."""

    class Meta(_Meta):
        table_name = "direct_debit_runs"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="RUN")
    created_key = UnicodeAttribute()
    data = JSONAttribute()
    version = VersionAttribute()
    created_index = _index("created-index", "kind", "created_key")()


class CashbackModel(Model):
    """What a partner earns on a customer-pays invoice; written with the invoice, read by commissions."""

    class Meta(_Meta):
        table_name = "cashbacks"

    invoice_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    issue_key = UnicodeAttribute()  # issue date#invoice id
    data = JSONAttribute()
    partner_index = _index("partner-index", "partner_id", "issue_key")()


class CredentialModel(Model):
    """A customer's credential (domain.credentials): the secret only as KMS ciphertext inside ``data``."""

    class Meta(_Meta):
        table_name = "credentials"

    id = UnicodeAttribute(hash_key=True)
    listed_customer_id = UnicodeAttribute(null=True)  # absent once deleted: the tombstone is listed nowhere
    label_key = UnicodeAttribute(null=True)  # folded label#id
    pending_queue = UnicodeAttribute(null=True)  # set while an access request waits for a decision
    pending_key = UnicodeAttribute(null=True)  # oldest pending request (ISO)#id
    data = JSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "listed_customer_id", "label_key")()
    pending_index = _index("pending-index", "pending_queue", "pending_key")()


class CredentialEventModel(Model):
    """The audit trail of a credential: one item per event, kept after the credential is deleted."""

    class Meta(_Meta):
        table_name = "credential_events"

    credential_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # at (ISO)#event id
    data = JSONAttribute()


# The logical aggregate name of each model: the table is <TABLE_PREFIX><name>.
ALL_MODELS: dict[str, type[Model]] = {
    "organisations": OrganisationModel,
    "partner_customers": PartnerCustomerModel,
    "users": UserModel,
    "uniques": UniqueClaimModel,
    "idempotency": IdempotencyModel,
    "counters": CounterModel,
    "catalogue": CatalogueModel,
    "subscriptions": SubscriptionModel,
    "customer_subscriptions": CustomerSubscriptionsModel,
    "charges": ChargeModel,
    "saas_subscriptions": SaasSubscriptionModel,
    "partner_applications": PartnerApplicationModel,
    "programme_partners": ProgrammePartnerModel,
    "referrals": ReferralModel,
    "commissions": CommissionModel,
    "payouts": PayoutModel,
    "payout_runs": PayoutRunModel,
    "tickets": TicketModel,
    "inbound_emails": InboundEmailModel,
    "service_reports": ServiceReportModel,
    "service_items": ServiceItemModel,
    "contracts": ContractModel,
    "quota_ledger": QuotaLedgerModel,
    "maintenance_schedules": MaintenanceScheduleModel,
    "assets": AssetModel,
    "invoices": InvoiceModel,
    "cashbacks": CashbackModel,
    "direct_debit_runs": DirectDebitRunModel,
    "credentials": CredentialModel,
    "credential_events": CredentialEventModel,
}


def configure(settings: Settings | None = None) -> None:
    """Point every model at the configured table names and endpoint."""
    settings = settings or get_settings()
    for name, model in ALL_MODELS.items():
        model.Meta.table_name = settings.table_name(name)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        attach(model)


def create_tables(settings: Settings | None = None) -> None:
    configure(settings)
    for model in ALL_MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    ttl_tables = [m for m in ALL_MODELS.values() if any(isinstance(a, TTLAttribute) for a in m.get_attributes().values())]
    for model in ttl_tables:
        model.update_ttl(ignore_update_ttl_errors=True)
