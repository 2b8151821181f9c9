"""Route health in Redis: each delivery worker's circuit breakers, published by the workers
(``delivery.worker``) and read by the dashboards. The key scheme lives here so writers and
readers agree on it.

Keys (``<prefix>`` is DATABASE_PREFIX):

- ``<prefix>:route_health:worker:<worker id>``: a JSON report of one worker (its region,
  when it was published, and per route: state, consecutive failures, last state change),
  kept for ``ROUTE_HEALTH_TTL_SECONDS``; a worker that stops publishing disappears;
- ``<prefix>:route_health:workers``: a sorted set of worker ids scored by the time their
  report expires, so a reader finds the live reports without scanning the key space.

States are the breaker's: ``closed``, ``half_open``, ``open`` (worst last, see
:data:`STATES`). Times are Unix seconds (UTC).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

STATES = ("closed", "half_open", "open")  # from healthy to worst
PUBLISH_EVERY_SECONDS = 5.0
ROUTE_HEALTH_TTL_SECONDS = 20  # four missed reports: the worker is gone


@dataclass(frozen=True)
class RouteState:
    """One route's breaker as one worker sees it."""

    route: str
    state: str  # one of STATES
    consecutive_failures: int
    changed_at: float  # when the worker saw the state change (Unix seconds)


@dataclass(frozen=True)
class WorkerReport:
    """What one worker published: its region and every route's breaker."""

    worker_id: str
    region: str
    published_at: float
    routes: tuple[RouteState, ...]


def worker_key(prefix: str, worker_id: str) -> str:
    """The key holding ``worker_id``'s latest report."""
    return f"{prefix}:route_health:worker:{worker_id}"


def index_key(prefix: str) -> str:
    """The sorted set of reporting workers (score: expiry of their report)."""
    return f"{prefix}:route_health:workers"


def publish(
    client: redis.Redis, prefix: str, report: WorkerReport, ttl: int = ROUTE_HEALTH_TTL_SECONDS
) -> None:
    """Store ``report`` for ``ttl`` seconds and list its worker; raises RedisError."""
    body = json.dumps(
        {
            "worker_id": report.worker_id,
            "region": report.region,
            "published_at": report.published_at,
            "routes": [
                [r.route, r.state, r.consecutive_failures, r.changed_at] for r in report.routes
            ],
        }
    )
    expires = report.published_at + ttl
    pipe = client.pipeline(transaction=True)
    pipe.set(worker_key(prefix, report.worker_id), body, ex=ttl)
    pipe.zadd(index_key(prefix), {report.worker_id: expires})
    # Workers that died without withdrawing leave index entries: drop the expired ones.
    pipe.zremrangebyscore(index_key(prefix), "-inf", report.published_at)
    # The index outlives every report: a short-lived report must not cut the others'.
    pipe.expire(index_key(prefix), 2 * max(ttl, ROUTE_HEALTH_TTL_SECONDS))
    pipe.execute()


def withdraw(client: redis.Redis, prefix: str, worker_id: str) -> None:
    """Remove a stopping worker's report at once (raises RedisError)."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(worker_key(prefix, worker_id))
    pipe.zrem(index_key(prefix), worker_id)
    pipe.execute()


def read_reports(
    client: redis.Redis, prefix: str, *, now: float | None = None
) -> list[WorkerReport]:
    """The reports of every worker still publishing, by worker id."""
    now = time.time() if now is None else now
    found: Sequence[bytes | str] = client.zrangebyscore(index_key(prefix), now, "+inf")  # type: ignore[assignment]
    ids = [_text(i) for i in found]
    if not ids:
        return []
    bodies: Sequence[bytes | str | None] = client.mget([worker_key(prefix, i) for i in ids])
    reports = []
    for body in bodies:
        if body is None:
            continue  # expired between the two reads
        data = json.loads(body)
        routes = tuple(RouteState(r[0], r[1], int(r[2]), float(r[3])) for r in data["routes"])
        reports.append(
            WorkerReport(data["worker_id"], data["region"], float(data["published_at"]), routes)
        )
    return sorted(reports, key=lambda r: r.worker_id)


def worse(a: str, b: str) -> str:
    """The worse of two breaker states (unknown states count as the worst)."""
    rank = {state: index for index, state in enumerate(STATES)}
    return a if rank.get(a, len(STATES)) >= rank.get(b, len(STATES)) else b


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
