"""Searching every column of every table of every database of a test run, and Redis, for
identifiers: how the erasure and residency tests show where a person's data is (and is not)."""

from __future__ import annotations

import psycopg
import redis
from psycopg import sql

from warehouse.db import CONTROL, Cells

_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2
"""


def tables_of(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [(schema, table) for schema, table in conn.execute(_TABLES).fetchall()]


def search_everything(cells: Cells, needles: dict[str, str]) -> dict[str, set[str]]:
    """Every (database, table) whose rows, in any column, contain one of ``needles``
    (case-insensitive; bytea columns are searched in their hex form): the needle names found."""
    found: dict[str, set[str]] = {}
    for cell in (CONTROL, *cells.regions):
        with cells.connection(cell) as conn:
            for schema, table in tables_of(conn):
                relation = sql.Identifier(schema, table)
                for what, needle in needles.items():
                    query = sql.SQL("SELECT 1 FROM {} AS t WHERE t::text ILIKE %s LIMIT 1")
                    hit = conn.execute(query.format(relation), (f"%{needle}%",)).fetchone()
                    if hit:
                        found.setdefault(f"{cell}:{schema}.{table}", set()).add(what)
    return found


def search_redis(client: redis.Redis, prefix: str, needles: dict[str, str]) -> dict[str, set[str]]:
    """Keys under ``prefix`` whose name or (string) value contains one of ``needles``."""
    found: dict[str, set[str]] = {}
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        name = key.decode()
        text = name
        if client.type(key) == b"string":
            value = client.get(key)
            text += " " + (value.decode("utf-8", "replace") if isinstance(value, bytes) else "")
        for what, needle in needles.items():
            if needle.lower() in text.lower():
                found.setdefault(name, set()).add(what)
    return found


def table_digests(cells: Cells) -> dict[str, str]:
    """A digest of every table's rows in every database (to show nothing changed)."""
    digests: dict[str, str] = {}
    for cell in (CONTROL, *cells.regions):
        with cells.connection(cell) as conn:
            for schema, table in tables_of(conn):
                query = sql.SQL(
                    "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                    "ORDER BY t::text)), '') FROM {} AS t"
                ).format(sql.Identifier(schema, table))
                row = conn.execute(query).fetchone()
                assert row is not None
                digests[f"{cell}:{schema}.{table}"] = str(row[0])
    return digests
