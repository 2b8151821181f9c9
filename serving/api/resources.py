"""The long-lived clients an API process shares between requests, opened at start-up and
closed at shutdown (never at import): the region cells' connection pools, Redis, and the
tracking logic built on them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from delivery.message import TrackingSigner
from postwise.settings import Settings, SettingsError
from warehouse.db import Cells

from ..auth.authenticator import Authenticator
from ..tracking import BotRules, Tracker, TrackingStore
from .ops import Operations

log = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 0.5  # a slow Redis must not hold tracking hits up


@dataclass
class Resources:
    cells: Cells
    redis: redis.Redis | None
    tracker: Tracker
    authenticator: Authenticator
    ops: Operations  # breakers, metrics, rate limits, live counters, sessions, models
    aredis: aredis.Redis | None = None  # the same Redis for the event loop (signed requests)

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Clients for ``settings``; DATABASE_URL must name the server (``postwise api``
        resolves it, starting the embedded one when nothing is configured)."""
        if not settings.database_url:
            raise SettingsError(
                "DATABASE_URL is not set: start the API with `postwise api`, which finds or "
                "starts the database"
            )
        cells = Cells.from_settings(settings, settings.database_url)
        cells.pool_max_size = settings.api_db_pool_size
        client, async_client = None, None
        if settings.redis_url:
            async_client = aredis.Redis.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                retry=AsyncRetry(NoBackoff(), 0),
            )
            client = redis.Redis.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),  # no retries: a hit must not wait on Redis
            )
        else:
            log.warning("REDIS_URL is not set: tracking hits are not de-duplicated")
        store = TrackingStore(
            cells,
            client,
            settings.database_prefix,
            dedupe_seconds=settings.tracking_dedupe_seconds,
            scanner_memory_seconds=settings.tracking_scanner_memory_seconds,
            consent_policy_version=settings.consent_policy_version,
        )
        rules = BotRules(scanner_window_seconds=settings.tracking_scanner_window_seconds)
        ops = Operations.open(settings, cells, client)
        if async_client is not None:
            ops.limiter.use_async(async_client)
        tracker = Tracker(
            TrackingSigner(settings.tracking_secret), rules, store, ops.counters.record
        )
        authenticator = Authenticator(cells, client, settings.database_prefix)
        return cls(
            cells=cells,
            redis=client,
            tracker=tracker,
            authenticator=authenticator,
            ops=ops,
            aredis=async_client,
        )

    def close(self) -> None:
        self.cells.close()
        if self.redis is not None:
            self.redis.close()

    async def aclose(self) -> None:
        """Close the event loop's clients, then the rest (:meth:`close`)."""
        await self.cells.aclose()
        if self.aredis is not None:
            await self.aredis.aclose()
        self.close()
