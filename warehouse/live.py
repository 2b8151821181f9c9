"""Live per-minute counters in Redis: the key scheme, shared by the writers (the API's
ingestion and tracking, ``serving.limits.counters``) and the readers (the dashboards).

Keys (strings holding an integer count, kept for ``LIVE_TTL_SECONDS``):

- ``<prefix>:live:<kind>:<org id>:<minute>``: one organization's count
- ``<prefix>:live:<kind>:all:<minute>``: everyone's count

``<kind>`` is ``sent`` (messages accepted by the API), ``opened`` or ``clicked`` (human
tracking hits, bots left out); ``<minute>`` is the Unix time divided by 60 (UTC minute
start). ``<prefix>`` is DATABASE_PREFIX. A reader gets the last hour with one MGET.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

import redis

LiveKind = Literal["sent", "opened", "clicked"]
LIVE_KINDS: tuple[LiveKind, ...] = ("sent", "opened", "clicked")
LIVE_TTL_SECONDS = 2 * 24 * 3600  # two days of minutes


def live_key(prefix: str, kind: str, org_id: uuid.UUID | str | None, minute: int) -> str:
    """The counter key of ``kind`` for ``org_id`` (None: everyone) in ``minute``."""
    return f"{prefix}:live:{kind}:{org_id if org_id is not None else 'all'}:{minute}"


def read_live(
    client: redis.Redis,
    prefix: str,
    kind: str,
    org_id: uuid.UUID | str | None,
    minutes: int = 60,
    *,
    now: float | None = None,
) -> list[tuple[int, int]]:
    """(minute start as Unix seconds, count) of the last ``minutes`` minutes of ``kind``,
    oldest first; minutes without a key count 0."""
    last = int((time.time() if now is None else now) // 60)
    span = range(last - minutes + 1, last + 1)
    values = client.mget([live_key(prefix, kind, org_id, m) for m in span])
    return [(m * 60, int(v or 0)) for m, v in zip(span, values, strict=True)]
