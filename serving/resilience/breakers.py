"""Circuit breakers around the API's dependencies, one per dependency name.

Names are ``postgres:<cell>``, ``redis`` and ``mlflow``. Each is a
:class:`delivery.routing.CircuitBreaker` (closed, open, half-open; pure, time passed in)
behind a lock, since requests run on many threads. ``guard(name)`` wraps one call: an open
breaker refuses at once (:class:`DependencyDown`, answered 503 by the routes) instead of
letting every request wait for a connect timeout; a failure of the listed exception types
counts toward opening it, anything else (a bad query, a 404) does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from delivery.routing import CircuitBreaker
from delivery.routing.breaker import BreakerState

STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class DependencyDown(RuntimeError):
    """The breaker of ``name`` is open: the dependency failed repeatedly and is rested."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"{name} is failing; not tried again for {retry_after:.0f} s")
        self.name = name
        self.retry_after = retry_after


class Breakers:
    """Named circuit breakers, created on first use with the same thresholds."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cool_down_seconds = cool_down_seconds
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def _get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                failure_threshold=self.failure_threshold,
                cool_down_seconds=self.cool_down_seconds,
            )
            self._breakers[name] = breaker
        return breaker

    def admit(self, name: str) -> None:
        """Raise :class:`DependencyDown` unless a call to ``name`` may go through now."""
        now = self._clock()
        with self._lock:
            breaker = self._get(name)
            if breaker.allows(now):
                return
            remaining = breaker.cool_down_seconds - (now - breaker.opened_at)
        raise DependencyDown(name, max(remaining, 1.0))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._get(name).record_success()

    def failed(self, name: str) -> None:
        with self._lock:
            self._get(name).record_failure(self._clock())

    def is_open(self, name: str) -> bool:
        """Whether ``name`` is resting now (open and still cooling down)."""
        with self._lock:
            breaker = self._breakers.get(name)
            return breaker is not None and not breaker.healthy(self._clock())

    @contextmanager
    def guard(self, name: str, failures: tuple[type[BaseException], ...]) -> Iterator[None]:
        """Run the body as one call to ``name``; ``failures`` count toward opening."""
        self.admit(name)
        try:
            yield
        except failures:
            self.failed(name)
            raise
        except BaseException:
            self.succeeded(name)  # it answered (e.g. a constraint error): it is up
            raise
        self.succeeded(name)

    def states(self) -> dict[str, str]:
        """Every breaker's state by name (``closed``, ``half_open``, ``open``)."""
        now = self._clock()
        with self._lock:
            return {
                name: (
                    BreakerState.HALF_OPEN.value
                    if b.state is BreakerState.OPEN and b.healthy(now)
                    else b.state.value
                )
                for name, b in sorted(self._breakers.items())
            }
