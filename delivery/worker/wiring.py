"""The edge of the worker: settings turned into routes, pools, keys and a running worker.

``run_worker(settings, ...)`` is what ``postwise worker`` calls: it opens the connection
pools (region cell and control database), Redis, the render sandbox and the SMTP pools,
runs one :class:`~delivery.worker.worker.Worker` until SIGTERM or SIGINT, and closes
everything. Nothing below this module reads settings or opens connections.
"""

from __future__ import annotations

import asyncio
import base64
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from psycopg_pool import ConnectionPool, PoolTimeout

from compliance.crypto import cipher_for
from delivery.fallback.wiring import fallback_channel
from delivery.message import DkimKey, Tracking, TrackingSigner, TrackingUrls
from delivery.rendering import RenderSandbox
from delivery.retry import RetryPolicy
from delivery.routing import Route, RoutingMatrix
from delivery.smtp import SmtpPool
from delivery.throttle import ThrottlePolicy
from postwise.settings import Settings
from warehouse.db import CONNECT_TIMEOUT_SECONDS, Cells, redact
from warehouse.errors import DatabaseUnavailable

from .content import Composer, DkimKeyring
from .errors import WorkerSetupError
from .options import WorkerOptions, new_worker_id
from .store import Database
from .throttling import Throttle
from .worker import Worker

POOL_OPEN_TIMEOUT_SECONDS = 10.0


def routing_matrix(settings: Settings) -> RoutingMatrix:
    """The routes of ``ROUTES`` (or the default simulated ESPs) in the configured roles."""
    routes = {
        name: Route(
            name=name,
            host=route.host,
            port=route.port,
            regions=frozenset(route.regions),
            tls=route.tls,
            username=route.username,
            password=route.password,
            max_connections=route.max_connections,
            min_tls=route.min_tls,
            ca_file=route.ca_file,
            rate_per_second=route.rate_per_second,
        )
        for name, route in settings.delivery_routes.items()
    }
    return RoutingMatrix(
        routes=routes,
        primary=settings.route_primary,
        secondary_eu=settings.route_secondary_eu,
        secondary_other=settings.route_secondary_other,
        fallback_order=settings.route_fallback_order,
        primary_volume_limit=settings.primary_volume_limit,
    )


def dkim_keys(settings: Settings) -> dict[str, list[DkimKey]]:
    """``DKIM_KEYS`` as signing keys (the public half is not needed to sign)."""
    return {
        domain: [
            DkimKey(
                domain, key.selector, key.algorithm, _key_bytes(key.algorithm, key.private_key), b""
            )
            for key in keys
        ]
        for domain, keys in settings.dkim_keys.items()
    }


def _key_bytes(algorithm: str, text: str) -> bytes:
    if algorithm == "ed25519":
        base64.b64decode(text, validate=True)  # refuse a malformed seed at start-up
    return text.encode()


def worker_options(
    settings: Settings,
    *,
    region: str | None = None,
    concurrency: int | None = None,
    batch_size: int | None = None,
    exit_when_idle: bool = False,
) -> WorkerOptions:
    region = region or settings.default_region
    if region not in settings.regions:
        raise WorkerSetupError(f"unknown region {region!r}; configured: {settings.regions}")
    return WorkerOptions(
        region=region,
        concurrency=concurrency or settings.worker_concurrency,
        batch_size=batch_size or settings.worker_batch_size,
        lease_seconds=settings.worker_lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        exit_when_idle=exit_when_idle,
        switch_check_seconds=settings.switch_check_seconds,
        switch_db_poll_seconds=settings.switch_db_poll_seconds,
        switch_recheck_seconds=settings.switch_recheck_seconds,
        retry=RetryPolicy(first_delay=timedelta(seconds=settings.retry_first_delay_seconds)),
        worker_id=new_worker_id(),
    )


@contextmanager
def open_worker(
    settings: Settings, options: WorkerOptions, database_url: str, redis_url: str
) -> Iterator[Worker]:
    """A wired worker; its pools, Redis client and sandbox close when the block ends."""
    cells = Cells.from_settings(settings, database_url)
    pools = [
        _pool(cells.url(options.region), options, size=min(options.concurrency * 2, 16)),
        _pool(cells.url("control"), options, size=2),
    ]
    client = redis.Redis.from_url(redis_url)
    sandbox = RenderSandbox(workers=2)
    cipher = cipher_for(settings)
    fallback = fallback_channel(settings, cipher)
    try:
        sandbox.warm_up()  # ready to render before the first claim
        db = Database(*pools)
        matrix = routing_matrix(settings)
        tracking = Tracking(
            TrackingSigner(settings.tracking_secret),
            TrackingUrls(settings.tracking_base_url),
            unsubscribe_mailbox=f"unsubscribe@{settings.bounce_domain}",
        )
        keyring = DkimKeyring(
            dkim_keys(settings), generate_missing=settings.postwise_env != "production"
        )
        throttle = Throttle(
            client,
            settings.database_prefix,
            ThrottlePolicy(
                warmup_days=settings.warmup_days,
                warmup_start_per_hour=settings.warmup_start_per_hour,
                warmup_daily_growth=settings.warmup_daily_growth,
            ),
            settings.provider_rate_per_second,
        )
        smtp = {
            name: SmtpPool(route, timeout=settings.smtp_timeout_seconds)
            for name, route in matrix.routes.items()
        }
        yield Worker(
            options,
            db,
            cipher,
            Composer(sandbox, tracking, keyring, settings.bounce_domain),
            matrix,
            smtp,
            throttle,
            fallback=fallback,
        )
    finally:
        fallback.close()
        sandbox.close()
        client.close()
        for pool in pools:
            pool.close()


def _pool(url: str, options: WorkerOptions, size: int) -> ConnectionPool:
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max(2, size),
        open=False,
        check=ConnectionPool.check_connection,
        kwargs={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": f"postwise-worker {options.worker_id}"[:63],
        },
    )
    try:
        pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_SECONDS)
    except PoolTimeout:
        pool.close()
        raise DatabaseUnavailable(redact(url), "no connection within the timeout") from None
    return pool


def run_worker(
    settings: Settings,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    region: str | None = None,
    concurrency: int | None = None,
    batch_size: int | None = None,
    exit_when_idle: bool = False,
) -> Counter[str]:
    """Run one worker until SIGTERM/SIGINT (or idle); returns its counts."""
    database_url = database_url or settings.database_url
    redis_url = redis_url or settings.redis_url
    if not database_url or not redis_url:
        raise WorkerSetupError("a worker needs DATABASE_URL and REDIS_URL")
    options = worker_options(
        settings, region=region, concurrency=concurrency, batch_size=batch_size,
        exit_when_idle=exit_when_idle,
    )  # fmt: skip
    with open_worker(settings, options, database_url, redis_url) as worker:
        return asyncio.run(_run_until_signalled(worker))


async def _run_until_signalled(worker: Worker) -> Counter[str]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        return await worker.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
