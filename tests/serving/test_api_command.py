"""`postwise api` runs the app under uvicorn, configured from the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from settings_env import settings_environment

from postwise.cli import build_parser
from postwise.settings import Settings
from simulator.esp import free_port
from warehouse.db import Cells


def test_the_api_command_takes_host_port_and_workers() -> None:
    args = build_parser().parse_args(
        ["api", "--host", "0.0.0.0", "--port", "8123", "--workers", "3"]
    )
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 8123, 3)
    defaults = build_parser().parse_args(["api"])
    assert (defaults.host, defaults.port, defaults.workers) == ("127.0.0.1", 8000, 1)


def test_postwise_api_serves_the_tracking_endpoints_and_their_docs(
    api_settings: Settings, serving_cells: Cells, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, **settings_environment(api_settings)}
    process = subprocess.Popen(
        [sys.executable, "-m", "postwise.cli", "api", "--port", str(port)],
        cwd=tmp_path,  # no stray .env
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                docs = httpx.get(f"{base}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.1)
        assert {"/t/o/{token}.gif", "/t/c/{token}", "/t/u/{token}"} <= set(docs.json()["paths"])
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        pixel = httpx.get(f"{base}/t/o/whatever.gif", timeout=5)
        assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()
