"""`postwise up` starts the Streamlit dashboards beside the UIs, logging in through the API
the same `up` starts and linking to its MLflow UI; `postwise dashboards` runs them alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from settings_env import settings_environment

from postwise.cli import build_parser
from postwise.launcher import DASHBOARD_APP, Child, supervise, ui_children
from postwise.settings import Settings
from simulator.esp import free_port

HEALTH_SECONDS = 60


def shared_environment(home: Path) -> dict[str, str]:
    """What `postwise up` hands every child (child_environment), for building commands."""
    return {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_PREFIX": "postwise",
        "DAGSTER_HOME": str(home / "dagster"),
        "MLFLOW_TRACKING_URI": "postgresql+psycopg://postgres@127.0.0.1:5432/postwise_mlflow",
    }


def test_up_starts_streamlit_headless_against_its_own_api_and_mlflow(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["up", "--host", "0.0.0.0", "--api-port", "8100", "--mlflow-port", "5100"]
    )
    assert args.dashboard_port == 8501
    children = ui_children(
        args.host,
        args.dagster_port,
        args.mlflow_port,
        shared_environment(tmp_path),
        dashboard_port=8601,
        api_port=args.api_port,
    )
    urls = {child.name: child.url for child in children}
    assert urls["dagster-webserver"] == "http://0.0.0.0:3000"
    assert urls["mlflow"] == "http://0.0.0.0:5100"
    assert urls["dashboards"] == "http://0.0.0.0:8601"
    dashboards = next(child for child in children if child.name == "dashboards")
    assert list(dashboards.command) == [
        str(Path(sys.executable).with_name("streamlit")),
        "run",
        str(DASHBOARD_APP),
        "--server.address",
        "0.0.0.0",
        "--server.port",
        "8601",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    assert Path(dashboards.command[0]).exists() and DASHBOARD_APP.exists()
    assert dict(dashboards.environment) == {
        "DASHBOARD_API_URL": "http://0.0.0.0:8100",
        "MLFLOW_UI_URL": "http://0.0.0.0:5100",
    }
    others = [child for child in children if child.name != "dashboards"]
    assert all(not child.environment for child in others)


def test_a_child_runs_with_the_shared_environment_and_its_own(tmp_path: Path) -> None:
    probe = Child(
        "probe",
        [
            sys.executable,
            "-c",
            "import os; print(os.environ['DATABASE_PREFIX'], os.environ['DASHBOARD_API_URL'])",
        ],
        environment={"DASHBOARD_API_URL": "http://127.0.0.1:8100"},
    )
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # The probe exits at once, which ends the supervision (an exited child stops `up`).
        assert supervise([probe], {**os.environ, "DATABASE_PREFIX": "pw_probe"}, tmp_path) == 1
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert (tmp_path / "probe.log").read_text().split() == ["pw_probe", "http://127.0.0.1:8100"]


def test_postwise_dashboards_serves_the_app_on_the_configured_services(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        **settings_environment(settings, DASHBOARD_API_URL="http://127.0.0.1:8100"),
        "POSTWISE_HOME": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "postwise.cli", "dashboards", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + HEALTH_SECONDS
        healthy = False
        while not healthy and time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health").text == "ok"
            except httpx.HTTPError:
                time.sleep(0.5)
        assert healthy, f"streamlit did not answer on port {port} (exit {process.poll()})"
        assert "<title>Streamlit</title>" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode in (0, -signal.SIGTERM)
    first = output.splitlines()[0]
    assert first == f"dashboards  http://127.0.0.1:{port}  (log in through http://127.0.0.1:8100)"
    if "Traceback" in output:
        pytest.fail(output)
