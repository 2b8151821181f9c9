"""The outermost guard of every request: a time limit, a last-resort fault handler, and
the request metrics.

- A request still unanswered after ``timeout_seconds`` gets 504 ``request_timeout``. The
  work itself is not interrupted (a route running in a worker thread cannot be), only no
  longer awaited; whatever it answers later is dropped. Bulk uploads (paths ending in
  ``:import``, e.g. ``POST /v1/contacts:import``) are exempt: they stream a body bounded by
  their own size limit and take as long as that body takes to arrive. So are campaign sends
  (``POST /v1/campaigns/{id}/send``): they queue the whole segment, which takes as long as
  the segment is large (sending again adds nothing, so a client that gave up can retry).
- An exception no route handled becomes 503 when a dependency failed (PostgreSQL, Redis,
  an open circuit breaker: ``database_unavailable``, ``redis_unavailable``,
  ``dependency_unavailable``) and 500 ``internal_error`` otherwise, logged with its
  traceback. Client mistakes never get here: they are typed 4xx errors raised by the routes
  or FastAPI's request validation.
- Every answer is counted by route template, method and status, with its latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .breakers import DependencyDown
from .metrics import ApiMetrics

log = logging.getLogger(__name__)
UNMATCHED = "<unmatched>"
# Bulk work: no time limit (see the module docstring).
UNLIMITED_SUFFIXES = (":import", "/send")
MetricsOf = Callable[[Scope], ApiMetrics | None]


@dataclass
class _Exchange:
    status: int = 0
    started: bool = False
    abandoned: bool = False


def fault_answer(exc: BaseException) -> tuple[int, str, str, float | None]:
    """(status, code, detail, retry-after seconds) for an exception no route handled."""
    if isinstance(exc, DependencyDown):
        return 503, "dependency_unavailable", str(exc), exc.retry_after
    if isinstance(exc, psycopg.OperationalError):
        return 503, "database_unavailable", "the database cannot answer right now", 5.0
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return 503, "redis_unavailable", "Redis cannot answer right now", 5.0
    return 500, "internal_error", "the server failed to answer; the fault is logged", None


def route_of(scope: Scope) -> str:
    """The matched route's path template (bounded cardinality), else ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class GuardMiddleware:
    """See the module docstring; ``metrics_of`` finds the app's metrics (None before
    start-up)."""

    def __init__(self, app: ASGIApp, *, timeout_seconds: float, metrics_of: MetricsOf) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.metrics_of = metrics_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        exchange = _Exchange()

        async def relay(message: Message) -> None:
            if exchange.abandoned:
                return
            if message["type"] == "http.response.start":
                exchange.started, exchange.status = True, message["status"]
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, relay))
        limit = None if scope["path"].endswith(UNLIMITED_SUFFIXES) else self.timeout_seconds
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
            if task in done:
                task.result()
            elif not exchange.started:
                exchange.abandoned = True
                task.add_done_callback(_log_late_failure)
                metrics = self.metrics_of(scope)
                if metrics is not None:
                    metrics.timeouts.inc()
                exchange.status = 504
                await send_answer(
                    send,
                    504,
                    "request_timeout",
                    f"the request took longer than {self.timeout_seconds:g} s",
                    None,
                )
            else:
                await task  # the answer is under way: let it finish
        except Exception as exc:
            if exchange.started:
                raise
            status, code, detail, retry_after = fault_answer(exc)
            if status == 500:
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            else:
                log.warning("%s %s: %s", scope["method"], scope["path"], exc)
            exchange.status = status
            await send_answer(send, status, code, detail, retry_after)
        finally:
            metrics = self.metrics_of(scope)
            if metrics is not None and exchange.status:
                metrics.observe(
                    route_of(scope), scope["method"], exchange.status, time.perf_counter() - began
                )


def _log_late_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a timed-out request failed later: %s", task.exception())


async def send_answer(
    send: Send, status: int, code: str, detail: str, retry_after: float | None
) -> None:
    body = json.dumps({"code": code, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, round(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
