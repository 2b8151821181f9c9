"""Pure pieces of the API's resilience and model fallbacks: breakers, the fault answer of
unexpected errors, the champion cache when MLflow fails, the send-time heuristic, the
rate-limit rounding."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import redis

from models.tracking import NoChampion
from serving.limits import retry_after_seconds
from serving.modelserving.champions import ChampionCache
from serving.modelserving.send_time import Contact, cohort_hours, heuristic, next_at_hour
from serving.resilience.breakers import Breakers, DependencyDown
from serving.resilience.middleware import fault_answer

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_breaker_opens_after_repeated_failures_and_probes_after_its_cool_down() -> None:
    clock = Clock()
    breakers = Breakers(failure_threshold=2, cool_down_seconds=30, clock=clock)
    for _ in range(2):
        with (
            pytest.raises(psycopg.OperationalError),
            breakers.guard("postgres:eu", (psycopg.OperationalError,)),
        ):
            raise psycopg.OperationalError("down")  # fmt: skip
    with pytest.raises(DependencyDown) as refused:
        breakers.admit("postgres:eu")
    assert refused.value.retry_after == pytest.approx(30)
    assert breakers.states() == {"postgres:eu": "open"}
    clock.now += 31
    with breakers.guard("postgres:eu", (psycopg.OperationalError,)):
        pass  # the probe succeeds
    assert breakers.states() == {"postgres:eu": "closed"}


def test_errors_that_are_not_outages_do_not_open_a_breaker() -> None:
    breakers = Breakers(failure_threshold=1)
    with pytest.raises(KeyError), breakers.guard("redis", (redis.ConnectionError,)):
        raise KeyError("a bug, not an outage")
    breakers.admit("redis")


def test_unhandled_errors_are_503_for_outages_and_500_only_for_faults() -> None:
    assert fault_answer(psycopg.OperationalError("x"))[:2] == (503, "database_unavailable")
    assert fault_answer(redis.ConnectionError("x"))[:2] == (503, "redis_unavailable")
    assert fault_answer(DependencyDown("mlflow", 12))[:2] == (503, "dependency_unavailable")
    assert fault_answer(ZeroDivisionError())[:2] == (500, "internal_error")


class Registry:
    """A loader standing in for MLflow: answers, fails, or has no champion, as told."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.version = "1"
        self.calls = 0

    def __call__(self, model: str, region: str, known: str | None) -> tuple[Any, str]:
        self.calls += 1
        if self.mode == "down":
            raise ConnectionError("connection refused")
        if self.mode == "none":
            raise NoChampion(f"{model}_{region}")
        if known == self.version:
            return None, self.version
        return {"model": model, "version": self.version}, self.version


def test_the_champion_is_loaded_once_and_kept_when_mlflow_goes_down() -> None:
    clock, registry = Clock(), Registry()
    cache = ChampionCache(registry, Breakers(clock=clock), refresh_seconds=60, clock=clock)

    first = cache.lookup("send_time", "eu")
    assert first.champion is not None and first.champion.version == "1" and not first.degraded
    cache.lookup("send_time", "eu")
    assert registry.calls == 1  # loaded once

    registry.mode = "down"
    clock.now += 61
    cache.lookup("send_time", "eu")  # starts a background refresh, answers at once
    _settle(cache)
    later = cache.lookup("send_time", "eu")
    assert later.champion is not None and later.champion.version == "1"
    assert later.degraded and "serving version 1" in (later.reason or "")

    registry.mode, registry.version = "ok", "2"
    clock.now += 61
    cache.lookup("send_time", "eu")
    _settle(cache)
    recovered = cache.lookup("send_time", "eu")
    assert recovered.champion is not None and recovered.champion.version == "2"
    assert not recovered.degraded


def test_without_a_champion_or_a_registry_the_lookup_says_why() -> None:
    registry = Registry()
    registry.mode = "none"
    none = ChampionCache(registry, Breakers()).lookup("personalization", "na")
    off = ChampionCache(None, Breakers()).lookup("personalization", "na")
    assert none.champion is None and not none.degraded and "no @champion" in (none.reason or "")
    assert off.champion is None and "MLFLOW_TRACKING_URI" in (off.reason or "")


def _settle(cache: ChampionCache) -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("load-"):
            thread.join(timeout=5)


def test_the_heuristic_takes_the_cohort_s_most_common_best_hour() -> None:
    zones, overall = cohort_hours(
        [
            ("Europe/Berlin", 17, 5, 0.3),
            ("Europe/Berlin", 8, 2, 0.1),
            ("America/New_York", 14, 9, 0.2),
        ]  # fmt: skip
    )
    berlin = heuristic(Contact(uuid.uuid4(), "Europe/Berlin"), zones, overall, NOW)
    tokyo = heuristic(Contact(uuid.uuid4(), "Asia/Tokyo"), zones, overall, NOW)
    lonely = heuristic(Contact(uuid.uuid4(), "Asia/Tokyo"), {}, None, NOW)

    assert (berlin.best_hour_utc, berlin.best_local_hour, berlin.open_probability) == (17, 18, 0.3)
    assert (tokyo.best_hour_utc, tokyo.open_probability) == (14, 0.2)  # everyone's best
    assert (lonely.best_local_hour, lonely.best_hour_utc, lonely.open_probability) == (10, 1, None)
    assert all(a.source == "heuristic" and a.fallback for a in (berlin, tokyo, lonely))
    assert berlin.next_send_at == datetime(2026, 11, 28, 17, tzinfo=UTC)


def test_the_next_send_time_is_always_ahead() -> None:
    assert next_at_hour(15, NOW) == datetime(2026, 11, 29, 15, tzinfo=UTC)
    assert next_at_hour(16, NOW) == datetime(2026, 11, 28, 16, tzinfo=UTC)


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    assert [retry_after_seconds(ms) for ms in (1, 999, 1000, 1001, 59_000)] == [1, 1, 1, 2, 59]
