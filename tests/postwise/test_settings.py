"""Settings: environment and .env, cached construction, placeholder secrets refused."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from postwise.settings import Settings, get_settings


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_development_mode_runs_on_the_built_in_development_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None, postwise_env="development")
    assert settings.regions == ("na", "eu", "apac")
    assert settings.database_url is None


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize("secret", ["key_encryption_key", "blind_index_key", "secret_key"])
def test_placeholder_secrets_are_refused_outside_development(env: str, secret: str) -> None:
    real = {"key_encryption_key": _key(), "blind_index_key": _key(), "secret_key": "s" * 40}
    real[secret] = "change-me"
    with pytest.raises(ValidationError, match=secret.upper()):
        Settings(_env_file=None, postwise_env=env, **real)


def test_the_development_defaults_count_as_placeholders_in_production() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None, postwise_env="production")


def test_settings_come_from_the_environment_and_a_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("REGIONS=eu,na\nDEFAULT_REGION=eu\nEVENT_RETENTION_DAYS=30\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVENT_RETENTION_DAYS", "90")
    settings = Settings()
    assert settings.regions == ("eu", "na")
    assert settings.event_retention_days == 90  # the environment wins over .env


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("PARTITIONS_AHEAD_DAYS", "3")
    get_settings.cache_clear()
    assert get_settings().partitions_ahead_days == 3
    get_settings.cache_clear()


def test_cells_default_to_databases_on_the_database_server() -> None:
    settings = Settings(
        _env_file=None,
        database_prefix="pw",
        region_database_urls={"eu": "postgresql://eu-host/cell"},
    )
    server = "postgresql://u:p@db:5432/postgres"
    assert settings.cell_url("control", server) == "postgresql://u:p@db:5432/pw_control"
    assert settings.cell_url("na", server) == "postgresql://u:p@db:5432/pw_na"
    assert settings.cell_url("eu", server) == "postgresql://eu-host/cell"


def test_a_region_url_for_an_unknown_region_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown regions"):
        Settings(_env_file=None, region_database_urls={"mars": "postgresql://x/y"})
