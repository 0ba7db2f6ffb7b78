"""Products, add-ons and dated price lists.

A price list is a set of dated entries; the price of a product on a day is the entry with
the latest ``effective_from`` on or before that day. Announcing a price change means
adding entries with a future ``effective_from``; running subscription terms are never
touched because a subscription locks its unit price when a term starts.

Unit prices are per seat per *billing period*: a ``(P1Y, MONTHLY)`` price is per seat per
month, a ``(P1Y, ANNUAL)`` price is per seat per year, paid upfront.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Iterable, Mapping, Protocol

from domain.errors import Conflict, DomainError, ErrorCode, NotFound, ValidationFailed
from domain.money import Money, round_cents


class Term(str, Enum):
    P1M = "P1M"  # monthly term
    P1Y = "P1Y"  # annual term

    @property
    def months(self) -> int:
        return {Term.P1M: 1, Term.P1Y: 12}[self]


class Billing(str, Enum):
    MONTHLY = "MONTHLY"
    ANNUAL = "ANNUAL"  # the whole term paid upfront

    @property
    def months(self) -> int:
        return {Billing.MONTHLY: 1, Billing.ANNUAL: 12}[self]


VALID_TERM_BILLING: tuple[tuple[Term, Billing], ...] = (
    (Term.P1M, Billing.MONTHLY),
    (Term.P1Y, Billing.MONTHLY),
    (Term.P1Y, Billing.ANNUAL),
)


def describe_valid_term_billing() -> str:
    return ", ".join(f"{term.value}/{billing.value}" for term, billing in VALID_TERM_BILLING)


def validate_term_billing(term: Term, billing: Billing, *, field: str = "billing") -> None:
    """Only the three combinations Microsoft sells; a monthly term cannot be paid a year upfront."""
    if (term, billing) not in VALID_TERM_BILLING:
        raise ValidationFailed(
            f"A {term.value} term cannot be billed {billing.value}.",
            field=field,
            hint=f"Choose one of the term/billing combinations {describe_valid_term_billing()}.",
        )


class ProductCategory(str, Enum):
    MICROSOFT_365 = "MICROSOFT_365"
    OFFICE_365 = "OFFICE_365"
    EXCHANGE = "EXCHANGE"
    SECURITY = "SECURITY"
    WINDOWS_SERVER = "WINDOWS_SERVER"
    EMAIL_SIGNATURE = "EMAIL_SIGNATURE"


class ProductKind(str, Enum):
    CSP_NCE = "CSP_NCE"  # Microsoft New Commerce subscription
    CSP_LEGACY = "CSP_LEGACY"  # pre-March-2022 CSP subscription; no new orders
    PERPETUAL = "PERPETUAL"  # one-time purchase through CSP (keys, downloads)
    SAAS = "SAAS"  # reseller SaaS such as e-mail signatures

    @property
    def is_csp_subscription(self) -> bool:
        return self in (ProductKind.CSP_NCE, ProductKind.CSP_LEGACY)

    @property
    def is_ordered_through_csp(self) -> bool:
        return self is not ProductKind.SAAS


class LicenceProgram(str, Enum):
    COMMERCIAL = "COMMERCIAL"
    EDUCATION = "EDUCATION"
    NON_PROFIT = "NON_PROFIT"


class NotEligible(DomainError):
    """The product does not carry the right the request needs (e.g. hosted desktop use)."""

    code = ErrorCode.NOT_ELIGIBLE


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: ProductCategory
    kind: ProductKind
    licence_program: LicenceProgram = LicenceProgram.COMMERCIAL
    add_on_of: str | None = None  # the base product an add-on needs
    upgrade_targets: frozenset[str] = frozenset()  # products that count as "higher"
    allows_hosted_desktop: bool = False  # may run on a hosted terminal server / cloud desktop

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValidationFailed("A product needs an id.", field="id")
        if not self.name.strip():
            raise ValidationFailed("A product needs a name.", field="name")
        if self.add_on_of == self.id or self.id in self.upgrade_targets:
            raise ValidationFailed(f"{self.name} cannot be its own add-on base or upgrade.", field="id")
        # Accept any iterable from callers, but keep the frozen value hashable.
        object.__setattr__(self, "upgrade_targets", frozenset(self.upgrade_targets))

    @property
    def is_add_on(self) -> bool:
        return self.add_on_of is not None

    def can_upgrade_to(self, target: "Product") -> bool:
        return target.id in self.upgrade_targets


def assert_hosted_desktop_allowed(product: Product) -> None:
    """Only plans whose licence terms allow a shared hosted desktop may be assigned to one."""
    if not product.allows_hosted_desktop:
        raise NotEligible(
            f"{product.name} does not include the right to run on a hosted desktop (terminal server).",
            field="productId",
            hint=(
                "Use a plan with that right: Office 365 E3/E5, Microsoft 365 Apps for enterprise or business, "
                "Microsoft 365 Business Premium, Microsoft 365 E3/E5, or a Visio or Project plan."
            ),
        )


def assert_add_on_base_present(product: Product, customer_active_product_ids: Iterable[str]) -> None:
    """An add-on can only be bought for a customer that holds its base product."""
    if product.add_on_of is not None and product.add_on_of not in set(customer_active_product_ids):
        raise ValidationFailed(
            f"{product.name} is an add-on and the customer has no active subscription of its base product.",
            field="productId",
            hint=f"Order the base product ({product.add_on_of}) first.",
        )


MONTHLY_TERM_SURCHARGE = Decimal("1.20")  # a monthly-term price is 20% above the annual-term price


@dataclass(frozen=True)
class PriceListEntry:
    """One dated price. ``term`` and ``billing`` are both ``None`` for a one-time (perpetual) price."""

    product_id: str
    term: Term | None
    billing: Billing | None
    unit_price: Money
    effective_from: date

    def __post_init__(self) -> None:
        if (self.term is None) != (self.billing is None):
            raise ValidationFailed(
                "A price list entry has both a term and a billing frequency, or neither (one-time price).",
                field="billing",
            )
        if self.term is not None and self.billing is not None:
            validate_term_billing(self.term, self.billing)
        if self.unit_price.amount < 0:
            raise ValidationFailed("A unit price cannot be negative.", field="unitPrice")

    @property
    def key(self) -> tuple[str, Term | None, Billing | None, str]:
        return (self.product_id, self.term, self.billing, self.unit_price.currency)


class PriceLookup(Protocol):
    """What subscriptions need from a price list: the unit price valid on a Berlin calendar date."""

    def __call__(
        self, product_id: str, term: Term, billing: Billing, on: date, *, currency: str = "EUR"
    ) -> Money: ...


def _latest_on_or_before(entries: Iterable[PriceListEntry], on: date) -> PriceListEntry | None:
    in_force = [entry for entry in entries if entry.effective_from <= on]
    return max(in_force, key=lambda entry: entry.effective_from, default=None)


def schedule_price_change(
    entries: Iterable[PriceListEntry],
    *,
    currency: str,
    percent: Decimal,
    effective_from: date,
    product_ids: Iterable[str] | None = None,
) -> list[PriceListEntry]:
    """New entries that change every ``currency`` price by ``percent`` from ``effective_from``.

    Each new price is the price in force the day before, changed and rounded half-up to the
    cent. Only new entries are produced: running terms keep the unit price they locked.
    """
    percent = Decimal(percent)
    if percent <= Decimal(-100):
        raise ValidationFailed("A price change cannot lower prices by 100% or more.", field="percent")
    entries = list(entries)
    wanted = set(product_ids) if product_ids is not None else None
    by_key: dict[tuple, list[PriceListEntry]] = {}
    for entry in entries:
        if entry.unit_price.currency == currency and (wanted is None or entry.product_id in wanted):
            by_key.setdefault(entry.key, []).append(entry)
    factor = 1 + percent / 100
    changed: list[PriceListEntry] = []
    for key in sorted(by_key, key=lambda k: (k[0], k[1] or "", k[2] or "")):
        same_key = by_key[key]
        if any(entry.effective_from == effective_from for entry in same_key):
            raise Conflict(
                f"{key[0]} already has a {currency} price from {effective_from.isoformat()}.",
                field="effectiveFrom",
                hint="Edit that entry instead of scheduling a second change for the same day.",
            )
        base = _latest_on_or_before(same_key, effective_from)
        if base is None:
            continue  # the product is only priced later; nothing to raise yet
        changed.append(
            PriceListEntry(
                product_id=base.product_id,
                term=base.term,
                billing=base.billing,
                unit_price=Money(round_cents(base.unit_price.amount * factor), currency),
                effective_from=effective_from,
            )
        )
    return changed


@dataclass(frozen=True)
class Catalogue:
    products: Mapping[str, Product]
    price_list: tuple[PriceListEntry, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "products", dict(self.products))
        object.__setattr__(self, "price_list", tuple(self.price_list))
        for product in self.products.values():
            for referenced in filter(None, [product.add_on_of, *product.upgrade_targets]):
                if referenced not in self.products:
                    raise ValidationFailed(f"{product.name} refers to unknown product {referenced}.", field="productId")
        seen: set[tuple] = set()
        for entry in self.price_list:
            product = self.products.get(entry.product_id)
            if product is None:
                raise ValidationFailed(f"A price refers to unknown product {entry.product_id}.", field="productId")
            if (product.kind is ProductKind.PERPETUAL) != (entry.term is None):
                raise ValidationFailed(
                    f"{product.name}: perpetual products have one-time prices, subscriptions have term prices.",
                    field="term",
                )
            if product.kind is ProductKind.CSP_NCE and entry.term is Term.P1M:
                raise ValidationFailed(
                    f"{product.name}: a New Commerce monthly-term price is always the annual-term price + 20%; "
                    "it has no price of its own.",
                    field="term",
                    hint="Publish the annual-term (P1Y) price; the monthly term follows from it.",
                )
            identity = (*entry.key, entry.effective_from)
            if identity in seen:
                raise ValidationFailed(
                    f"{product.name} has two prices for the same term, billing and currency from "
                    f"{entry.effective_from.isoformat()}.",
                    field="effectiveFrom",
                )
            seen.add(identity)

    @classmethod
    def of(cls, products: Iterable[Product], price_list: Iterable[PriceListEntry] = ()) -> "Catalogue":
        return cls({product.id: product for product in products}, tuple(price_list))

    def product(self, product_id: str) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise NotFound(f"There is no product {product_id}.", field="productId")
        return product

    def add_ons_of(self, product_id: str) -> list[Product]:
        return [product for product in self.products.values() if product.add_on_of == product_id]

    def price_on(
        self,
        product: Product | str,
        term: Term | None,
        billing: Billing | None,
        on: date,
        *,
        currency: str = "EUR",
    ) -> Money:
        """The unit price valid on ``on`` (a Berlin calendar date).

        A New Commerce monthly-term price is the annual-term monthly-billing price × 1.20, rounded half-up to the
        cent (the catalogue refuses a P1M price of its own for them); a SaaS product's monthly price is its P1M entry.
        ``term`` and ``billing`` are ``None`` for the one-time price of a perpetual product.
        """
        product = self.product(product if isinstance(product, str) else product.id)
        explicit = _latest_on_or_before(
            (entry for entry in self.price_list if entry.key == (product.id, term, billing, currency)), on
        )
        if explicit is not None:
            return explicit.unit_price
        if term is Term.P1M and billing is Billing.MONTHLY:
            annual_term = _latest_on_or_before(
                (
                    entry
                    for entry in self.price_list
                    if entry.key == (product.id, Term.P1Y, Billing.MONTHLY, currency)
                ),
                on,
            )
            if annual_term is not None:
                return Money(round_cents(annual_term.unit_price.amount * MONTHLY_TERM_SURCHARGE), currency)
        offer = f"{term.value}/{billing.value}" if term and billing else "one-time"
        raise NotFound(
            f"{product.name} has no {offer} price in {currency} on {on.isoformat()}.",
            field="productId",
            hint="Choose another term or billing frequency, or ask the distributor to publish a price.",
        )

    def __call__(self, product_id: str, term: Term, billing: Billing, on: date, *, currency: str = "EUR") -> Money:
        """A catalogue is itself a ``PriceLookup``."""
        return self.price_on(product_id, term, billing, on, currency=currency)

    def with_price_entries(self, entries: Iterable[PriceListEntry]) -> "Catalogue":
        return Catalogue(self.products, self.price_list + tuple(entries))

    def with_price_change(
        self,
        *,
        currency: str,
        percent: Decimal,
        effective_from: date,
        product_ids: Iterable[str] | None = None,
    ) -> "Catalogue":
        """The catalogue with a price change announced from ``effective_from`` for ``product_ids``. Without them, the
        change is Microsoft's (such as EUR +11% from 2023-04-01): it applies to every product ordered through CSP (New
        Commerce, legacy and perpetual licences) and never to a reseller SaaS product, whose own vendor prices it; that
        changes only when named. A named product must exist."""
        if product_ids is None:
            product_ids = microsoft_product_ids(self.products.values())
        else:
            product_ids = [self.product(product_id).id for product_id in product_ids]
        return self.with_price_entries(
            schedule_price_change(
                self.price_list,
                currency=currency,
                percent=percent,
                effective_from=effective_from,
                product_ids=product_ids,
            )
        )


def microsoft_product_ids(products: Iterable[Product]) -> list[str]:
    """The products Microsoft prices: those ordered through CSP, not the resellers' SaaS products."""
    return [product.id for product in products if product.kind.is_ordered_through_csp]


# --- demo catalogue ---------------------------------------------------------------------

M365_BUSINESS_BASIC = "prd_m365_business_basic"
M365_BUSINESS_STANDARD = "prd_m365_business_standard"
M365_BUSINESS_PREMIUM = "prd_m365_business_premium"
O365_E3 = "prd_o365_e3"
O365_E3_LEGACY = "prd_o365_e3_legacy"
EXCHANGE_ONLINE_PLAN_1 = "prd_exchange_online_plan_1"
DEFENDER_FOR_OFFICE_365_P1 = "prd_defender_o365_p1"
WINDOWS_SERVER_2022_STANDARD = "prd_windows_server_2022_standard_16core"
SIGNATURES_FOR_M365 = "prd_signatures_m365"
SIGNATURES_FOR_GOOGLE_WORKSPACE = "prd_signatures_google_workspace"

DEMO_PRICES_FROM = date(2022, 3, 1)  # New Commerce list prices after Microsoft's March 2022 change
APRIL_2023_INCREASE_FROM = date(2023, 4, 1)  # Microsoft: EUR prices +11% from 2023-04-01
APRIL_2023_EUR_INCREASE_PERCENT = Decimal("11")


def demo_catalogue(*, include_april_2023_increase: bool = True) -> Catalogue:
    """A small realistic catalogue (EUR list prices) for demo data and tests."""
    products = [
        Product(
            M365_BUSINESS_BASIC,
            "Microsoft 365 Business Basic",
            ProductCategory.MICROSOFT_365,
            ProductKind.CSP_NCE,
            upgrade_targets=frozenset({M365_BUSINESS_STANDARD, M365_BUSINESS_PREMIUM, O365_E3}),
        ),
        Product(
            M365_BUSINESS_STANDARD,
            "Microsoft 365 Business Standard",
            ProductCategory.MICROSOFT_365,
            ProductKind.CSP_NCE,
            upgrade_targets=frozenset({M365_BUSINESS_PREMIUM, O365_E3}),
        ),
        Product(
            M365_BUSINESS_PREMIUM,
            "Microsoft 365 Business Premium",
            ProductCategory.MICROSOFT_365,
            ProductKind.CSP_NCE,
            allows_hosted_desktop=True,
        ),
        Product(O365_E3, "Office 365 E3", ProductCategory.OFFICE_365, ProductKind.CSP_NCE, allows_hosted_desktop=True),
        Product(
            O365_E3_LEGACY,
            "Office 365 E3 (legacy CSP)",
            ProductCategory.OFFICE_365,
            ProductKind.CSP_LEGACY,
            allows_hosted_desktop=True,
        ),
        Product(
            EXCHANGE_ONLINE_PLAN_1,
            "Exchange Online (Plan 1)",
            ProductCategory.EXCHANGE,
            ProductKind.CSP_NCE,
            upgrade_targets=frozenset({M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, M365_BUSINESS_PREMIUM, O365_E3}),
        ),
        Product(
            DEFENDER_FOR_OFFICE_365_P1,
            "Microsoft Defender for Office 365 (Plan 1)",
            ProductCategory.SECURITY,
            ProductKind.CSP_NCE,
            add_on_of=M365_BUSINESS_STANDARD,
        ),
        Product(
            WINDOWS_SERVER_2022_STANDARD,
            "Windows Server 2022 Standard - 16 Core License Pack",
            ProductCategory.WINDOWS_SERVER,
            ProductKind.PERPETUAL,
        ),
        Product(
            SIGNATURES_FOR_M365, "Email Signatures for Microsoft 365", ProductCategory.EMAIL_SIGNATURE, ProductKind.SAAS
        ),
        Product(
            SIGNATURES_FOR_GOOGLE_WORKSPACE,
            "Email Signatures for Google Workspace",
            ProductCategory.EMAIL_SIGNATURE,
            ProductKind.SAAS,
        ),
    ]
    # Per seat per month on an annual term; upfront annual billing is twelve months' worth.
    # Monthly-term prices are derived (+20%) unless listed explicitly.
    annual_term_monthly_prices = {
        M365_BUSINESS_BASIC: "5.10",
        M365_BUSINESS_STANDARD: "10.50",
        M365_BUSINESS_PREMIUM: "18.60",
        O365_E3: "19.70",
        O365_E3_LEGACY: "19.70",
        EXCHANGE_ONLINE_PLAN_1: "3.40",
        DEFENDER_FOR_OFFICE_365_P1: "1.70",
    }
    entries: list[PriceListEntry] = []
    for product_id, monthly in annual_term_monthly_prices.items():
        entries.append(PriceListEntry(product_id, Term.P1Y, Billing.MONTHLY, Money.of(monthly), DEMO_PRICES_FROM))
        entries.append(
            PriceListEntry(product_id, Term.P1Y, Billing.ANNUAL, Money.of(monthly) * 12, DEMO_PRICES_FROM)
        )
    entries.append(PriceListEntry(WINDOWS_SERVER_2022_STANDARD, None, None, Money.of("976.00"), DEMO_PRICES_FROM))
    for product_id in (SIGNATURES_FOR_M365, SIGNATURES_FOR_GOOGLE_WORKSPACE):
        entries.append(PriceListEntry(product_id, Term.P1M, Billing.MONTHLY, Money.of("1.25"), DEMO_PRICES_FROM))
    catalogue = Catalogue.of(products, entries)
    if include_april_2023_increase:
        catalogue = catalogue.with_price_change(
            currency="EUR",
            percent=APRIL_2023_EUR_INCREASE_PERCENT,
            effective_from=APRIL_2023_INCREASE_FROM,
        )
    return catalogue
