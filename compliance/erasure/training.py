"""Model training leaves erased data subjects out.

An erasure keeps some rows under a random pseudonym (messages, for campaign totals), and a
mart built from them before or after the erasure may still hold that pseudonym. Training
reads its inputs through :func:`read_training_table`, which drops every row whose
``contact_id`` is the pseudonym of an erased contact (``erased_subjects``).
"""

from __future__ import annotations

import pandas as pd
import psycopg

from warehouse.frames import read_table

# Compared as text, so a mart that carries the id as text is filtered too; rows without a
# contact id are kept.
NOT_ERASED = (
    "NOT EXISTS (SELECT 1 FROM public.erased_subjects AS erased "
    "WHERE erased.pseudonym::text = contact_id::text)"
)


def read_training_table(conn: psycopg.Connection, schema: str, table: str) -> pd.DataFrame:
    """A training input table (it has a ``contact_id``) without erased subjects' rows."""
    return read_table(conn, schema, table, where=NOT_ERASED)
