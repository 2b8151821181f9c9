"""Token buckets in Redis, shared by every worker: one per destination provider and one per
sending domain. A message needs a token from each of its buckets; one atomic Lua call
refills them from the server's clock (``TIME``, so workers' clocks never disagree) and takes
a token from every one of them, or from none (no token is lost to a message that must
wait), saying how long to wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

# KEYS: the buckets; ARGV: rate, capacity and cost of each bucket in turn. Returns the
# milliseconds to wait (0: every bucket gave its tokens).
TAKE_ALL = """
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
  levels[i] = tokens
  if tokens < cost then
    wait = math.max(wait, math.ceil((cost - tokens) * 1000 / rate))
  end
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local tokens = levels[i]
  if wait == 0 then
    tokens = tokens - tonumber(ARGV[3 * i])
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', key, math.ceil(capacity * 1000 / rate) + 60000)
end
return wait
"""


@dataclass(frozen=True)
class Take:
    """One bucket a message needs a token from: ``kind:name``, its rate and capacity."""

    kind: str
    name: str
    rate_per_second: float
    capacity: float
    cost: float = 1.0


@dataclass(frozen=True)
class Grant:
    """The outcome for one message: granted, or the milliseconds to wait before retrying."""

    granted: bool
    wait_ms: int


class TokenBuckets:
    """Buckets under ``prefix`` in one Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "postwise") -> None:
        self._client = client
        self._prefix = prefix
        self._take_all = client.register_script(TAKE_ALL)

    def key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:bucket:{kind}:{name}"

    def take(
        self, kind: str, name: str, rate_per_second: float, capacity: float, cost: float = 1.0
    ) -> Grant:
        """Take ``cost`` tokens from bucket ``kind:name`` (refilling at ``rate_per_second``
        up to ``capacity``)."""
        return self.take_all([Take(kind, name, rate_per_second, capacity, cost)])

    def take_all(self, takes: Sequence[Take]) -> Grant:
        """Tokens from every bucket of ``takes``, or from none of them."""
        keys, args = self._call(takes)
        return _grant(self._take_all(keys=keys, args=args))

    def take_many(self, messages: Sequence[Sequence[Take]]) -> list[Grant]:
        """:meth:`take_all` for each message, in one round trip (a pipeline)."""
        calls = [self._call(takes) for takes in messages]
        pipe = self._client.pipeline(transaction=False)
        for keys, args in calls:
            self._take_all(keys=keys, args=args, client=pipe)
        return [_grant(wait) for wait in pipe.execute()]

    def _call(self, takes: Sequence[Take]) -> tuple[list[str], list[float]]:
        if not takes:
            raise ValueError("a take needs at least one bucket")
        keys, args = [], []
        for take in takes:
            if take.rate_per_second <= 0 or take.capacity < take.cost:
                raise ValueError("a bucket needs a positive rate and room for one take")
            keys.append(self.key(take.kind, take.name))
            args += [take.rate_per_second, take.capacity, take.cost]
        return keys, args


def _grant(wait: object) -> Grant:
    wait_ms = int(wait)  # type: ignore[call-overload]
    return Grant(wait_ms == 0, wait_ms)
