"""Strawberry resolves each plain field type once (infra/annotation_cache.py): the same schema, fewer resolutions."""

import enum
import subprocess
import sys
import typing
from pathlib import Path

import strawberry

from infra import annotation_cache
from infra.annotation_cache import cacheable

ROOT = Path(__file__).resolve().parents[2]

SCHEMA_TEXT = """
import sys
from infra import annotation_cache
if sys.argv[1] == "without":
    annotation_cache.install = lambda: False
from schema import schema
print(min(len(annotation_cache._evaluated), len(annotation_cache._resolved)))
print(schema.as_str())
"""


def schema_text(mode: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-c", SCHEMA_TEXT, mode], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, text = result.stdout.split("\n", 1)
    return int(count), text


def test_the_schema_is_the_same_with_types_resolved_once_as_with_strawberry_alone():
    kept, with_cache = schema_text("with")
    none_kept, without = schema_text("without")
    assert (none_kept, kept > 300) == (0, True)
    assert with_cache == without
    assert with_cache == (ROOT / "schema.graphql").read_text()


@strawberry.type
class Customer:
    name: str


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"


class Plain(enum.Enum):
    ONE = "ONE"


T = typing.TypeVar("T")


@strawberry.type
class Box(typing.Generic[T]):
    item: T


def test_only_types_resolved_from_themselves_alone_are_kept():
    for annotation in (str, int, Customer, Colour, strawberry.ID, typing.Optional[Customer], Customer | None,
                       list[Customer], typing.List[str], typing.Optional[list[typing.Optional[str]]]):
        assert cacheable(annotation), annotation
    for annotation in (typing.Union[Customer, Colour], Customer | Colour | None, Box, Box[Customer], list[Box[str]],
                       typing.Annotated[str, "x"], typing.ForwardRef("Customer"), "Customer", T, Plain,
                       list[typing.Union[str, int]], tuple[str, ...], dict[str, str], typing.Optional["Customer"]):
        assert not cacheable(annotation), annotation


def test_installed_once_and_strawberry_evaluates_and_resolves_a_kept_type_from_the_cache():
    from strawberry.annotation import StrawberryAnnotation

    assert annotation_cache.install() is True and annotation_cache.install() is True
    assert StrawberryAnnotation.evaluate.__wrapped__ is not None
    assert StrawberryAnnotation._resolve_evaled_type.__wrapped__ is not None
    assert not hasattr(StrawberryAnnotation.evaluate.__wrapped__, "__wrapped__")

    @strawberry.type
    class Order:
        customer: typing.Optional[Customer]
        previous: typing.Optional[Customer]

    first, second = (field.type for field in Order.__strawberry_definition__.fields)
    assert first is second and first.of_type is Customer
    assert annotation_cache._resolved[typing.Optional[Customer]] is first
    evaluated = annotation_cache._evaluated[typing.Optional[Customer]]
    assert StrawberryAnnotation(typing.Optional[Customer]).evaluate() is evaluated
    assert StrawberryAnnotation(typing.Optional["Customer"], namespace=globals()).evaluate() == evaluated
    assert typing.Optional["Customer"] not in annotation_cache._evaluated  # a forward reference: evaluated each time
