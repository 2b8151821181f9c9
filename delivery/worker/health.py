"""Publishing a worker's circuit breakers to Redis (key scheme in
:mod:`warehouse.route_health`), so the dashboards can show route health across workers.

The worker calls :meth:`BreakerReporter.tick` about once a second: the breakers are read
in memory, and a report goes out when a state changed or every ``every`` seconds (the
report's TTL makes a dead worker's entry disappear). Publishing never fails a send: a
Redis error is logged once per outage and the next tick tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import redis

from delivery.routing import BreakerState, CircuitBreaker
from warehouse.route_health import (
    PUBLISH_EVERY_SECONDS,
    RouteState,
    WorkerReport,
    publish,
    withdraw,
)

log = logging.getLogger(__name__)


def effective_state(breaker: CircuitBreaker, now: float) -> str:
    """The state the next send would meet: an open breaker whose cool-down has passed is
    half-open (the breaker only moves there lazily, on the next send it sees)."""
    if breaker.state is BreakerState.OPEN and now - breaker.opened_at >= breaker.cool_down_seconds:
        return BreakerState.HALF_OPEN.value
    return breaker.state.value


class BreakerReporter:
    """Publishes one worker's breakers; every method is safe to call from any thread."""

    def __init__(
        self,
        worker_id: str,
        region: str,
        breakers: Mapping[str, CircuitBreaker],
        client: redis.Redis,
        prefix: str,
        *,
        every: float = PUBLISH_EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.worker_id, self.region = worker_id, region
        self.breakers, self.client, self.prefix, self.every = breakers, client, prefix, every
        self._monotonic, self._wall = monotonic, wall
        started = wall()
        self._seen: dict[str, tuple[str, float]] = {
            name: (effective_state(b, monotonic()), started) for name, b in breakers.items()
        }
        self._published: dict[str, str] | None = None
        self._published_at = -1e18
        self._failing = False
        # A tick still running in its thread when the worker stops must not publish after
        # the withdrawal: both hold the lock, and a withdrawn reporter stays silent.
        self._lock = threading.Lock()
        self._withdrawn = False

    def tick(self) -> bool:
        """Publish when a state changed or a report is due; whether a report went out."""
        with self._lock:
            return False if self._withdrawn else self._tick()

    def _tick(self) -> bool:
        now, wall = self._monotonic(), self._wall()
        states = {}
        for name, breaker in self.breakers.items():
            state = effective_state(breaker, now)
            if self._seen.get(name, ("", 0.0))[0] != state:
                self._seen[name] = (state, wall)
            states[name] = state
        if states == self._published and now - self._published_at < self.every:
            return False
        routes = tuple(
            RouteState(name, state, self.breakers[name].consecutive_failures, self._seen[name][1])
            for name, state in sorted(states.items())
        )
        report = WorkerReport(self.worker_id, self.region, wall, routes)
        try:
            publish(self.client, self.prefix, report)
        except redis.RedisError as exc:
            if not self._failing:
                log.warning("worker %s cannot publish route health: %s", self.worker_id, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("worker %s publishes route health again", self.worker_id)
        self._failing = False
        self._published, self._published_at = states, now
        return True

    def withdraw(self) -> None:
        """Remove this worker's report (it is stopping); a Redis error is only logged."""
        with self._lock:
            self._withdrawn = True
        try:
            withdraw(self.client, self.prefix, self.worker_id)
        except redis.RedisError as exc:
            log.warning("worker %s cannot withdraw its route health: %s", self.worker_id, exc)
