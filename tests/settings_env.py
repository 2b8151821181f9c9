"""The environment variables that make a `postwise` command (in a subprocess, or `main()`
after ``get_settings.cache_clear()``) use the same settings as a test."""

from __future__ import annotations

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
