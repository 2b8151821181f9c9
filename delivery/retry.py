"""When to try a deferred message again, and when to give up or change route.

Exponential backoff with full jitter: attempt ``n`` (1-based, the one that just failed)
waits a random time up to ``first_delay * factor**(n-1)``, at least ``min_delay`` and at
most ``max_delay``. After ``fallback_after`` attempts on its route a message moves to the
fallback route; after ``max_attempts`` it fails for good (a terminal state).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(hours=2)
    factor: float = 2.0
    min_delay: timedelta = timedelta(minutes=5)
    max_delay: timedelta = timedelta(hours=24)
    fallback_after: int = 2
    max_attempts: int = 6


@dataclass(frozen=True)
class RetryDecision:
    give_up: bool
    delay: timedelta | None
    use_fallback: bool


def after_deferral(attempts: int, policy: RetryPolicy, rng: random.Random) -> RetryDecision:
    """What to do with a message whose ``attempts``-th attempt was deferred."""
    if attempts < 1:
        raise ValueError("attempts counts the attempt that just failed: at least 1")
    if attempts >= policy.max_attempts:
        return RetryDecision(give_up=True, delay=None, use_fallback=False)
    ceiling = min(
        policy.max_delay.total_seconds(),
        policy.first_delay.total_seconds() * policy.factor ** (attempts - 1),
    )
    floor = min(policy.min_delay.total_seconds(), ceiling)
    delay = timedelta(seconds=rng.uniform(floor, ceiling))
    return RetryDecision(False, delay, use_fallback=attempts >= policy.fallback_after)
