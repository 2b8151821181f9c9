"""The API's Prometheus metrics, in a registry of the app's own (never the global one, so
several apps in one process, as in tests, do not collide).

- ``postwise_api_requests_total{route, method, status}``: answered requests; ``route`` is the
  route's path template (``/v1/send-time/{contact_id}``), ``<unmatched>`` for no route.
- ``postwise_api_request_duration_seconds{route, method}``: latency histogram.
- ``postwise_api_rate_limited_total{scope}``: requests refused with 429, by the limit that
  refused them (``key``, ``org``, ``login``).
- ``postwise_api_breaker_state{dependency}``: 0 closed, 1 half-open, 2 open.
- ``postwise_api_model_answers_total{endpoint, source}``: model-endpoint answers by where
  they came from (``scores``, ``model``, ``heuristic``, ``uniform``).
- ``postwise_api_timeouts_total``: requests answered 504 by the time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .breakers import Breakers

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


class _BreakerCollector(Collector):
    """Reads the breakers' states at scrape time."""

    def __init__(self, states: Callable[[], dict[str, str]]) -> None:
        self._states = states

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "postwise_api_breaker_state",
            "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open",
            labels=["dependency"],
        )
        for name, state in self._states().items():
            family.add_metric([name], BREAKER_VALUES[state])
        yield family


class ApiMetrics:
    """The counters and histograms of one API app."""

    def __init__(self, breakers: Breakers) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "postwise_api_requests",
            "Requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "postwise_api_request_duration_seconds",
            "Time to answer a request, by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "postwise_api_rate_limited",
            "Requests refused by a rate limit, by the limit's scope",
            ["scope"],
            registry=self.registry,
        )
        self.model_answers = Counter(
            "postwise_api_model_answers",
            "Model endpoint answers by endpoint and source",
            ["endpoint", "source"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "postwise_api_timeouts",
            "Requests answered 504 because they ran out of time",
            registry=self.registry,
        )
        self.registry.register(_BreakerCollector(breakers.states))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
