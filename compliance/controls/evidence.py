"""Evidence queries: each check runs its SQL through :class:`EvidenceLog`, which keeps the
query text next to its rows, so a report shows auditors exactly what was asked."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from .model import Evidence

ROWS_KEPT = 20  # rows of each query kept in the report; counts are always complete


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a database value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


class EvidenceLog:
    """Runs evidence queries and collects them for one control."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []

    def query(
        self,
        conn: psycopg.Connection,
        source: str,
        sql: str,
        params: tuple[Any, ...] | dict[str, Any] = (),
        *,
        finding: str,
    ) -> list[dict[str, Any]]:
        """Run ``sql`` on ``conn`` (the database named ``source``); keep it as evidence."""
        with conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(sql, params).fetchall()
        self.note(source, sql, rows, finding=finding)
        return rows

    def note(self, source: str, query: str, rows: list[dict[str, Any]], *, finding: str) -> None:
        """Keep evidence that was not a SQL query (a configuration read, a file listing)."""
        kept = tuple({k: _plain(v) for k, v in row.items()} for row in rows[:ROWS_KEPT])
        self.items.append(Evidence(source, textwrap.dedent(query).strip(), kept, finding))

    def evidence(self) -> tuple[Evidence, ...]:
        return tuple(self.items)
