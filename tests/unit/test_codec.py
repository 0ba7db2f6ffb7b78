"""infra/codec.py: domain objects to stored JSON and back, for every kind of field the domain uses."""

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Optional

from domain.money import Money
from infra.codec import decode, encode


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Leaf:
    at: datetime
    on: date
    amount: Money
    rate: Decimal
    colour: Colour


@dataclass(frozen=True)
class Node:  # contains itself: decoders are resolved lazily
    name: str
    children: tuple["Node", ...] = ()


@dataclass(frozen=True)
class Everything:
    leaf: Leaf
    leaves: tuple[Leaf, ...]
    tags: frozenset[str]
    counts: dict[str, int]
    by_colour: dict[Colour, Money]
    maybe: Optional[Leaf]
    maybe_too: Leaf | None
    numbers: list[int]
    anything: Any
    tree: Node
    flag: bool = False
    added_later: str = "default"
    extras: tuple[str, ...] = field(default_factory=tuple)


def sample() -> Everything:
    leaf = Leaf(datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc), date(2026, 2, 28), Money.of("105.00"), Decimal("0.19"), Colour.RED)
    return Everything(
        leaf=leaf, leaves=(leaf, Leaf(leaf.at, date(2024, 2, 29), Money.of("-3.10"), Decimal("12.5"), Colour.BLUE)),
        tags=frozenset({"b", "a"}), counts={"seats": 20}, by_colour={Colour.BLUE: Money.of("0.01")}, maybe=None, maybe_too=leaf,
        numbers=[3, 1, 2], anything={"free": ["form"]}, tree=Node("root", (Node("child", (Node("grandchild"),)),)), flag=True,
    )


def test_round_trip_keeps_every_value():
    value = sample()
    stored = encode(value)
    assert stored["leaf"]["amount"] == {"cents": 10500, "currency": "EUR"}
    assert stored["leaf"]["at"] == "2026-11-23T09:30:00+00:00" and stored["leaf"]["on"] == "2026-02-28"
    assert stored["tags"] == ["a", "b"] and stored["by_colour"] == {"blue": {"cents": 1, "currency": "EUR"}}
    assert decode(Everything, stored) == value


def test_fields_missing_from_an_older_item_take_their_defaults_and_none_stays_none():
    stored = encode(sample())
    del stored["added_later"], stored["extras"]
    decoded = decode(Everything, stored)
    assert decoded.added_later == "default" and decoded.extras == ()
    assert decode(Everything, None) is None and decode(Optional[Leaf], None) is None
    stored["leaves"] = [None]
    assert decode(Everything, stored).leaves == (None,)
