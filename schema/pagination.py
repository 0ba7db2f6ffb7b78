"""Cursor connections. A cursor is an opaque, encoded DynamoDB LastEvaluatedKey."""

from typing import Callable, Generic, TypeVar

import strawberry

from domain.ports import Page

T = TypeVar("T")
D = TypeVar("D")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[D], convert: Callable[[D], T]) -> "Connection[T]":
        return cls(
            nodes=[convert(item) for item in page.items],
            page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
        )
