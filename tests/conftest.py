"""Shared fixtures: real PostgreSQL and Redis, and databases private to this test run.

With DATABASE_URL / REDIS_URL set (CI), tests use those servers; otherwise they start
Postwise's own embedded servers in a temporary folder and stop them at the end. Either way
every run creates its own control and region databases under a random prefix and drops
them afterwards, so runs never collide.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from postwise.settings import Settings
from postwise.stack import EmbeddedPostgres, EmbeddedRedis
from warehouse.db import Cells, drop_database
from warehouse.migrate import migrate_all


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="session")
def embedded_home() -> Iterator[Path]:
    # Short path: unix socket paths are limited to about 100 characters.
    home = Path(tempfile.mkdtemp(prefix="pwt-", dir="/tmp"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def database_server_url(embedded_home: Path) -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL, or an embedded one for this run."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    server = EmbeddedPostgres(embedded_home)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_home: Path) -> Iterator[str]:
    """A Redis server: REDIS_URL, or an embedded one for this run."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(embedded_home)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """Database-name prefix unique to this test run."""
    return f"pwt_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def settings(database_server_url: str, redis_url: str, run_prefix: str) -> Settings:
    """Test settings: real random secrets (POSTWISE_ENV=test refuses placeholders)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        postwise_env="test",
        database_url=database_server_url,
        redis_url=redis_url,
        database_prefix=run_prefix,
        key_encryption_key=_random_key(),
        blind_index_key=_random_key(),
        secret_key=secrets.token_urlsafe(32),
    )


@pytest.fixture(scope="session")
def cells(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    """Migrated control and region databases for this run, dropped at the end."""
    cells = Cells.from_settings(settings, database_server_url)
    migrate_all(cells)
    yield cells
    cells.close()
    for url in cells.all_urls().values():
        drop_database(url)


@pytest.fixture
def redis_client(redis_url: str, run_prefix: str) -> Iterator[redis.Redis]:
    """A Redis client; keys under this run's prefix are deleted afterwards."""
    client = redis.Redis.from_url(redis_url)
    yield client
    for key in client.scan_iter(match=f"{run_prefix}:*"):
        client.delete(key)
    client.close()
