"""Routing and throttling decisions per second on one core.

A decision is what a worker does for each claimed message before SMTP: pick the route
(``delivery.routing.choose_route``: the volume and region matrix, breakers, residency) and
take a token from both the destination provider's and the sending domain's buckets in
Redis, atomically (``delivery.throttle.TokenBuckets``). Workers claim messages in batches,
so the takes of a batch go to Redis in one pipeline. The baseline is Redis's own ceiling
for the same traffic: one pipelined ``INCR`` per bucket, no script and no routing.

Messages are synthetic: senders with volumes on both sides of the primary limit, recipients
in the three regions and ten mailbox providers, one in fifty breakers open. Redis is
``REDIS_URL``, else the development server on 127.0.0.1:6379, else an embedded one.

    python -m benchmarks.router                 # 200,000 decisions, batches of 200
    python -m benchmarks.router --quick         # 20,000 decisions
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import redis

from benchmarks._common import emit, setup_logging
from delivery.routing import CircuitBreaker, Route, RoutingMatrix, choose_route
from delivery.throttle import Take, TokenBuckets

log = logging.getLogger("benchmarks.router")

TARGET_PER_SECOND = 10_000
PROVIDERS = tuple(f"provider{i}" for i in range(10))
REGIONS = ("na", "eu", "apac")
ALL = frozenset(REGIONS)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.router", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decisions", type=int, default=None)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    decisions = args.decisions or (20_000 if args.quick else 200_000)
    setup_logging()
    with _redis() as client:
        prefix = f"pwbench-router-{secrets.token_hex(4)}"
        try:
            ours = _decisions_per_second(client, prefix, decisions, args.batch)
            ceiling = _incr_per_second(client, prefix, decisions, args.batch)
        finally:
            for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                client.delete(key)
        version = client.info("server").get("redis_version")
    results = [
        {
            "metric": "routing_and_throttling_decisions_per_second",
            "value": round(ours),
            "unit": "decisions/s",
            "baseline": {
                "name": f"Redis ceiling: 2 pipelined INCR per message, batches of {args.batch}",
                "value": round(ceiling),
            },
            "ratio": round(ours / ceiling, 3),
            "target": f">= {TARGET_PER_SECOND:,} decisions/s on one core",
            "meets_target": ours >= TARGET_PER_SECOND,
            "decisions": decisions,
        }
    ]
    emit("router", {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "redis": version}, results)  # fmt: skip
    return 0


def _decisions_per_second(client: redis.Redis, prefix: str, n: int, batch: int) -> float:
    rng = np.random.default_rng(7)
    volumes = rng.choice([10, 400, 5_000, 40_000], size=n)
    regions = rng.choice(REGIONS, size=n)
    providers = rng.choice(PROVIDERS, size=n)
    domains = rng.integers(0, 50, size=n)
    buckets = TokenBuckets(client, prefix)
    breakers = {name: CircuitBreaker() for name in MATRIX.routes}
    started = time.perf_counter()
    routed = granted = 0
    for start in range(0, n, batch):
        now = time.monotonic()
        virginia = breakers["ses-virginia"]
        if start // batch % 50 == 49:  # now and then the route is down for a batch
            for _ in range(virginia.failure_threshold):
                virginia.record_failure(now)
        else:
            virginia.record_success()
        takes = []
        for i in range(start, min(start + batch, n)):
            choose_route(MATRIX, int(volumes[i]), str(regions[i]), breakers, now)
            routed += 1
            takes.append(
                (
                    Take("provider", str(providers[i]), 1e6, 1e6),
                    Take("domain", f"d{domains[i]}.example", 1e6, 1e6),
                )
            )
        granted += sum(g.granted for g in buckets.take_many(takes))
        if (start // batch) % 200 == 0:
            elapsed = time.perf_counter() - started
            log.info("%d decisions, %.0f/s", routed, routed / max(elapsed, 1e-9))
    seconds = time.perf_counter() - started
    log.info("routed %d messages (%d tokens granted) in %.2f s", routed, granted, seconds)
    return n / seconds


def _incr_per_second(client: redis.Redis, prefix: str, n: int, batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + batch, n)):
            pipe.incr(f"{prefix}:incr:p{i % 10}")
            pipe.incr(f"{prefix}:incr:d{i % 50}")
        pipe.execute()
    seconds = time.perf_counter() - started
    log.info("baseline: %d messages of 2 INCR in %.2f s", n, seconds)
    return n / seconds


@contextmanager
def _redis() -> Iterator[redis.Redis]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
        yield client
        return
    except redis.ConnectionError:
        client.close()
        log.info("no Redis at %s; starting an embedded one", url)
    from postwise.stack import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="pwbench-redis-") as folder:
        embedded = EmbeddedRedis(Path(folder))
        client = redis.Redis.from_url(embedded.start())
        try:
            yield client
        finally:
            client.close()
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
