"""The API process's authenticator: signed-request checks against the control database's
keys (cached briefly) and nonces claimed in Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import psycopg
import redis

from warehouse.db import Cells

from ..errors import ServiceUnavailable
from .authenticate import check_signed_request
from .keys import StoredKey, find_key
from .roles import Principal
from .signing import MAX_SKEW_SECONDS

KEY_CACHE_SECONDS = 5.0  # a revocation takes effect within this
NONCE_TTL_SECONDS = 2 * MAX_SKEW_SECONDS  # a nonce outlives every timestamp it could carry


class Authenticator:
    def __init__(
        self,
        cells: Cells,
        client: redis.Redis | None,
        prefix: str,
        *,
        key_cache_seconds: float = KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cells = cells
        self._redis = client
        self._prefix = prefix
        self._cache_seconds = key_cache_seconds
        self._clock = clock
        self._keys: dict[str, tuple[float, StoredKey | None]] = {}
        self._lock = threading.Lock()

    def authenticate(
        self,
        headers: Mapping[str, str],
        method: str,
        path: str,
        body: bytes,
        *,
        body_sha512: str = "",
    ) -> Principal:
        return check_signed_request(
            headers,
            method,
            path,
            body,
            self._clock(),
            self._find_key,
            self._claim_nonce,
            body_sha512=body_sha512,
        )

    def _find_key(self, prefix: str) -> StoredKey | None:
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(prefix)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            with self._cells.connection("control") as conn:
                stored = find_key(conn, prefix)
        except psycopg.OperationalError as exc:
            raise ServiceUnavailable(f"the control database cannot answer: {exc}") from None
        with self._lock:
            self._keys[prefix] = (now, stored)
        return stored

    def _claim_nonce(self, stored: StoredKey, nonce: str) -> bool:
        if self._redis is None:
            raise ServiceUnavailable("replay protection needs Redis (REDIS_URL)")
        key = f"{self._prefix}:nonce:{stored.key_id}:{nonce}"
        try:
            return bool(self._redis.set(key, 1, nx=True, ex=NONCE_TTL_SECONDS))
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"Redis cannot answer: {exc}") from None
