"""Live per-minute counters of sends, opens and clicks in Redis, for the dashboards: the
writing side (the key scheme and the reader are ``warehouse.live``).

Counting never fails the request that counts: when Redis cannot answer the increment is
dropped with a warning.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis

from warehouse.live import LIVE_KINDS, LIVE_TTL_SECONDS, LiveKind, live_key, read_live

__all__ = ["LIVE_KINDS", "LiveCounters", "LiveKind", "live_key", "record_live"]

log = logging.getLogger(__name__)


def record_live(
    client: redis.Redis | None,
    prefix: str,
    kind: LiveKind,
    org_id: uuid.UUID | str,
    count: int = 1,
    *,
    now: float | None = None,
) -> None:
    """Add ``count`` to this minute's ``kind`` counters of ``org_id`` and of everyone."""
    if client is None or count <= 0:
        return
    minute = int((time.time() if now is None else now) // 60)
    try:
        pipe = client.pipeline(transaction=False)
        for key in (live_key(prefix, kind, org_id, minute), live_key(prefix, kind, None, minute)):
            pipe.incrby(key, count)
            pipe.expire(key, LIVE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("live %s counter not updated: %s", kind, exc)


class LiveCounters:
    """``record_live`` and a reader bound to one Redis and prefix."""

    def __init__(self, client: redis.Redis | None, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def record(self, kind: LiveKind, org_id: uuid.UUID | str, count: int = 1) -> None:
        record_live(self._redis, self._prefix, kind, org_id, count)

    def read(
        self,
        kind: LiveKind,
        org_id: uuid.UUID | str | None,
        minutes: int = 60,
        *,
        now: float | None = None,
    ) -> list[tuple[int, int]]:
        """(minute start as Unix seconds, count) of the last ``minutes`` minutes, oldest
        first."""
        if self._redis is None:
            return []
        return read_live(self._redis, self._prefix, kind, org_id, minutes, now=now)
