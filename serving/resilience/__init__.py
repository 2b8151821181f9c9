"""Keeping the API answering when what it depends on does not: circuit breakers around
PostgreSQL, Redis and MLflow (:mod:`.breakers`), a per-request time limit and a last-resort
fault handler (:mod:`.middleware`), and the Prometheus metrics that show both
(:mod:`.metrics`)."""

from .breakers import Breakers, DependencyDown
from .metrics import ApiMetrics
from .middleware import GuardMiddleware

__all__ = ["ApiMetrics", "Breakers", "DependencyDown", "GuardMiddleware"]
