"""Money as Decimal with an explicit currency, rounded half-up to cents once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def share_cents(total: Decimal, exact_parts: list[Decimal]) -> list[Decimal]:
    """``total`` (whole cents, rounded once) shared over parts in proportion to ``exact_parts`` (not rounded, not
    negative) by the largest remainder: each part gets its exact amount cut to the cent, and the cents left over go one
    each to the parts with the largest cut-off remainders, ties in the order given. The shares add up to ``total``
    exactly (95.00 over three thirds: 31.67, 31.67, 31.66).

    The shares are not each rounded half-up: a part's share may be a cent below or above its own amount rounded half-up
    (the total is what is rounded half-up, once). A negative part is refused (``ValueError``): the largest remainder
    is defined for parts of one sign only, and a report's parts are never negative."""
    if any(part < 0 for part in exact_parts):
        raise ValueError(f"share_cents takes parts that are not negative, not {[str(p) for p in exact_parts]}")
    exact_sum = sum(exact_parts, Decimal(0))
    if exact_sum == 0:
        return [Decimal("0.00") for _ in exact_parts]
    scaled = [part * total / exact_sum for part in exact_parts]  # proportional shares of the rounded total
    floors = [(share / CENT).to_integral_value(rounding=ROUND_FLOOR) * CENT for share in scaled]
    left = int((total - sum(floors, Decimal(0))) / CENT)
    by_remainder = sorted(range(len(scaled)), key=lambda i: -(scaled[i] - floors[i]))  # stable: ties keep their order
    for i in by_remainder[:left]:
        floors[i] += CENT
    return floors


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "EUR"

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str = "EUR") -> "Money":
        return cls(Decimal(str(amount)), currency)

    @classmethod
    def from_cents(cls, cents: int, currency: str = "EUR") -> "Money":
        return cls(Decimal(cents).scaleb(-2), currency)

    @property
    def cents(self) -> int:
        return int(round_cents(self.amount) * 100)

    def rounded(self) -> "Money":
        return Money(round_cents(self.amount), self.currency)

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> "Money":
        return Money(self.amount * Decimal(factor), self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {round_cents(self.amount)}"
