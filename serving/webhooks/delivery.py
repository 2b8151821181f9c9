"""The outbound delivery loop: claim due webhook deliveries, post each signed to its
endpoint, and record the attempt. A 2xx answer delivers it; anything else (an error
status, a timeout, a refused connection) schedules the next attempt after an exponential
backoff (``backoff_seconds * 2**(attempt-1)``, capped at a day) until ``max_attempts``,
when the delivery fails for good.

Deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` and their next attempt moved ahead
before posting (a lease), so several loops never post the same one at once, and a loop
that dies mid-post leaves it due again later.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from warehouse.db import Cells

from .signatures import signed_headers
from .targets import UnsafeWebhookTarget, check_target

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 86_400.0
USER_AGENT = "Postwise-Webhooks/1"


@dataclass(frozen=True)
class LoopOptions:
    backoff_seconds: float = 30.0
    timeout_seconds: float = 10.0
    batch_size: int = 50
    lease_seconds: float = 60.0
    allow_private_targets: bool = False  # see .targets


@dataclass(frozen=True)
class Attempted:
    delivery_id: uuid.UUID
    delivered: bool
    status_code: int | None
    error: str | None


def backoff(attempt: int, base_seconds: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return min(base_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def deliver_due(cells: Cells, client: httpx.Client, options: LoopOptions) -> list[Attempted]:
    """One round: post every due delivery (up to a batch) once; returns what happened."""
    with cells.connection("control") as conn:
        claimed = conn.execute(
            "WITH due AS (SELECT delivery_id FROM webhook_deliveries "
            "  WHERE status = 'pending' AND next_attempt_at <= now() "
            "  ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, "
            "  next_attempt_at = now() + make_interval(secs => %s) "
            "FROM due, webhook_endpoints e "
            "WHERE d.delivery_id = due.delivery_id AND e.endpoint_id = d.endpoint_id "
            "RETURNING d.delivery_id, d.attempts, d.max_attempts, d.payload, e.url, e.secret",
            (options.batch_size, options.lease_seconds),
        ).fetchall()
    results = []
    for delivery_id, attempt, max_attempts, payload, url, secret in claimed:
        try:
            check_target(url, allow_private=options.allow_private_targets)
        except UnsafeWebhookTarget as exc:  # checked again: DNS may have changed
            outcome = _Posted(None, f"refused: {exc}"[:500], 0)
        else:
            outcome = _post(client, url, secret, payload, options.timeout_seconds)
        results.append(_record(cells, delivery_id, attempt, max_attempts, outcome, options))
    return results


def run_deliveries(
    cells: Cells,
    client: httpx.Client,
    options: LoopOptions,
    *,
    max_seconds: float,
    idle_seconds: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Deliver for at most ``max_seconds`` (or until ``stop()``), sleeping ``idle_seconds``
    when nothing is due; returns how many attempts were made."""
    deadline = time.monotonic() + max_seconds
    made = 0
    while time.monotonic() < deadline and not stop():
        attempted = deliver_due(cells, client, options)
        made += len(attempted)
        if not attempted:
            time.sleep(min(idle_seconds, max(0.0, deadline - time.monotonic())))
    return made


@dataclass(frozen=True)
class _Posted:
    status_code: int | None
    error: str | None
    duration_ms: int


def _post(client: httpx.Client, url: str, secret: str, payload: object, timeout: float) -> _Posted:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(secret, int(time.time()), body),
    }
    started = time.monotonic()
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return _Posted(None, f"{type(exc).__name__}: {exc}"[:500], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    error = None if response.is_success else f"HTTP {response.status_code}"
    return _Posted(response.status_code, error, elapsed)


def _record(
    cells: Cells,
    delivery_id: uuid.UUID,
    attempt: int,
    max_attempts: int,
    posted: _Posted,
    options: LoopOptions,
) -> Attempted:
    delivered = posted.error is None
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (delivery_id, attempt, posted.status_code, posted.error, posted.duration_ms),
        )
        if delivered:
            conn.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), "
                "last_status_code = %s, last_error = NULL WHERE delivery_id = %s",
                (posted.status_code, delivery_id),
            )
        else:
            final = attempt >= max_attempts
            conn.execute(
                "UPDATE webhook_deliveries SET status = %s, last_status_code = %s, "
                "last_error = %s, next_attempt_at = now() + make_interval(secs => %s) "
                "WHERE delivery_id = %s",
                ("failed" if final else "pending", posted.status_code, posted.error,
                 backoff(attempt, options.backoff_seconds), delivery_id),
            )  # fmt: skip
            log.info(
                "webhook delivery %s attempt %s failed: %s", delivery_id, attempt, posted.error
            )
    return Attempted(delivery_id, delivered, posted.status_code, posted.error)
