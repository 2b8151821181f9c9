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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from postwise.dbt_env import build_all_regions
from postwise.settings import Settings, with_database
from postwise.stack import EmbeddedPostgres, EmbeddedRedis
from simulator.history import HistoryOptions, HistoryResult, simulate_history
from simulator.world import World
from warehouse.db import Cells, drop_database, ensure_database
from warehouse.migrate import temporary_cells


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
    with temporary_cells(settings, database_server_url) as cells:
        yield cells


@pytest.fixture
def redis_client(redis_url: str, run_prefix: str) -> Iterator[redis.Redis]:
    """A Redis client; keys under this run's prefix are deleted afterwards."""
    client = redis.Redis.from_url(redis_url)
    yield client
    for key in client.scan_iter(match=f"{run_prefix}:*"):
        client.delete(key)
    client.close()


# ---------------------------------------------------------------------------------------
# A simulated history with every dbt model built, for tests that read the marts.

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt"


@dataclass(frozen=True)
class MartsHistory:
    """A history written into this run's cells and the marts dbt built from it."""

    options: HistoryOptions
    result: HistoryResult

    def world(self) -> World:
        """The simulated world behind the history (ground truth for evaluation)."""
        return World(self.options.seed, self.options.contacts, self.result.start, self.options.days)


def dbt_build_all_regions(
    settings: Settings, server_url: str, workdir: Path, variables: dict[str, str]
) -> None:
    """``dbt build --full-refresh`` in every region cell of this run: marts other tests built
    on newer days would otherwise make the incremental marts skip the history's days."""
    build_all_regions(
        settings, server_url, DBT_PROJECT, workdir, variables, timeout=600, full_refresh=True
    )


@pytest.fixture(scope="session")
def marts_history(
    cells: Cells,
    settings: Settings,
    database_server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> MartsHistory:
    """1,500 contacts over 60 days, simulated and built into marts in every cell."""
    options = HistoryOptions(
        contacts=1500,
        days=60,
        seed=41,
        org_slug="marts-history",
        end=datetime(2026, 5, 1, tzinfo=UTC),
    )
    result = simulate_history(cells, settings, options, progress=False)
    dbt_build_all_regions(
        settings,
        database_server_url,
        tmp_path_factory.mktemp("dbt"),
        {"as_of": options.resolved_end().isoformat()},
    )
    return MartsHistory(options, result)


@pytest.fixture(scope="session")
def mlflow_tracking_uri(
    database_server_url: str, run_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A real MLflow tracking store: database ``<prefix>_mlflow`` and an artifact folder."""
    url = with_database(database_server_url, f"{run_prefix}_mlflow")
    ensure_database(url)
    yield (
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        tmp_path_factory.mktemp("mlartifacts"),
    )
    drop_database(url)
