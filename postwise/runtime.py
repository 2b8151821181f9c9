"""Where the running services are: configured URLs, or embedded servers started on demand."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from warehouse.db import Cells

from .settings import Settings
from .stack import EmbeddedPostgres, EmbeddedRedis, check_database, check_redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str  # the server's maintenance database; cells are databases beside it
    redis_url: str
    embedded_database: bool
    embedded_redis: bool


def resolve_database_url(settings: Settings) -> tuple[str, bool]:
    """DATABASE_URL if set (checked to answer), else the embedded server, started if needed."""
    if settings.database_url:
        check_database(settings.database_url)
        return settings.database_url, False
    return EmbeddedPostgres(settings.home).start(), True


def resolve_redis_url(settings: Settings) -> tuple[str, bool]:
    """REDIS_URL if set (checked to answer), else the embedded server, started if needed."""
    if settings.redis_url:
        check_redis(settings.redis_url)
        return settings.redis_url, False
    return EmbeddedRedis(settings.home).start(), True


def resolve_services(settings: Settings) -> ServiceUrls:
    """Both services' URLs, starting embedded servers for whatever is not configured."""
    database_url, embedded_db = resolve_database_url(settings)
    redis_url, embedded_redis = resolve_redis_url(settings)
    return ServiceUrls(database_url, redis_url, embedded_db, embedded_redis)


def open_cells(settings: Settings, database_url: str) -> Cells:
    """The control database and region cells on the resolved server."""
    return Cells.from_settings(settings, database_url)
