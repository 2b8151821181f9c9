"""A circuit breaker per route: closed (traffic flows), open (no traffic until a cool-down
has passed), half-open (a few probe sends decide whether it closes again).

It opens after ``failure_threshold`` consecutive failures (timeouts count as failures).
Time is passed in (``now``, monotonic seconds), so the breaker is pure and testable; the
worker keeps one per route in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cool_down_seconds: float = 30.0
    half_open_probes: int = 1
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    _probes_in_flight: int = field(default=0, repr=False)

    def allows(self, now: float) -> bool:
        """Whether a send may go through now (a half-open breaker admits its probes)."""
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.cool_down_seconds:
            self.state, self._probes_in_flight = BreakerState.HALF_OPEN, 0
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN and self._probes_in_flight < self.half_open_probes:
            self._probes_in_flight += 1
            return True
        return False

    def healthy(self, now: float) -> bool:
        """Whether the route may be chosen now, without taking a probe slot."""
        if self.state is BreakerState.OPEN:
            return now - self.opened_at >= self.cool_down_seconds
        if self.state is BreakerState.HALF_OPEN:
            return self._probes_in_flight < self.half_open_probes
        return True

    def record_success(self) -> None:
        self.state, self.consecutive_failures, self._probes_in_flight = BreakerState.CLOSED, 0, 0

    def record_failure(self, now: float) -> None:
        self.consecutive_failures += 1
        if (
            self.state is BreakerState.HALF_OPEN
            or self.consecutive_failures >= self.failure_threshold
        ):
            self.state, self.opened_at, self._probes_in_flight = BreakerState.OPEN, now, 0
