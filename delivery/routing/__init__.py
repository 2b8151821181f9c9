"""Which route a message takes: the blueprint's routing matrix, circuit breakers per route
and failover that respects data residency."""

from .breaker import BreakerState, CircuitBreaker
from .matrix import (
    PRIMARY_VOLUME_LIMIT,
    NoRouteAvailable,
    Route,
    RouteDecision,
    RoutingMatrix,
    choose_route,
    preferred_route,
)

__all__ = [
    "PRIMARY_VOLUME_LIMIT",
    "BreakerState",
    "CircuitBreaker",
    "NoRouteAvailable",
    "Route",
    "RouteDecision",
    "RoutingMatrix",
    "choose_route",
    "preferred_route",
]
