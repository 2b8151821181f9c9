"""The environment variables that make a `postwise` command (in a subprocess, or `main()`
after ``get_settings.cache_clear()``) use the same settings as a test."""

from __future__ import annotations

import os
from pathlib import Path

from postwise.settings import Settings


def settings_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """Variables naming ``settings``' servers, database prefix and secrets, plus
    ``overrides`` (upper-case names)."""
    return {
        "POSTWISE_ENV": settings.postwise_env,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "DATABASE_PREFIX": settings.database_prefix,
        "SECRET_KEY": settings.secret_key,
        "KEY_ENCRYPTION_KEY": settings.key_encryption_key,
        "BLIND_INDEX_KEY": settings.blind_index_key,
        **overrides,
    }


def development_cli(
    database_server_url: str, database_prefix: str, home: Path
) -> tuple[Settings, dict[str, str]]:
    """Development settings on cells of their own (``database_prefix``), and the
    environment a ``postwise`` subprocess uses them with (no POSTWISE_* variable of the
    test process leaks in; ``home`` is its POSTWISE_HOME)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        postwise_env="development",
        database_url=database_server_url,
        database_prefix=database_prefix,
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSTWISE")},
        "DATABASE_URL": database_server_url,
        "DATABASE_PREFIX": database_prefix,
        "POSTWISE_HOME": str(home),
        "POSTWISE_ENV": "development",
    }
    return settings, environment
