"""Idempotent bulk loading with COPY: stage a batch, then merge it skipping existing keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg


def stage_and_merge(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY ``rows`` into a session-local staging table, then move them into ``table`` with
    ``INSERT ... ON CONFLICT DO NOTHING``. Runs inside the caller's transaction; returns how
    many rows were new."""
    staging = f"{table}_staging"
    column_list = ", ".join(columns)
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS "
        f"SELECT {column_list} FROM {table} WITH NO DATA"
    )
    with cur.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cur.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} "
        "ON CONFLICT DO NOTHING"
    )
    inserted = cur.rowcount
    cur.execute(f"TRUNCATE {staging}")
    return inserted


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """:func:`stage_and_merge` in a transaction of its own."""
    if not rows:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        return stage_and_merge(cur, table, columns, rows)
