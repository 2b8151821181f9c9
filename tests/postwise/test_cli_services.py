"""The `postwise` command: embedded services start, are reused, stop; clear one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTWISE = [sys.executable, "-m", "postwise.cli"]


def run_postwise(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*POSTWISE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["POSTWISE_HOME"] = str(home)
    return env


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pwc-", dir="/tmp"))
    yield path
    subprocess.run(
        [*POSTWISE, "services", "stop"],
        env=base_env(path),
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_embedded_services_start_are_reused_and_stop(home: Path) -> None:
    env = base_env(home)
    started = run_postwise("services", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert "(embedded)" in started.stdout and str(home) in started.stdout

    status = run_postwise("services", "status", env=env)
    running_pids = [
        line.split()[2]
        for line in status.stdout.splitlines()
        if line.startswith(("postgresql", "redis")) and " running " in line
    ]
    assert len(running_pids) == 2, status.stdout

    again = run_postwise("services", "start", env=env)
    assert again.returncode == 0
    status_again = run_postwise("services", "status", env=env)
    assert [
        line.split()[2] for line in status_again.stdout.splitlines() if " running " in line
    ] == running_pids  # reused, not restarted

    migrated = run_postwise("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "na" in migrated.stdout

    stopped = run_postwise("services", "stop", env=env)
    assert stopped.returncode == 0
    assert stopped.stdout.count("stopped") == 2
    final = run_postwise("services", "status", env=env)
    assert " running " not in final.stdout


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_an_unreachable_database_url_gives_a_one_line_error(home: Path) -> None:
    env = base_env(home) | {"DATABASE_URL": "postgresql://postgres:secret@127.0.0.1:1/postgres"}
    result = run_postwise("migrate", env=env)
    assert_one_line_error(result, "postwise: error:", "DATABASE_URL", "127.0.0.1:1")
    assert "secret" not in result.stderr  # the password is redacted


def test_an_unreachable_redis_url_gives_a_one_line_error(
    home: Path, database_server_url: str
) -> None:
    env = base_env(home) | {
        "DATABASE_URL": database_server_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = run_postwise("services", "start", env=env)
    assert_one_line_error(result, "REDIS_URL", "127.0.0.1:1")


def test_placeholder_secrets_in_production_give_a_one_line_error(home: Path) -> None:
    env = base_env(home) | {"POSTWISE_ENV": "production", "SECRET_KEY": "change-me"}
    result = run_postwise("migrate", env=env)
    assert_one_line_error(result, "placeholder")


def test_bad_arguments_are_refused_with_a_message(home: Path) -> None:
    result = run_postwise("simulate", "history", "--contacts", "-5", env=base_env(home))
    assert result.returncode == 2
    assert "must be positive" in result.stderr
