"""Postwise settings: one pydantic-settings class, read from the environment and `.env`.

Everything configurable lives here and is documented in README.md's configuration table.
Build it through :func:`get_settings` (cached); tests call ``get_settings.cache_clear()``
after changing the environment.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder"})

# Fixed development keys: usable only when POSTWISE_ENV=development (refused otherwise).
_DEV_KEY_ENCRYPTION_KEY = base64.b64encode(b"postwise-development-kek-32bytes").decode()
_DEV_BLIND_INDEX_KEY = base64.b64encode(b"postwise-development-blind-index").decode()
_DEV_SECRET_KEY = "change-me"

DEFAULT_REGIONS = ("na", "eu", "apac")


class SettingsError(ValueError):
    """Settings that cannot be used (placeholder secrets in production, unknown regions)."""


class Settings(BaseSettings):
    """All of Postwise's configuration; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    postwise_env: Literal["development", "test", "production"] = "development"
    postwise_home: Path = Path(".postwise")

    database_url: str | None = None
    redis_url: str | None = None
    database_prefix: str = Field("postwise", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    control_database_url: str | None = None
    region_database_urls: dict[str, str] = Field(default_factory=dict)
    regions: Annotated[tuple[str, ...], NoDecode] = DEFAULT_REGIONS
    default_region: str = "na"

    key_encryption_key: str = _DEV_KEY_ENCRYPTION_KEY
    blind_index_key: str = _DEV_BLIND_INDEX_KEY
    secret_key: str = _DEV_SECRET_KEY

    event_retention_days: int = Field(400, ge=1)
    partitions_ahead_days: int = Field(14, ge=1, le=366)

    mlflow_tracking_uri: str | None = None
    dagster_home: Path | None = None

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_region not in self.regions:
            raise SettingsError(f"DEFAULT_REGION {self.default_region!r} is not in REGIONS")
        unknown = set(self.region_database_urls) - set(self.regions)
        if unknown:
            raise SettingsError(f"REGION_DATABASE_URLS names unknown regions: {sorted(unknown)}")
        if self.postwise_env != "development":
            self._refuse_placeholder_secrets()
        return self

    def _refuse_placeholder_secrets(self) -> None:
        defaults = {
            "KEY_ENCRYPTION_KEY": _DEV_KEY_ENCRYPTION_KEY,
            "BLIND_INDEX_KEY": _DEV_BLIND_INDEX_KEY,
            "SECRET_KEY": _DEV_SECRET_KEY,
        }
        for name, dev_value in defaults.items():
            value = getattr(self, name.lower())
            if value.strip().lower() in PLACEHOLDER_SECRETS or value == dev_value:
                raise SettingsError(
                    f"{name} has a placeholder value; set a real secret "
                    f"(refused when POSTWISE_ENV={self.postwise_env})"
                )

    @property
    def home(self) -> Path:
        """Absolute path of the local state folder (embedded services, artifacts)."""
        return self.postwise_home.resolve()

    def database_name(self, cell: str) -> str:
        """Name of the database holding ``cell`` ("control" or a region) on the default server."""
        return f"{self.database_prefix}_{cell}"

    def cell_url(self, cell: str, server_url: str) -> str:
        """Connection URL of ``cell``: its explicit URL if configured, else a database on
        the server that ``server_url`` names."""
        if cell == "control" and self.control_database_url:
            return self.control_database_url
        if cell in self.region_database_urls:
            return self.region_database_urls[cell]
        if cell != "control" and cell not in self.regions:
            raise SettingsError(f"unknown region {cell!r}; configured regions: {self.regions}")
        return with_database(server_url, self.database_name(cell))


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` instead of the one it names."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache after changing the env)."""
    return Settings()
