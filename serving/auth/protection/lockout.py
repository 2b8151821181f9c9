"""Login throttling and lockout in Redis, shared by every API process.

Two failure windows count failed logins: one per account (the address as typed, so an
address without an account is counted, locked and answered exactly like one with an
account) and one per client address. ``lock_after`` failures of an account within the
window lock it for ``lock_seconds``, doubled for each further lock within ``memory_seconds``
(up to ``max_lock_seconds``); the lock expires by itself or an owner lifts it. A client
over ``client_failures`` failures in the window is throttled until the window ends.

Keys (``<prefix>:lp:...``) hold only keyed hashes of addresses, never the addresses. When
Redis cannot answer nothing is enforced (fail open, like the rate limits): logins keep
working and the outage shows on the ``redis`` breaker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from ...resilience.breakers import Breakers, DependencyDown

log = logging.getLogger(__name__)

# KEYS: account failures, account lock, account strikes, client failures.
# ARGV: window (s), lock after, base lock (s), max lock (s), strike memory (s).
# Returns {account failures in the window, client failures, lock seconds (0: not locked)}.
RECORD_FAILURE = """
local window = tonumber(ARGV[1])
local fails = redis.call('INCR', KEYS[1])
if fails == 1 then redis.call('EXPIRE', KEYS[1], window) end
local client = redis.call('INCR', KEYS[4])
if client == 1 then redis.call('EXPIRE', KEYS[4], window) end
if fails < tonumber(ARGV[2]) then return {fails, client, 0} end
local strikes = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
local seconds = math.min(tonumber(ARGV[3]) * 2 ^ (strikes - 1), tonumber(ARGV[4]))
redis.call('SET', KEYS[2], strikes, 'EX', math.floor(seconds))
redis.call('DEL', KEYS[1])
return {fails, client, math.floor(seconds)}
"""


@dataclass(frozen=True)
class LockoutPolicy:
    window_seconds: int = 900
    lock_after: int = 5
    lock_seconds: int = 300
    max_lock_seconds: int = 86400
    memory_seconds: int = 86400
    client_failures: int = 100


@dataclass(frozen=True)
class Standing:
    """Where an account and a client stand before a login is tried."""

    locked_for: int = 0  # seconds the account stays locked (0: not locked)
    throttled_for: int = 0  # seconds the client stays throttled
    recent_failures: int = 0  # the account's failures in the current window


@dataclass(frozen=True)
class Failure:
    """What one failed login led to."""

    failures: int
    client_failures: int
    locked_for: int  # seconds of the lock it started (0: none)


class Lockout:
    """Failure windows and locks over one Redis (None: nothing enforced)."""

    def __init__(
        self, client: redis.Redis | None, prefix: str, breakers: Breakers, policy: LockoutPolicy
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._breakers = breakers
        self.policy = policy
        self._record = client.register_script(RECORD_FAILURE) if client is not None else None

    def _keys(self, account_ref: str, client_ref: str) -> list[str]:
        base = f"{self._prefix}:lp"
        return [
            f"{base}:acct:{account_ref}:fails",
            f"{base}:acct:{account_ref}:lock",
            f"{base}:acct:{account_ref}:strikes",
            f"{base}:client:{client_ref}:fails",
        ]

    def standing(self, account_ref: str, client_ref: str) -> Standing:
        """The account's lock, the client's throttle and the account's recent failures."""
        if self._redis is None:
            return Standing()
        fails, lock, _, client = self._keys(account_ref, client_ref)
        try:
            with self._breakers.guard("redis", (redis.RedisError,)):
                pipe = self._redis.pipeline(transaction=False)
                pipe.ttl(lock)
                pipe.get(fails)
                pipe.get(client)
                pipe.ttl(client)
                lock_ttl, account_fails, client_fails, client_ttl = pipe.execute()
        except (redis.RedisError, DependencyDown) as exc:
            log.warning("login lockout not enforced: Redis cannot answer (%s)", exc)
            return Standing()
        throttled = int(client_fails or 0) >= self.policy.client_failures > 0
        return Standing(
            locked_for=max(int(lock_ttl), 0),
            throttled_for=max(int(client_ttl), 1) if throttled else 0,
            recent_failures=int(account_fails or 0),
        )

    def record_failure(self, account_ref: str, client_ref: str) -> Failure:
        """Count a failed login; it may lock the account."""
        if self._record is None:
            return Failure(0, 0, 0)
        p = self.policy
        try:
            with self._breakers.guard("redis", (redis.RedisError,)):
                fails, client, seconds = self._record(
                    keys=self._keys(account_ref, client_ref),
                    args=[
                        p.window_seconds,
                        p.lock_after,
                        p.lock_seconds,
                        p.max_lock_seconds,
                        p.memory_seconds,
                    ],
                )
        except (redis.RedisError, DependencyDown) as exc:
            log.warning("failed login not counted: Redis cannot answer (%s)", exc)
            return Failure(0, 0, 0)
        return Failure(int(fails), int(client), int(seconds))

    def clear_failures(self, account_ref: str) -> None:
        """Forget the account's failures after a successful login (its lock history stays,
        so an attacker who also knows the password cannot reset the growth)."""
        if self._redis is None:
            return
        try:
            with self._breakers.guard("redis", (redis.RedisError,)):
                self._redis.delete(self._keys(account_ref, "-")[0])
        except (redis.RedisError, DependencyDown) as exc:
            log.warning("failed logins not cleared: Redis cannot answer (%s)", exc)

    def unlock(self, account_ref: str) -> bool:
        """Lift the account's lock and forget its failures and strikes; False: not locked.
        Raises :class:`redis.RedisError` when Redis cannot answer (an operator must know)."""
        if self._redis is None:
            return False
        fails, lock, strikes, _ = self._keys(account_ref, "-")
        pipe = self._redis.pipeline()
        pipe.delete(lock)
        pipe.delete(fails, strikes)
        was_locked, _ = pipe.execute()
        return bool(was_locked)
