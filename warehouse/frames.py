"""Read-only queries into pandas DataFrames (for pipelines and dashboards)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql


def read_frame(
    conn: psycopg.Connection,
    query: str | sql.Composed,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame with the query's column names."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [column.name for column in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def read_table(
    conn: psycopg.Connection, schema: str, table: str, where: str = "", params: Sequence[Any] = ()
) -> pd.DataFrame:
    """A whole table (optionally filtered by a parameterised ``where`` clause)."""
    query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    if where:
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(where))
    return read_frame(conn, query, params)
