"""The API process's authenticator: signed-request checks against the control database's
keys (cached briefly) and nonces claimed in Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Mapping

import psycopg
import redis
from starlette.concurrency import run_in_threadpool

from warehouse.db import Cells

from ..errors import AuthenticationFailed, ServiceUnavailable
from .authenticate import REPLAYED, check_signed_request, key_prefix, principal_of, verified_key
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

    async def authenticate_async(
        self,
        headers: Mapping[str, str],
        method: str,
        path: str,
        body: bytes,
        claim_and_admit: Callable[[Principal, str, int], Awaitable[bool]],
    ) -> Principal:
        """:meth:`authenticate` in the event loop, the nonce claimed (and the caller admitted)
        by ``claim_and_admit(principal, nonce key, nonce lifetime)`` (False: already used);
        only a key not cached is looked up in a worker thread."""
        prefix = key_prefix(headers)
        if prefix is not None and self._cached(prefix) is None:
            await run_in_threadpool(self._find_key, prefix)
        stored, nonce = verified_key(headers, method, path, body, self._clock(), self._find_key)
        if self._redis is None:
            raise ServiceUnavailable("replay protection needs Redis (REDIS_URL)")
        principal = principal_of(stored)
        try:
            claimed = await claim_and_admit(
                principal, self._nonce_key(stored, nonce), NONCE_TTL_SECONDS
            )
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"Redis cannot answer: {exc}") from None
        if not claimed:
            raise AuthenticationFailed(*REPLAYED)
        return principal

    def _cached(self, prefix: str) -> tuple[float, StoredKey | None] | None:
        """The cached look-up of ``prefix`` while it is fresh."""
        with self._lock:
            cached = self._keys.get(prefix)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached
        return None

    def _find_key(self, prefix: str) -> StoredKey | None:
        now = time.monotonic()
        cached = self._cached(prefix)
        if cached is not None:
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
        try:
            return bool(
                self._redis.set(self._nonce_key(stored, nonce), 1, nx=True, ex=NONCE_TTL_SECONDS)
            )
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"Redis cannot answer: {exc}") from None

    def _nonce_key(self, stored: StoredKey, nonce: str) -> str:
        """The nonce's key; the organization's hash tag puts it in the Redis Cluster slot of
        the request's rate-limit keys (see :mod:`serving.limits.window`), which one script
        updates together."""
        return f"{self._prefix}:nonce:{{{stored.org_id}}}:{stored.key_id}:{nonce}"
