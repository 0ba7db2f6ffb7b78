"""One due item of a scheduled job that a business rule refuses fails alone; the run goes on with the others.

Every job processes its due items one at a time, each in a unit of work of its own. A ``DomainError`` raised while
one is processed, its commit included (a subscription whose product has no price on its renewal date, a customer
that is gone), is that item's: nothing of it is written (its unit of work is left uncommitted), the error is logged
with the item's id, code and message, the id goes into the run summary's ``failed``, and the next item is processed.
The item stays due, so the next run (or a re-run once the cause is fixed) tries it again, and only it: what the run
did commit has left the due indexes. Any other exception (a bug, an AWS error after its retries, a Lambda timeout)
still ends the run, as a crash the next run resumes from. The job's entry point reports ``failed`` (``ItemsFailed``).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from typing import Iterator, Protocol

from domain.errors import DomainError

log = logging.getLogger(__name__)


class RunSummary(Protocol):
    failed: tuple[str, ...]  # ids of the due items a business rule refused, in the order they failed


def summary_dict(summary, *, leave_out: tuple[str, ...] = ()) -> dict:
    """A run summary (a dataclass) as the job's entry point returns and logs it, as JSON: dates as ISO text, tuples of
    ids as lists; the fields named in ``leave_out`` are not reported."""
    return {name: value.isoformat() if isinstance(value, date) else list(value) if isinstance(value, tuple) else value
            for name, value in asdict(summary).items() if name not in leave_out}


@dataclass
class DueItem:
    """What became of one due item inside ``due_item``: ``error`` is set when it failed."""

    id: str
    error: DomainError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@contextmanager
def due_item(summary: RunSummary, item_id: str) -> Iterator[DueItem]:
    """Process one due item in the block: a ``DomainError`` from it is recorded as the item's failure (logged, its id
    added to ``summary.failed`` once) and goes no further; every other exception propagates. Commit inside the block,
    so that nothing of a failed item is committed."""
    item = DueItem(item_id)
    try:
        yield item
    except DomainError as error:
        item.error = error
        log.error("due item %s failed and stays due: %s: %s", item_id, error.code.value, error.message)
        if item_id not in summary.failed:
            summary.failed += (item_id,)


class ItemsFailed(Exception):
    """Raised by a job's entry point after its run when due items failed, so that the invocation counts as failed
    (an alarm on the function's errors can fire); ``summary`` is the run's, ``failed`` among it."""

    def __init__(self, job: str, summary: dict) -> None:
        self.job, self.summary = job, summary
        failed = list(summary.get("failed", ()))
        super().__init__(
            f"{job} for {summary.get('run_date') or summary.get('month')}: {len(failed)} due item(s) failed and stay due: "
            f"{', '.join(failed)}. The log names each error; the run went on with the other due items. Once the cause is "
            "fixed, run the job again: it processes only what is still due."
        )
