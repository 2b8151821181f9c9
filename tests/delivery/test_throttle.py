"""Shared token buckets on a real Redis, and the limits of a sending domain."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from delivery.throttle import (
    Take,
    ThrottlePolicy,
    TokenBuckets,
    adjust_rate_factor,
    domain_hourly_cap,
    hard_stop_reason,
    warmup_hourly_limit,
)

POLICY = ThrottlePolicy()


def test_a_bucket_grants_its_capacity_then_says_how_long_to_wait(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    buckets = TokenBuckets(redis_client, run_prefix)
    grants = [buckets.take("provider", "gmail", rate_per_second=5.0, capacity=3) for _ in range(4)]
    assert [g.granted for g in grants] == [True, True, True, False]
    assert 100 <= grants[-1].wait_ms <= 200  # one token at 5 a second
    time.sleep(grants[-1].wait_ms / 1000 + 0.05)
    assert buckets.take("provider", "gmail", 5.0, 3).granted
    assert redis_client.pttl(buckets.key("provider", "gmail")) > 0  # idle buckets expire


def test_concurrent_workers_never_take_more_than_the_bucket_holds(
    redis_url: str, run_prefix: str, redis_client: redis.Redis
) -> None:
    def worker(_: int) -> int:
        client = redis.Redis.from_url(redis_url)
        buckets = TokenBuckets(client, run_prefix)
        takes = [buckets.take("domain", "news.acme.example", 0.001, 20) for _ in range(50)]
        client.close()
        return sum(take.granted for take in takes)

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(worker, range(4))) == 20


def test_a_bucket_refuses_a_take_it_can_never_grant(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBuckets(redis_client, run_prefix).take("domain", "x", 0.0, 5)


def test_warm_up_grows_about_forty_percent_a_day_for_two_weeks() -> None:
    assert warmup_hourly_limit(0, POLICY) == 50
    assert warmup_hourly_limit(1.5, POLICY) == 70
    assert warmup_hourly_limit(13.9, POLICY) == int(50 * 1.4**13)
    assert warmup_hourly_limit(14, POLICY) is None


@pytest.mark.parametrize(
    ("age", "reputation", "cap"),
    [(30, 0.95, None), (30, 0.69, 100), (0, 0.5, 50), (30, None, None), (5, 0.9, 268)],
)
def test_the_hourly_cap_is_the_tighter_of_warm_up_and_reputation(
    age: float, reputation: float | None, cap: int | None
) -> None:
    assert domain_hourly_cap(age, reputation, POLICY) == cap


def test_rising_deferrals_halve_the_rate_and_calm_brings_it_back_slowly() -> None:
    factor = 1.0
    for _ in range(2):
        factor = adjust_rate_factor(factor, deferral_rate=0.12, policy=POLICY)
    assert factor == pytest.approx(0.25)
    for _ in range(3):
        factor = adjust_rate_factor(factor, deferral_rate=0.01, policy=POLICY)
    assert factor == pytest.approx(0.55)
    for _ in range(20):
        factor = adjust_rate_factor(factor, deferral_rate=0.5, policy=POLICY)
    assert factor == POLICY.min_rate_factor


def test_hard_stops_at_five_percent_bounces_or_a_tenth_of_a_percent_complaints() -> None:
    assert hard_stop_reason(1_000, 50, 0, POLICY) == "bounce rate 5.0% reached 5%"
    assert hard_stop_reason(1_000, 49, 0, POLICY) is None
    assert hard_stop_reason(1_000, 0, 1, POLICY) == "complaint rate 0.10% reached 0.1%"
    assert hard_stop_reason(150, 60, 5, POLICY) is None  # too few sends to judge


def test_a_message_takes_from_all_its_buckets_or_from_none(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    buckets = TokenBuckets(redis_client, run_prefix)
    provider = Take("provider", "yahoo", 0.001, 3)
    domain = Take("domain", "a.example", 0.001, 1)
    assert buckets.take_all([provider, domain]).granted
    refused = buckets.take_all([provider, domain])  # the domain is empty
    assert not refused.granted and refused.wait_ms > 0
    # The provider kept the token the refused message did not use: two are left.
    grants = buckets.take_many([[provider]] * 3)
    assert [g.granted for g in grants] == [True, True, False]
