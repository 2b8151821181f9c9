"""Backoff with jitter, fallback after a few attempts, and a terminal failure at the end."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from delivery.retry import RetryPolicy, after_deferral

POLICY = RetryPolicy()


def test_delays_grow_exponentially_with_jitter_and_stay_within_bounds() -> None:
    rng = random.Random(3)
    for attempts, ceiling in ((1, timedelta(hours=2)), (2, timedelta(hours=4)),
                              (5, timedelta(hours=24))):  # fmt: skip
        delays = [after_deferral(attempts, POLICY, rng).delay for _ in range(500)]
        assert all(d is not None and POLICY.min_delay <= d <= ceiling for d in delays)
        mean = sum((d for d in delays if d), timedelta()) / len(delays)
        assert ceiling * 0.4 < mean < ceiling * 0.6  # full jitter: uniform below the ceiling


def test_the_fallback_route_after_two_attempts_and_failure_after_the_last() -> None:
    rng = random.Random(0)
    assert not after_deferral(1, POLICY, rng).use_fallback
    assert after_deferral(2, POLICY, rng).use_fallback
    final = after_deferral(POLICY.max_attempts, POLICY, rng)
    assert final.give_up and final.delay is None
    with pytest.raises(ValueError, match="at least 1"):
        after_deferral(0, POLICY, rng)


def test_the_first_delay_is_configurable() -> None:
    quick = RetryPolicy(first_delay=timedelta(seconds=10), min_delay=timedelta(seconds=1))
    delay = after_deferral(1, quick, random.Random(1)).delay
    assert delay is not None and timedelta(seconds=1) <= delay <= timedelta(seconds=10)
