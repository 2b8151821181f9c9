"""The environment the dbt project's profile reads, derived from Postwise's settings.

dbt/profiles.yml has one output per region cell; each reads ``PW_DBT_<REGION>_HOST``,
``_PORT``, ``_USER``, ``_PASSWORD`` and ``_DBNAME``. This module computes those variables
from the same settings as the rest of Postwise, so dbt always builds inside the cell that
Postwise writes to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
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


class DbtBuildError(RuntimeError):
    """``dbt build`` failed in a region cell; the message ends with dbt's last output."""


def build_all_regions(
    settings: Settings,
    server_url: str,
    project_dir: Path,
    workdir: Path,
    variables: dict[str, str] | None = None,
    *,
    timeout: float = 1800.0,
    full_refresh: bool = False,
) -> None:
    """``dbt build`` of every model in every region cell, the cells in parallel (they are
    separate databases). dbt's target and log folders go under ``workdir/<region>``.
    ``full_refresh`` rebuilds incremental marts from scratch: without it they only rebuild
    from their newest loaded day, and history older than that is not (re)loaded."""
    env = {
        **os.environ,
        **dbt_environment(settings, server_url),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    procs = {}
    for region in settings.regions:
        out = workdir / region
        command = [dbt, "build", "--project-dir", str(project_dir)]
        command += ["--profiles-dir", str(project_dir), "--target", region]
        command += ["--target-path", str(out / "target"), "--log-path", str(out / "logs")]
        command += ["--vars", json.dumps(variables or {})]
        command += ["--full-refresh"] if full_refresh else []
        procs[region] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    failed = []
    for region, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            failed.append(f"dbt build --target {region} timed out after {timeout:.0f} s")
            continue
        if proc.returncode != 0:
            failed.append(f"dbt build --target {region} failed:\n{output[-6000:]}")
    if failed:
        raise DbtBuildError("\n".join(failed))
