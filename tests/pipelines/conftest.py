"""The dbt manifest the Dagster definitions are built from, prepared once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postwise.dbt_env import dbt_environment
from postwise.launcher import ensure_dbt_manifest
from postwise.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(settings: Settings, database_server_url: str) -> Path:
    env = {**os.environ, **dbt_environment(settings, database_server_url)}
    return ensure_dbt_manifest(env)
