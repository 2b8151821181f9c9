"""Short-lived second-factor state in Redis: WebAuthn challenges (one per user and purpose,
taken once, expiring) and the TOTP steps already used (a code works once).

Without Redis neither can be kept safely, so both fail closed (503).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import redis

from ...errors import ServiceUnavailable

CHALLENGE_SECONDS = 300
USED_STEP_SECONDS = 120  # longer than a code's whole acceptance window (3 steps of 30 s)


class ChallengeStore:
    def __init__(self, client: redis.Redis | None, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def put(
        self, purpose: str, user_id: uuid.UUID, challenge: bytes, ttl: int = CHALLENGE_SECONDS
    ) -> None:
        """Remember ``challenge`` for the user's next ``purpose`` answer (replacing any)."""
        self._call(lambda r: r.set(self._key(purpose, user_id), challenge, ex=ttl))

    def take(self, purpose: str, user_id: uuid.UUID) -> bytes | None:
        """The live challenge, which is used up by this call; None when none is live."""
        value = self._call(lambda r: r.getdel(self._key(purpose, user_id)))
        return bytes(value) if value is not None else None

    def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """True the first time ``step``'s code of the user is used."""
        key = f"{self._prefix}:mfa:totp-used:{user_id}:{step}"
        return bool(self._call(lambda r: r.set(key, 1, nx=True, ex=USED_STEP_SECONDS)))

    def _key(self, purpose: str, user_id: uuid.UUID) -> str:
        return f"{self._prefix}:mfa:challenge:{purpose}:{user_id}"

    def _call(self, command: Callable[[redis.Redis], Any]) -> Any:
        if self._redis is None:
            raise ServiceUnavailable("second factors need Redis (REDIS_URL)")
        try:
            return command(self._redis)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"Redis cannot answer: {exc}") from None
