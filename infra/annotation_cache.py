"""Strawberry resolves each plain field type once, not once per field.

Every field of a Strawberry type carries its own `StrawberryAnnotation`, and each resolves its Python type to a
GraphQL one (`str`, `Optional[Customer]`, `list[InvoiceLine]`, ...) by a chain of checks: about 2,000 resolutions
while the schema is built, most of them of types already seen. Strawberry keeps the result per annotation only.
`install` keeps it per type as well, for the types whose resolution depends on nothing but the type itself:

- a class without type parameters (`str`, `datetime`, an enum, a Strawberry type), or a `NewType` (`strawberry.ID`);
- `list[X]` / `List[X]` and `Optional[X]` / `X | None` of such a type.

Anything else (unions of two or more types, which typing compares regardless of order; generics; `Annotated`;
forward references; lazy types) is resolved by Strawberry as before. About 15 ms of a cold start
(bench/coldstart.py); tests/unit/test_annotation_cache.py shows the schema is the same without it.
"""

from __future__ import annotations

import types
import typing
from enum import Enum

NONE = type(None)
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


def install() -> bool:
    """From now on, Strawberry resolves a cacheable type once per process. False (nothing changed) if this Strawberry
    has no `StrawberryAnnotation._resolve_evaled_type` to wrap."""
    from strawberry.annotation import StrawberryAnnotation

    resolve = StrawberryAnnotation.__dict__.get("_resolve_evaled_type")
    if resolve is None or getattr(resolve, "__wrapped__", None) is not None:
        return getattr(resolve, "__wrapped__", None) is not None

    def _resolve_evaled_type(self, evaled_type):
        try:
            return _resolved[evaled_type]
        except (KeyError, TypeError):  # not yet resolved, or not hashable
            pass
        keep = cacheable(evaled_type)  # before resolving, which may decorate an enum
        result = resolve(self, evaled_type)
        if keep:
            _resolved[evaled_type] = result
        return result

    _resolve_evaled_type.__wrapped__ = resolve
    StrawberryAnnotation._resolve_evaled_type = _resolve_evaled_type
    return True
