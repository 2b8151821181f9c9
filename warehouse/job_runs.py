"""Runs of scheduled jobs, recorded in the database they worked on (``job_runs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def record_job_run(
    conn: psycopg.Connection, job: str, rows_done: int, details: dict[str, Any] | None = None
) -> None:
    """Note that ``job`` finished a run here, having handled ``rows_done`` rows."""
    conn.execute(
        "INSERT INTO job_runs (job, rows_done, details) VALUES (%s, %s, %s)",
        (job, rows_done, Jsonb(details or {})),
    )


def last_job_run(conn: psycopg.Connection, job: str) -> datetime | None:
    """When ``job`` last finished here, or None if it never did."""
    row = conn.execute("SELECT max(finished_at) FROM job_runs WHERE job = %s", (job,)).fetchone()
    return row[0] if row else None
