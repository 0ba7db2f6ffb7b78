"""Crash a scheduled job mid-run, as a Lambda timeout would, to test that a re-run resumes it; or have a business rule
refuse one of its due items, to test that the item fails alone."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import pytest


@contextmanager
def crash_after_commits(k: int) -> Iterator[None]:
    """Inside the block, the (k+1)-th unit-of-work commit and every later one raise; the block must crash."""
    with _crash_at_commit(k, written=False):
        yield


@contextmanager
def crash_after_commit(k: int) -> Iterator[None]:
    """Inside the block, the (k+1)-th unit-of-work commit is written, then the Lambda dies before anything else happens."""
    with _crash_at_commit(k, written=True):
        yield


@contextmanager
def _crash_at_commit(k: int, *, written: bool) -> Iterator[None]:
    """The (k+1)-th commit raises "Lambda timed out", after its writes if `written`, else instead of them."""
    import infra.dynamo.unit_of_work as unit_of_work

    original = unit_of_work.DynamoUnitOfWork.commit
    commits = 0

    def crashing_commit(self):
        nonlocal commits
        if commits >= k:
            if written:
                original(self)
            raise RuntimeError("Lambda timed out")
        commits += 1
        return original(self)

    unit_of_work.DynamoUnitOfWork.commit = crashing_commit
    try:
        with pytest.raises(RuntimeError, match="Lambda timed out"):
            yield
    finally:
        unit_of_work.DynamoUnitOfWork.commit = original


def collide_first_commit(monkeypatch) -> list[int]:
    """The next unit-of-work commit fails as if another writer had changed an item meanwhile (nothing written); the
    ones after it commit. Returns the list of commits attempted (one entry each)."""
    from domain.errors import ConcurrentUpdate
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    real_commit, commits = DynamoUnitOfWork.commit, []

    def collides_once(self):
        commits.append(1)
        if len(commits) == 1:
            self._pending = []
            raise ConcurrentUpdate("The object was changed by someone else in the meantime.")
        return real_commit(self)

    monkeypatch.setattr(DynamoUnitOfWork, "commit", collides_once)
    return commits


def refuse_one(monkeypatch, owner: object, name: str, refusal: Callable[..., Exception | None]) -> Callable:
    """``owner.name`` (a function, or a method of a class) raises what ``refusal`` returns for its arguments, and runs as
    before when it returns None: a rule refusing one due item of a job (its "poison"). Returns the real one, to put
    back once the test has the rule pass."""
    real = getattr(owner, name)

    def unless_refused(*args, **kwargs):
        error = refusal(*args, **kwargs)
        if error is not None:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, unless_refused)
    return real
