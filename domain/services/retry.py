"""Repeating a use case that lost an optimistic-locking race, a bounded number of times."""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from domain.errors import ConcurrentUpdate

R = TypeVar("R")

ATTEMPTS = 10
BASE_DELAY_SECONDS = 0.025
MAX_DELAY_SECONDS = 1.0


def retry_on_concurrent_update(
    operation: Callable[[], R],
    *,
    attempts: int = ATTEMPTS,
    base_delay: float = BASE_DELAY_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> R:
    """Run ``operation``; after a ``ConcurrentUpdate`` wait and run it again, at most ``attempts`` times in all.

    ``operation`` must read what it changes afresh on every run (a use case on a unit of work does), so a
    repeat applies the change to the winner's state. The wait is "full jitter" (a random time up to a bound
    that doubles per attempt): writers that collided spread out instead of colliding again in step.
    """
    for attempt in range(1, attempts):
        try:
            return operation()
        except ConcurrentUpdate:
            sleep(jitter() * min(max_delay, base_delay * 2 ** (attempt - 1)))
    return operation()  # the last attempt's conflict goes to the caller
