"""One-off tasks after a deploy that added a sparse index: every stored item of a kind is read page by page and, where
it belongs on the new index, saved again (its repository writes the index attributes). Run by hand, never scheduled
(`python -m infra.jobs <task>`); running one again saves the same items again and changes nothing else."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, TypeVar

from domain.errors import Conflict
from domain.ports import Page, UnitOfWork

T = TypeVar("T")


@dataclass
class ResaveSummary:
    read: int = 0  # items read
    indexed: int = 0  # saved again, so on the index now
    conflicts: int = 0  # changed meanwhile (that change saved it): nothing to do

    def as_dict(self) -> dict:
        return asdict(self)


def resave_all(
    uow_factory: Callable[[], UnitOfWork],
    list_page: Callable[[UnitOfWork, str | None], Page[T]],
    save: Callable[[UnitOfWork, T], bool],
    summary: ResaveSummary | None = None,
) -> ResaveSummary:
    """Pages through ``list_page`` (a unit of work, a cursor) and calls ``save`` for each item in a unit of work of its
    own, committed if ``save`` registered a write (returns True). A conflict counts and goes on."""
    summary = summary or ResaveSummary()
    cursor: str | None = None
    while True:
        page = list_page(uow_factory(), cursor)
        for item in page.items:
            summary.read += 1
            uow = uow_factory()
            try:
                with uow:
                    if not save(uow, item):
                        continue
                    uow.commit()
            except Conflict:
                summary.conflicts += 1
                continue
            summary.indexed += 1
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor
