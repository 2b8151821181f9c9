"""The routing matrix, circuit breakers and failover inside residency rules."""

from __future__ import annotations

import pytest

from delivery.routing import (
    BreakerState,
    CircuitBreaker,
    NoRouteAvailable,
    Route,
    RoutingMatrix,
    choose_route,
)

ALL = frozenset({"na", "eu", "apac"})
MATRIX = RoutingMatrix(
    routes={
        "primary": Route("primary", "127.0.0.1", 2525, ALL),
        "ses-frankfurt": Route("ses-frankfurt", "127.0.0.1", 2526, frozenset({"eu"})),
        "ses-virginia": Route("ses-virginia", "127.0.0.1", 2527, frozenset({"na", "apac"})),
    },
    primary="primary",
    secondary_eu="ses-frankfurt",
    secondary_other="ses-virginia",
    fallback_order=("ses-virginia", "ses-frankfurt", "primary"),
)


def _open(breaker: CircuitBreaker, now: float = 0.0) -> CircuitBreaker:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure(now)
    return breaker


@pytest.mark.parametrize(
    ("volume", "region", "route"),
    [
        (0, "eu", "primary"),
        (999, "na", "primary"),
        (1_000, "eu", "ses-frankfurt"),
        (1_000, "na", "ses-virginia"),
        (50_000, "apac", "ses-virginia"),
    ],
)
def test_the_matrix_sends_low_volume_to_primary_and_splits_the_secondary_by_region(
    volume: int, region: str, route: str
) -> None:
    decision = choose_route(MATRIX, volume, region, {}, now=0.0)
    assert (decision.route.name, decision.failed_over) == (route, False)


def test_a_breaker_opens_after_consecutive_failures_and_probes_after_the_cool_down() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down_seconds=10.0)
    breaker.record_failure(0.0)
    breaker.record_success()  # a success in between resets the count
    for t in (1.0, 2.0):
        breaker.record_failure(t)
    assert breaker.state is BreakerState.CLOSED and breaker.allows(2.5)
    breaker.record_failure(3.0)
    assert breaker.state is BreakerState.OPEN and not breaker.allows(12.9)
    assert breaker.allows(13.0) and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allows(13.1)  # one probe at a time
    breaker.record_failure(14.0)  # the probe failed: open again, for a new cool-down
    assert breaker.state is BreakerState.OPEN and not breaker.allows(23.0)
    assert breaker.allows(24.0)
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allows(24.1)


def test_an_open_route_fails_over_to_the_next_healthy_one() -> None:
    breakers = {"primary": _open(CircuitBreaker())}
    decision = choose_route(MATRIX, 10, "na", breakers, now=1.0)
    assert (decision.route.name, decision.preferred, decision.failed_over) == (
        "ses-virginia",
        "primary",
        True,
    )


def test_eu_data_fails_over_only_to_routes_that_serve_the_eu() -> None:
    breakers = {"ses-frankfurt": _open(CircuitBreaker())}
    decision = choose_route(MATRIX, 5_000, "eu", breakers, now=1.0)
    assert decision.route.name == "primary"  # not Virginia, although it is healthy
    breakers["primary"] = _open(CircuitBreaker())
    with pytest.raises(NoRouteAvailable, match="region 'eu'") as caught:
        choose_route(MATRIX, 5_000, "eu", breakers, now=1.0)
    assert "ses-virginia" in caught.value.tried  # considered, refused for residency


def test_a_drained_route_takes_no_new_mail_and_the_cool_down_brings_a_route_back() -> None:
    decision = choose_route(MATRIX, 5_000, "na", {}, now=0.0, disabled=frozenset({"ses-virginia"}))
    assert decision.route.name == "primary"
    breakers = {"ses-virginia": _open(CircuitBreaker(cool_down_seconds=30.0), now=0.0)}
    assert choose_route(MATRIX, 5_000, "na", breakers, now=29.0).route.name == "primary"
    assert choose_route(MATRIX, 5_000, "na", breakers, now=30.0).route.name == "ses-virginia"


def test_a_matrix_naming_an_unknown_route_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown route 'nowhere'"):
        RoutingMatrix(
            routes=MATRIX.routes,
            primary="nowhere",
            secondary_eu="ses-frankfurt",
            secondary_other="ses-virginia",
            fallback_order=(),
        )
