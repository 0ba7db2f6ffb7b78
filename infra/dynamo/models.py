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
| idempotency record                        | idempotency                           | key (expires via TTL)       |
| catalogue (products and dated prices)     | catalogue                             | id = "current"              |
| subscription by id (and batch)            | subscriptions                         | id                          |
| subscriptions of a customer               | subscriptions.customer-index          | customer_id, created_key    |
| subscriptions of a partner                | subscriptions.partner-index           | partner_id, created_key     |
| renewals due on a date (renewal job)      | subscriptions.renewal-index (sparse)  | renewal_date, renewal_key   |
| a partner's renewals in a date range      | subscriptions.partner-renewal-index   | partner_id, renewal_key     |
| charge by id                              | charges                               | id                          |
| unbilled charges by billing date          | charges.unbilled-index (sparse)       | bill_date, id               |
| charges of a subscription                 | charges.subscription-index            | subscription_id, id         |
| SaaS subscriptions of a partner           | saas_subscriptions.partner-index      | partner_id, id              |
| invoice by id (and batch)                 | invoices                              | id                          |
| invoices of a payer, by issue date        | invoices.payer-index                  | payer_id, issue_key         |
| open invoices by due date (dunning list)  | invoices.open-index (sparse)          | open_bucket, due_key        |
| invoices still to e-mail (billing run)    | invoices.undelivered-index (sparse)   | delivery_date, id           |
| credit notes of an invoice                | invoices.corrects-index (sparse)      | corrects_invoice_id, id     |
| next invoice number of issuer and year    | counters                              | invoice-number#issuer#year  |
| unbilled service items by billing date    | service_items.unbilled-index (sparse) | bill_date, id               |
| cashback of an invoice / of a partner     | cashbacks, cashbacks.partner-index    | invoice_id; partner_id, key |
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

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
    # Set only while the subscription will renew or end at term end (sparse indexes):
    renewal_date = UnicodeAttribute(null=True)  # Berlin date of the term end
    renewal_key = UnicodeAttribute(null=True)  # term end instant (ISO, UTC)#id
    data = JSONAttribute()
    version = VersionAttribute()
    customer_index = _index("customer-index", "customer_id", "created_key")()
    partner_index = _index("partner-index", "partner_id", "created_key")()
    renewal_index = _index("renewal-index", "renewal_date", "renewal_key")()
    partner_renewal_index = _index("partner-renewal-index", "partner_id", "renewal_key")()


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
    data = JSONAttribute()
    version = VersionAttribute()
    partner_index = _index("partner-index", "partner_id", "id")()


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
    data = JSONAttribute()
    version = VersionAttribute()
    payer_index = _index("payer-index", "payer_id", "issue_key")()
    open_index = _index("open-index", "open_bucket", "due_key")()
    undelivered_index = _index("undelivered-index", "delivery_date", "id")()
    corrects_index = _index("corrects-index", "corrects_invoice_id", "id")()


class ServiceItemModel(Model):
    """Billable items that are not subscription charges (service reports, time); billing consumes them."""

    class Meta(_Meta):
        table_name = "service_items"

    id = UnicodeAttribute(hash_key=True)  # the item's reference
    bill_date = UnicodeAttribute(null=True)  # removed once billed (sparse index)
    billed_invoice_id = UnicodeAttribute(null=True)
    data = JSONAttribute()
    version = VersionAttribute()
    unbilled_index = _index("unbilled-index", "bill_date", "id")()


class CashbackModel(Model):
    """What a partner earns on a customer-pays invoice; written with the invoice, read by commissions."""

    class Meta(_Meta):
        table_name = "cashbacks"

    invoice_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    issue_key = UnicodeAttribute()  # issue date#invoice id
    data = JSONAttribute()
    partner_index = _index("partner-index", "partner_id", "issue_key")()


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
    "charges": ChargeModel,
    "saas_subscriptions": SaasSubscriptionModel,
    "invoices": InvoiceModel,
    "service_items": ServiceItemModel,
    "cashbacks": CashbackModel,
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
