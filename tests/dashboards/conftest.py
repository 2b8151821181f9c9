"""Fixtures of the dashboard tests: the settings the app reads (the run's cells, the
seeded marts history), through the environment as a deployed app would get them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from login_kit import forget_api_keys, serve_api
from settings_env import settings_environment

from dashboards.cache import current_sources
from postwise.settings import Settings, get_settings
from warehouse.db import Cells


@pytest.fixture
def dashboard_environment(settings: Settings) -> Iterator[dict[str, str]]:
    """The app's environment: this run's servers, cells and secrets, for one test (the
    process environment is everyone's: later tests must not inherit it)."""
    environment = settings_environment(settings)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield environment
    get_settings.cache_clear()


@pytest.fixture
def app_settings(dashboard_environment: dict[str, str]) -> Settings:
    """The settings the app sees; its sources open from them."""
    get_settings.cache_clear()
    current_sources()
    return get_settings()


@pytest.fixture
def audit_record_dirs(
    app_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path]]:
    """Empty folders of signed audit checkpoints and of controls reports, of this test
    only, that the app reads (AUDIT_CHECKPOINT_DIR, CONTROLS_REPORT_DIR)."""
    checkpoints = tmp_path_factory.mktemp("audit-checkpoints")
    reports = tmp_path_factory.mktemp("controls-reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIT_CHECKPOINT_DIR", str(checkpoints))
        patch.setenv("CONTROLS_REPORT_DIR", str(reports))
        get_settings.cache_clear()
        current_sources()
        yield checkpoints, reports
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def dashboard_api_url(settings: Settings, cells: Cells) -> Iterator[str]:
    """The real API (uvicorn on loopback, the run's cells) the dashboards log in through."""
    with serve_api(settings) as url:
        yield url
    forget_api_keys(settings, f"{settings.database_prefix}:*")


@pytest.fixture
def login_settings(
    dashboard_environment: dict[str, str], dashboard_api_url: str
) -> Iterator[Settings]:
    """The app's settings with ``DASHBOARD_API_URL`` naming the test API."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DASHBOARD_API_URL", dashboard_api_url)
        get_settings.cache_clear()
        current_sources()
        yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def main_module_kept() -> Iterator[None]:
    """Streamlit runs an app as ``__main__``; put the real one back after each test, or
    every process later tests spawn (the rendering sandbox) would import the app again."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
