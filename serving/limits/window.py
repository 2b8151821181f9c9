"""Sliding-window rate limits in Redis, checked and recorded atomically by one Lua script.

Each limited subject (an API key or a user; its organization) has a sorted set of the
request times of the last window. A request is admitted only when every one of its
subjects is under its limit, and only then recorded in all of them, so a request refused by
the organization's limit does not use up the key's. A refusal says how long until the
oldest request that keeps the subject at its limit leaves the window (``Retry-After``).

Keys: ``<prefix>:rl:{<org id>}:<scope>:<id>`` (the hash tag keeps one request's keys in one
Redis Cluster slot). When Redis cannot answer the limits are not enforced (fail open): the
breaker rests Redis and the refusal of service is left to what truly needs Redis.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis

from ..resilience.breakers import Breakers, DependencyDown

log = logging.getLogger(__name__)

# KEYS: one sorted set per subject; ARGV: now (ms), window (ms), member, then one limit per key.
# Returns {index of the first subject at its limit (0: admitted), wait in ms}.
SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local refused, wait = 0, 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if refused == 0 or until_free > wait then
      refused, wait = i, until_free
    end
  end
end
if refused > 0 then
  return {refused, math.max(wait, 1)}
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return {0, 0}
"""


# The same windows after claiming a signed request's nonce, in the same round trip.
# KEYS: the nonce, then the windows; ARGV: the nonce's lifetime (s), then as above.
# Returns {-1, 0} when the nonce was already claimed (nothing recorded), else as above.
NONCE_THEN_WINDOWS = (
    """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', tonumber(ARGV[1])) then
  return {-1, 0}
end
table.remove(KEYS, 1)
table.remove(ARGV, 1)
"""
    + SLIDING_WINDOW
)


@dataclass(frozen=True)
class Limit:
    """``limit`` requests per window for one subject, named by ``scope`` in refusals."""

    scope: str
    key: str
    limit: int


@dataclass(frozen=True)
class Decision:
    admitted: bool
    scope: str | None = None  # which limit refused
    retry_after: int = 0  # whole seconds, at least 1 when refused
    enforced: bool = True  # False: Redis did not answer, nothing was checked


def retry_after_seconds(wait_ms: int) -> int:
    """Whole seconds a client should wait for ``wait_ms`` (rounded up, at least 1)."""
    return max(1, math.ceil(wait_ms / 1000))


class RateLimiter:
    """Per-key and per-org sliding windows over one Redis (None: limits off)."""

    def __init__(
        self,
        client: redis.Redis | None,
        prefix: str,
        breakers: Breakers,
        *,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._breakers = breakers
        self._window_ms = int(window_seconds * 1000)
        self._clock = clock
        self._script = client.register_script(SLIDING_WINDOW) if client is not None else None
        self._async: aredis.Redis | None = None
        self._claim_script: Any = None

    def use_async(self, client: aredis.Redis) -> None:
        """Check signed requests' nonces and windows through ``client`` (asyncio; the same
        Redis as the blocking client), see :meth:`claim_and_check`."""
        self._async = client
        self._claim_script = client.register_script(NONCE_THEN_WINDOWS)

    def key(self, org_id: uuid.UUID | str, scope: str, subject: str) -> str:
        return f"{self._prefix}:rl:{{{org_id}}}:{scope}:{subject}"

    def check(self, limits: Sequence[Limit]) -> Decision:
        """Admit and record one request against every limit of ``limits``, or refuse."""
        active = [limit for limit in limits if limit.limit > 0]
        if self._script is None or not active:
            return Decision(True, enforced=False)
        now_ms = int(self._clock() * 1000)
        member = f"{now_ms}:{secrets.token_hex(6)}"
        try:
            with self._breakers.guard("redis", (redis.RedisError,)):
                refused, wait = self._script(
                    keys=[limit.key for limit in active],
                    args=[now_ms, self._window_ms, member, *(limit.limit for limit in active)],
                )
        except (redis.RedisError, DependencyDown) as exc:
            log.warning("rate limits not enforced: Redis cannot answer (%s)", exc)
            return Decision(True, enforced=False)
        if int(refused) == 0:
            return Decision(True)
        return Decision(False, active[int(refused) - 1].scope, retry_after_seconds(int(wait)))

    async def claim_and_check(
        self, nonce_key: str, nonce_seconds: int, limits: Sequence[Limit]
    ) -> Decision | None:
        """Claim a signed request's nonce and, when it is new, :meth:`check` ``limits``, in
        one round trip; None when the nonce was already claimed (nothing recorded then).

        The nonce cannot go unchecked: Redis failing raises :class:`redis.RedisError`
        (counted by the ``redis`` breaker). While that breaker rests Redis the nonce is
        still claimed and the limits are not enforced, as in :meth:`check`."""
        client = self._async
        if client is None:
            raise RuntimeError("use_async() was not called")
        active = [limit for limit in limits if limit.limit > 0]
        if active:
            try:
                self._breakers.admit("redis")
            except DependencyDown as exc:
                log.warning("rate limits not enforced: Redis cannot answer (%s)", exc)
                active = []
        if not active:
            claimed = await client.set(nonce_key, 1, nx=True, ex=nonce_seconds)
            return Decision(True, enforced=False) if claimed else None
        now_ms = int(self._clock() * 1000)
        member = f"{now_ms}:{secrets.token_hex(6)}"
        try:
            refused, wait = await self._claim_script(
                keys=[nonce_key, *(limit.key for limit in active)],
                args=[
                    nonce_seconds, now_ms, self._window_ms, member,
                    *(limit.limit for limit in active),
                ],
            )  # fmt: skip
        except redis.RedisError:
            self._breakers.failed("redis")
            raise
        self._breakers.succeeded("redis")
        if int(refused) < 0:
            return None
        if int(refused) == 0:
            return Decision(True)
        return Decision(False, active[int(refused) - 1].scope, retry_after_seconds(int(wait)))
