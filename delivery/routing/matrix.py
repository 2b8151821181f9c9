"""The routing matrix, as the blueprint draws it, with failover inside residency rules.

A sender whose volume over the last hour is under ``primary_volume_limit`` (1,000) sends
through the primary ESP; above it through the secondary cluster, where EU recipients go to
the Frankfurt route and everyone else to the Virginia route. When the preferred route's
breaker is open (or a route is forced off), traffic fails over to the next route, in the
configured order, that is healthy *and* may carry the recipient's data: a route lists the
regions it may serve, and EU personal data never leaves routes that serve the EU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .breaker import CircuitBreaker

PRIMARY_VOLUME_LIMIT = 1_000


class NoRouteAvailable(Exception):
    """No healthy route may carry this recipient's data right now (the message waits)."""

    def __init__(self, region: str, tried: Sequence[str]) -> None:
        super().__init__(
            f"no healthy route may serve region {region!r} (tried {', '.join(tried) or 'none'})"
        )
        self.region = region
        self.tried = tuple(tried)


@dataclass(frozen=True)
class Route:
    """One way out: an ESP endpoint and what it may carry."""

    name: str
    host: str
    port: int
    regions: frozenset[str]  # recipient regions whose data this route may carry
    tls: str = "starttls"  # "starttls", "implicit" or "none"
    username: str | None = None
    password: str | None = None
    max_connections: int = 10
    rate_per_second: float = 100.0
    min_tls: str = "1.2"  # the oldest TLS version the route accepts: "1.2" or "1.3"
    ca_file: str | None = None  # CA bundle to verify the server with (default: the system's)


@dataclass(frozen=True)
class RoutingMatrix:
    """Route names by role: ``primary``, and the secondary cluster's ``eu`` and ``other``
    routes; ``fallback_order`` is the order failover tries the rest in."""

    routes: Mapping[str, Route]
    primary: str
    secondary_eu: str
    secondary_other: str
    fallback_order: tuple[str, ...]
    primary_volume_limit: int = PRIMARY_VOLUME_LIMIT

    def __post_init__(self) -> None:
        for name in (self.primary, self.secondary_eu, self.secondary_other, *self.fallback_order):
            if name not in self.routes:
                raise ValueError(f"the routing matrix names an unknown route {name!r}")


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    preferred: str  # the matrix's choice before failover
    failed_over: bool


def preferred_route(matrix: RoutingMatrix, sender_volume_last_hour: int, region: str) -> str:
    """The matrix's route for a sender's volume and the recipient's region."""
    if sender_volume_last_hour < matrix.primary_volume_limit:
        return matrix.primary
    return matrix.secondary_eu if region == "eu" else matrix.secondary_other


def choose_route(
    matrix: RoutingMatrix,
    sender_volume_last_hour: int,
    region: str,
    breakers: Mapping[str, CircuitBreaker],
    now: float,
    disabled: frozenset[str] = frozenset(),
) -> RouteDecision:
    """The route for one message: the preferred one when it is healthy and may carry the
    recipient's data, else the first such route in ``fallback_order``."""
    preferred = preferred_route(matrix, sender_volume_last_hour, region)
    tried = []
    for name in (preferred, *matrix.fallback_order):
        if name in tried:
            continue
        tried.append(name)
        route = matrix.routes[name]
        if name in disabled or region not in route.regions:
            continue
        breaker = breakers.get(name)
        if breaker is None or breaker.healthy(now):
            return RouteDecision(route, preferred, name != preferred)
    raise NoRouteAvailable(region, tried)
