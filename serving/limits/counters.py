"""Live per-minute counters of sends, opens and clicks in Redis, for the dashboards.

Keys (strings holding an integer count, kept for ``LIVE_TTL_SECONDS``):

- ``<prefix>:live:<kind>:<org id>:<minute>``: one organization's count
- ``<prefix>:live:<kind>:all:<minute>``: everyone's count

``<kind>`` is ``sent`` (messages accepted by the API), ``opened`` or ``clicked`` (human
tracking hits, bots left out); ``<minute>`` is the Unix time divided by 60 (UTC minute
start). ``<prefix>`` is DATABASE_PREFIX. A dashboard reads the last hour with one MGET.

Counting never fails the request that counts: when Redis cannot answer the increment is
dropped with a warning.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Literal

import redis

log = logging.getLogger(__name__)

LiveKind = Literal["sent", "opened", "clicked"]
LIVE_KINDS: tuple[LiveKind, ...] = ("sent", "opened", "clicked")
LIVE_TTL_SECONDS = 2 * 24 * 3600  # two days of minutes


def live_key(prefix: str, kind: str, org_id: uuid.UUID | str | None, minute: int) -> str:
    """The counter key of ``kind`` for ``org_id`` (None: everyone) in ``minute``."""
    return f"{prefix}:live:{kind}:{org_id if org_id is not None else 'all'}:{minute}"


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
        last = int((time.time() if now is None else now) // 60)
        span = range(last - minutes + 1, last + 1)
        values = self._redis.mget([live_key(self._prefix, kind, org_id, m) for m in span])
        return [(m * 60, int(v or 0)) for m, v in zip(span, values, strict=True)]
