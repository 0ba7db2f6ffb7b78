"""A use case that lost an optimistic-locking race is repeated a bounded number of times, with jittered waits."""

from __future__ import annotations

import pytest

from domain.errors import ConcurrentUpdate, Conflict
from domain.services.retry import retry_on_concurrent_update


def failing(times: int, error: Exception):
    calls = []

    def operation():
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return operation, calls


def test_a_concurrent_update_is_repeated_until_it_succeeds():
    operation, calls = failing(3, ConcurrentUpdate("changed"))
    waits: list[float] = []
    assert retry_on_concurrent_update(operation, sleep=waits.append, jitter=lambda: 1.0) == "done"
    assert len(calls) == 4
    assert waits == [0.025, 0.05, 0.1]  # the bound doubles per attempt; jitter 1.0 waits the whole bound


def test_waits_are_a_random_share_of_a_capped_bound():
    operation, _ = failing(7, ConcurrentUpdate("changed"))
    waits: list[float] = []
    retry_on_concurrent_update(operation, attempts=8, max_delay=0.05, sleep=waits.append, jitter=lambda: 0.5)
    assert waits == [0.0125, 0.025, 0.025, 0.025, 0.025, 0.025, 0.025]


def test_after_the_last_attempt_the_conflict_reaches_the_caller():
    operation, calls = failing(10, ConcurrentUpdate("changed"))
    with pytest.raises(ConcurrentUpdate):
        retry_on_concurrent_update(operation, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_other_conflicts_are_not_repeated():
    operation, calls = failing(1, Conflict("The charge was booked already."))
    with pytest.raises(Conflict):
        retry_on_concurrent_update(operation, sleep=lambda _: None)
    assert len(calls) == 1
