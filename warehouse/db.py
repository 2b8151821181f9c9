"""Connections to the control database and the region cells.

A :class:`Cells` object is built once at start-up from the settings and a server URL and
handed to whatever needs the warehouse; business logic never opens connections itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from postwise.settings import Settings

from .errors import DatabaseUnavailable, UnknownRegion
from .regions import region_for_country

CONTROL = "control"
CONNECT_TIMEOUT_SECONDS = 5


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """Open one connection, turning connection failures into :class:`DatabaseUnavailable`."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(redact(url), reason) from None


def database_of(url: str) -> str:
    """The database name a URL points at."""
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url: str) -> bool:
    """Create the database ``url`` names if it does not exist; True when it was created."""
    name = database_of(url)
    parts = urlsplit(url)
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    with connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, disconnecting its sessions (tests and teardown)."""
    name = database_of(url)
    parts = urlsplit(url)
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    with connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass
class Cells:
    """The URLs of the control database and each region's cell, with lazily built pools."""

    control_url: str
    region_urls: dict[str, str]
    pool_max_size: int = 4
    # Connections refuse writes (dashboards): every transaction is READ ONLY.
    read_only: bool = False
    _pools: dict[str, ConnectionPool] = field(default_factory=dict, repr=False)
    _read_pools: dict[str, AsyncConnectionPool] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, server_url: str, *, read_only: bool = False
    ) -> Cells:
        """Cells as configured: explicit per-cell URLs, else databases on ``server_url``."""
        return cls(
            control_url=settings.cell_url(CONTROL, server_url),
            region_urls={
                region: settings.cell_url(region, server_url) for region in settings.regions
            },
            read_only=read_only,
        )

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self.region_urls)

    def url(self, cell: str) -> str:
        """URL of ``cell`` ("control" or a region name)."""
        if cell == CONTROL:
            return self.control_url
        try:
            return self.region_urls[cell]
        except KeyError:
            raise UnknownRegion(cell) from None

    def all_urls(self) -> dict[str, str]:
        return {CONTROL: self.control_url, **self.region_urls}

    def region_for_country(self, country: str) -> str:
        """The configured region whose cell stores data of a recipient in ``country``."""
        region = region_for_country(country)
        if region not in self.region_urls:
            raise UnknownRegion(region)
        return region

    def pool(self, cell: str) -> ConnectionPool:
        """A connection pool to ``cell``, opened on first use."""
        if cell not in self._pools:
            pool = ConnectionPool(
                self.url(cell),
                min_size=0,
                max_size=self.pool_max_size,
                open=False,
                kwargs=self._connection_options(),
            )
            pool.open(wait=False)
            self._pools[cell] = pool
        return self._pools[cell]

    def _connection_options(self) -> dict[str, object]:
        options: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if self.read_only:
            options["options"] = "-c default_transaction_read_only=on"
        return options

    @contextmanager
    def connection(self, cell: str) -> Iterator[psycopg.Connection]:
        """Borrow a connection to ``cell``; the transaction commits on success."""
        with self.pool(cell).connection() as conn:
            yield conn

    @asynccontextmanager
    async def read_connection(self, cell: str) -> AsyncIterator[psycopg.AsyncConnection]:
        """Borrow an asyncio connection to ``cell`` for reads: autocommit, so a query costs
        one round trip (no BEGIN, no COMMIT). Its pool is opened on first use, in the
        event loop that uses it; close it with :meth:`aclose`."""
        pool = self._read_pools.get(cell)
        if pool is None:
            pool = AsyncConnectionPool(
                self.url(cell),
                min_size=0,
                max_size=self.pool_max_size,
                open=False,
                kwargs={**self._connection_options(), "autocommit": True},
            )
            await pool.open(wait=False)
            kept = self._read_pools.setdefault(cell, pool)
            if kept is not pool:  # another request opened one meanwhile
                await pool.close()
                pool = kept
        async with pool.connection() as conn:
            yield conn

    async def aclose(self) -> None:
        """Close the asyncio read pools (see :meth:`read_connection`)."""
        pools, self._read_pools = list(self._read_pools.values()), {}
        for pool in pools:
            await pool.close()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def __enter__(self) -> Cells:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
