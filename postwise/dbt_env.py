"""The environment the dbt project's profile reads, derived from Postwise's settings.

dbt/profiles.yml has one output per region cell; each reads ``PW_DBT_<REGION>_HOST``,
``_PORT``, ``_USER``, ``_PASSWORD`` and ``_DBNAME``. This module computes those variables
from the same settings as the rest of Postwise, so dbt always builds inside the cell that
Postwise writes to.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from .settings import Settings

DBT_PROJECT_DIR_NAME = "dbt"


def _connection_parts(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    # A unix-socket server is named by ?host=/path (libpq's form); dbt passes it through.
    host = query.get("host", [parts.hostname or "localhost"])[0]
    return {
        "HOST": host,
        "PORT": str(parts.port or int(query.get("port", ["5432"])[0])),
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "DBNAME": parts.path.lstrip("/") or "postgres",
    }


def dbt_environment(settings: Settings, server_url: str) -> dict[str, str]:
    """``PW_DBT_<REGION>_*`` variables for every configured region cell, and dbt flags."""
    # Building a subset of models must not run tests whose other parent is not built yet
    # (a relationships test towards a model of another Dagster asset): "buildable" runs a
    # test only when all its parents are selected or upstream of the selection.
    env = {"DBT_INDIRECT_SELECTION": "buildable"}
    for region in settings.regions:
        for key, value in _connection_parts(settings.cell_url(region, server_url)).items():
            env[f"PW_DBT_{region.upper()}_{key}"] = value
    return env
