"""The local stack: Dagster's home and UIs, MLflow and the dashboards as child processes of
`postwise up`.

Everything the children need is resolved here once (embedded or configured services) and
handed to them through their environment, so every process sees the same warehouse.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.db import ensure_database

from .dbt_env import dbt_environment
from .runtime import ServiceUrls
from .settings import Settings, with_database
from .stack import stop_process

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt"
DASHBOARD_APP = ROOT / "dashboards" / "app.py"
DAGSTER_YAML = """\
# Written by `postwise up`: run, event-log and schedule storage in PostgreSQL.
storage:
  postgres:
    postgres_url:
      env: DAGSTER_POSTGRES_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Child:
    name: str
    command: Sequence[str]
    url: str | None = None
    # Variables this child gets on top of the environment shared by every child.
    environment: Mapping[str, str] = field(default_factory=dict)


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME: the setting if given, else ``.postwise/dagster``."""
    return (settings.dagster_home or settings.home / "dagster").resolve()


def mlflow_tracking_uri(settings: Settings, urls: ServiceUrls) -> str:
    """MLFLOW_TRACKING_URI, else the database ``mlflow`` on the warehouse server."""
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    return with_database(urls.database_url, f"{settings.database_prefix}_mlflow").replace(
        "postgresql://", "postgresql+psycopg://", 1
    )


def child_environment(settings: Settings, urls: ServiceUrls) -> dict[str, str]:
    """The environment every child process runs with."""
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    dagster_db = with_database(urls.database_url, f"{settings.database_prefix}_dagster")
    ensure_database(dagster_db)
    yaml_path = home / "dagster.yaml"
    if not yaml_path.exists():
        yaml_path.write_text(DAGSTER_YAML)
    tracking = mlflow_tracking_uri(settings, urls)
    if not settings.mlflow_tracking_uri:
        ensure_database(with_database(urls.database_url, f"{settings.database_prefix}_mlflow"))
    return {
        **os.environ,
        **dbt_environment(settings, urls.database_url),
        "DATABASE_URL": urls.database_url,
        "REDIS_URL": urls.redis_url,
        "DATABASE_PREFIX": settings.database_prefix,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_db,
        "MLFLOW_TRACKING_URI": tracking,
    }


def dashboards_environment(settings: Settings, urls: ServiceUrls) -> dict[str, str]:
    """The environment of `postwise dashboards` alone: the resolved warehouse and Redis,
    MLflow's tracking store as `postwise up` names it, and the API and MLflow UI as
    configured (``DASHBOARD_API_URL``, ``MLFLOW_UI_URL``)."""
    return {
        **os.environ,
        "DATABASE_URL": urls.database_url,
        "REDIS_URL": urls.redis_url,
        "DATABASE_PREFIX": settings.database_prefix,
        "MLFLOW_TRACKING_URI": mlflow_tracking_uri(settings, urls),
        "DASHBOARD_API_URL": settings.dashboard_api_url,
        "MLFLOW_UI_URL": settings.mlflow_ui_url,
    }


def ensure_dbt_manifest(env: Mapping[str, str]) -> Path:
    """Run `dbt parse` when the manifest is missing or older than any file of the project."""
    manifest = DBT_DIR / "target" / "manifest.json"
    sources = [
        p
        for p in DBT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".yaml"} and "target" not in p.parts
    ]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    dbt = str(Path(sys.executable).with_name("dbt"))
    subprocess.run(
        [dbt, "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet"],
        check=True,
        env=dict(env),
        cwd=DBT_DIR,
    )
    return manifest


def streamlit_command(host: str, port: int) -> list[str]:
    """``streamlit run`` of the dashboards' entry file on ``host:port``: headless (no browser
    opened on the server), without Streamlit's usage statistics, and with the viewer's
    toolbar (no developer menu or deploy button for marketers)."""
    return [
        str(Path(sys.executable).with_name("streamlit")),
        "run",
        str(DASHBOARD_APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def dashboards_child(host: str, port: int, api_url: str, mlflow_ui_url: str) -> Child:
    """The Streamlit dashboards, logging in through the API at ``api_url`` and linking to
    the MLflow UI at ``mlflow_ui_url``."""
    return Child(
        "dashboards",
        streamlit_command(host, port),
        f"http://{host}:{port}",
        {"DASHBOARD_API_URL": api_url, "MLFLOW_UI_URL": mlflow_ui_url},
    )


def ui_children(
    host: str,
    dagster_port: int,
    mlflow_port: int,
    env: Mapping[str, str],
    *,
    dashboard_port: int = 8501,
    api_port: int = 8000,
) -> list[Child]:
    """The long-running processes `postwise up` supervises; the dashboards log in through
    the API the same `up` starts on ``api_port``."""
    bin_dir = Path(sys.executable).parent
    artifacts = Path(env["DAGSTER_HOME"]).parent / "mlartifacts"
    return [
        Child(
            "dagster-webserver",
            [
                str(bin_dir / "dagster-webserver"),
                "-m",
                "pipelines.definitions",
                "-h",
                host,
                "-p",
                str(dagster_port),
            ],
            f"http://{host}:{dagster_port}",
        ),
        Child(
            "dagster-daemon",
            [str(bin_dir / "dagster-daemon"), "run", "-m", "pipelines.definitions"],
        ),
        Child(
            "mlflow",
            [
                str(bin_dir / "mlflow"),
                "server",
                "--host",
                host,
                "--port",
                str(mlflow_port),
                "--backend-store-uri",
                env["MLFLOW_TRACKING_URI"],
                "--artifacts-destination",
                str(artifacts),
                "--workers",
                "1",
            ],
            f"http://{host}:{mlflow_port}",
        ),
        dashboards_child(
            host, dashboard_port, f"http://{host}:{api_port}", f"http://{host}:{mlflow_port}"
        ),
    ]


def supervise(children: Sequence[Child], env: Mapping[str, str], log_dir: Path) -> int:
    """Start ``children``, wait until one exits or SIGINT/SIGTERM, then stop them all."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[Child, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        # The child writes to its own copy of the descriptor; ours is closed at once.
        with open(log_dir / f"{child.name}.log", "ab") as out:
            process = subprocess.Popen(
                child.command,
                env={**env, **child.environment},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        processes.append((child, process))
    exit_code = 0
    while not stopping:
        for child, process in processes:
            if process.poll() is not None:
                log.error(
                    "%s exited with %s; see %s",
                    child.name,
                    process.returncode,
                    log_dir / f"{child.name}.log",
                )
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for _, process in processes:
        if process.poll() is None:
            process.terminate()
    for _, process in processes:
        stop_process(process, grace=20.0)
    return exit_code
