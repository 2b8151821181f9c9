"""Token buckets in Redis, shared by every worker: one per destination provider and one per
sending domain. Taking a token is one atomic Lua call that refills the bucket from the
server's clock (``TIME``, so workers' clocks never disagree) and either takes the tokens or
says how long to wait for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

TAKE = """
redis.replicate_commands()
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 60000)
return wait
"""


@dataclass(frozen=True)
class Grant:
    """The outcome of one take: granted, or the milliseconds to wait before retrying."""

    granted: bool
    wait_ms: int


class TokenBuckets:
    """Buckets under ``prefix`` in one Redis; ``take(kind, name, rate, capacity)``."""

    def __init__(self, client: redis.Redis, prefix: str = "postwise") -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(TAKE)

    def key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:bucket:{kind}:{name}"

    def take(
        self, kind: str, name: str, rate_per_second: float, capacity: float, cost: float = 1.0
    ) -> Grant:
        """Take ``cost`` tokens from bucket ``kind:name`` (refilling at ``rate_per_second``
        up to ``capacity``)."""
        if rate_per_second <= 0 or capacity < cost:
            raise ValueError("a bucket needs a positive rate and room for one take")
        wait = int(self._take(keys=[self.key(kind, name)], args=[rate_per_second, capacity, cost]))
        return Grant(wait == 0, wait)
