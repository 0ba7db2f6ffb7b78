"""Strawberry evaluates and resolves each plain field type once, not once per field.

Every field of a Strawberry type carries its own `StrawberryAnnotation`, and each evaluates its annotation (walking
it for forward references) and resolves the Python type to a GraphQL one (`str`, `Optional[Customer]`,
`list[InvoiceLine]`, ...) by a chain of checks: some 2,000 of each while the schema is built, most of them of types
already seen. Strawberry keeps the results per annotation only. `install` keeps them per type as well, for the types
whose evaluation and resolution depend on nothing but the type itself:

- a class without type parameters (`str`, `datetime`, an enum, a Strawberry type), or a `NewType` (`strawberry.ID`);
- `list[X]` / `List[X]` and `Optional[X]` / `X | None` of such a type.

Anything else (unions of two or more types, which typing compares regardless of order; generics; `Annotated`;
forward references; lazy types) is evaluated and resolved by Strawberry as before. About 20 ms of a cold start
(bench/coldstart.py); tests/unit/test_annotation_cache.py shows the schema is the same without it.
"""

from __future__ import annotations

import types
import typing
from enum import Enum

NONE = type(None)
_evaluated: dict[object, object] = {}
_resolved: dict[object, object] = {}


def cacheable(annotation: object) -> bool:
    """Whether resolving `annotation` depends on it alone, and equal annotations are the same type."""
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):  # resolving an undecorated enum decorates it: not before it has been
            return "__strawberry_definition__" in vars(annotation)
        return not getattr(annotation, "__parameters__", ())
    if isinstance(annotation, typing.NewType):
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and type(annotation) in (types.GenericAlias, typing._GenericAlias):  # list[X], typing.List[X]
        return len(args) == 1 and cacheable(args[0])
    if origin in (typing.Union, types.UnionType):  # Optional[X], X | None: one type and None
        members = [arg for arg in args if arg is not NONE]
        return len(args) == 2 and len(members) == 1 and cacheable(members[0])
    return False


def _once_per_type(method, results: dict, argument):
    """`method(self)` or `method(self, value)`, kept in `results` by the value (`argument(self, value)`) if cacheable."""

    def once(self, *value):
        key = argument(self, *value)
        try:
            return results[key]
        except (KeyError, TypeError):  # not yet seen, or not hashable
            pass
        keep = cacheable(key)  # before resolving, which may decorate an enum
        result = method(self, *value)
        if keep:
            results[key] = result
        return result

    once.__wrapped__ = method
    return once


def install() -> bool:
    """From now on, Strawberry evaluates and resolves a cacheable type once per process. False (nothing changed) if
    this Strawberry has no `StrawberryAnnotation.evaluate` and `_resolve_evaled_type` to wrap."""
    from strawberry.annotation import StrawberryAnnotation

    methods = {name: StrawberryAnnotation.__dict__.get(name) for name in ("evaluate", "_resolve_evaled_type")}
    if any(method is None for method in methods.values()):
        return False
    if all(hasattr(method, "__wrapped__") for method in methods.values()):
        return True
    StrawberryAnnotation.evaluate = _once_per_type(methods["evaluate"], _evaluated, lambda self: self.raw_annotation)
    StrawberryAnnotation._resolve_evaled_type = _once_per_type(methods["_resolve_evaled_type"], _resolved,
                                                               lambda self, evaled_type: evaled_type)
    return True
