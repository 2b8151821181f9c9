"""Delivery workers publish their circuit breakers to Redis (warehouse.route_health): a
running worker's report shows a route in an outage as open and the healthy one as closed,
and disappears when the worker stops; a Redis outage never fails the worker, and a state
change is published before the next periodic report is due."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable

import redis
from worker_kit import QUICK_RETRY, CampaignMaker, Person, routes_to, wait_for

from delivery.routing import BreakerState, CircuitBreaker
from delivery.worker import open_worker, worker_options
from delivery.worker.health import BreakerReporter
from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from warehouse.route_health import WorkerReport, read_reports

ALL = ("na", "eu", "apac")


def _report_of(client: redis.Redis, prefix: str, worker_id: str) -> WorkerReport | None:
    return next((r for r in read_reports(client, prefix) if r.worker_id == worker_id), None)


def test_a_running_worker_publishes_an_open_breaker_as_open_and_withdraws_when_stopped(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: Callable[..., SimulatedEsp],
) -> None:
    primary, frankfurt, virginia = esps("primary"), esps("frankfurt"), esps("virginia")
    primary.stop()  # the outage: connections refused
    settings = routes_to(
        worker_settings,
        {"primary": (primary.port, ALL), "frankfurt": (frankfurt.port, ("eu",)),
         "virginia": (virginia.port, ("na", "apac"))},
    )  # fmt: skip
    make_campaign([Person(f"jp{i}@mail.example") for i in range(12)])
    options = dataclasses.replace(
        worker_options(settings, region="apac", concurrency=4, batch_size=12),
        retry=QUICK_RETRY,
        route_health_seconds=0.5,
    )
    client = redis.Redis.from_url(redis_url)
    prefix = settings.database_prefix
    seen: list[WorkerReport] = []

    def watch(stop: Callable[[], None], worker_id: str) -> None:
        try:

            def primary_open() -> bool:
                report = _report_of(client, prefix, worker_id)
                states = {r.route: r.state for r in report.routes} if report else {}
                if states.get("primary") == "open":
                    seen.append(report)  # type: ignore[arg-type]
                    return True
                return False

            wait_for(primary_open, 30, "the worker to publish primary's breaker as open")
        finally:
            stop()

    with open_worker(settings, options, database_server_url, redis_url) as worker:

        async def main() -> None:
            loop = asyncio.get_running_loop()
            run = asyncio.create_task(worker.run())
            stop = lambda: loop.call_soon_threadsafe(worker.stop)  # noqa: E731
            watcher = threading.Thread(target=watch, args=(stop, worker.id))
            watcher.start()
            await run
            await asyncio.to_thread(watcher.join)

        asyncio.run(main())

    try:
        assert seen, "primary's breaker was never published as open"
        report = seen[0]
        assert report.region == "apac"
        routes = {r.route: r for r in report.routes}
        assert set(routes) == {"primary", "frankfurt", "virginia"}
        assert routes["primary"].consecutive_failures >= 5
        assert routes["virginia"].state == "closed"
        assert worker.breakers["primary"].state is BreakerState.OPEN
        assert _report_of(client, prefix, worker.id) is None  # withdrawn on stop
    finally:
        client.close()


def test_publishing_survives_a_redis_outage_and_sends_state_changes_at_once(
    redis_url: str, run_prefix: str
) -> None:
    clock = [100.0]
    breakers = {"primary": CircuitBreaker(failure_threshold=2, cool_down_seconds=30)}
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    offline = BreakerReporter("w-offline", "eu", breakers, down, run_prefix)
    assert offline.tick() is False  # logged, never raised
    assert offline.tick() is False

    client = redis.Redis.from_url(redis_url)
    reporter = BreakerReporter(
        "w-clock", "eu", breakers, client, run_prefix, every=60, monotonic=lambda: clock[0]
    )
    try:
        assert reporter.tick() is True  # the first report
        assert reporter.tick() is False  # nothing changed, not due
        breakers["primary"].record_failure(clock[0])
        breakers["primary"].record_failure(clock[0])
        assert reporter.tick() is True  # opened: published at once
        found = _report_of(client, run_prefix, "w-clock")
        assert found is not None and found.routes[0].state == "open"
        clock[0] += 31  # the cool-down passed: the next send would probe
        assert reporter.tick() is True
        found = _report_of(client, run_prefix, "w-clock")
        assert found is not None and found.routes[0].state == "half_open"
        reporter.withdraw()
        assert _report_of(client, run_prefix, "w-clock") is None
        assert reporter.tick() is False  # withdrawn: silent
    finally:
        down.close()
        client.close()
