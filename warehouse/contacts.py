"""Contacts and messages in a region cell, written in bulk with COPY.

Rows arrive already sealed (see ``compliance.crypto``): this module never sees plaintext
personal data, it stores ciphertext and the blind index.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import psycopg

from .bulk import copy_rows


class ContactRow(NamedTuple):
    """One ``contacts`` row (column order is the COPY order)."""

    contact_id: uuid.UUID
    org_id: uuid.UUID
    email_ciphertext: bytes
    email_blind_index: bytes
    name_ciphertext: bytes | None
    wrapped_data_key: bytes
    kek_version: int
    email_domain: str
    country: str
    region: str
    time_zone: str
    locale: str
    attributes: str  # JSON text
    status: str
    created_at: datetime
    retention_until: date | None


class MessageRow(NamedTuple):
    """One ``messages`` row as loaded from history or enqueued in bulk."""

    message_id: uuid.UUID
    org_id: uuid.UUID
    campaign_id: uuid.UUID | None
    campaign_type: str
    contact_id: uuid.UUID
    template_id: uuid.UUID | None
    template_version: int | None
    variant: str | None
    variant_probability: float | None
    variables: str  # JSON text
    status: str
    scheduled_at: datetime
    attempts: int
    next_attempt_at: datetime
    route: str | None
    smtp_code: int | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    sending_domain: str | None = None
    attachment_types: tuple[str, ...] = ()


def insert_contacts(conn: psycopg.Connection, rows: Sequence[ContactRow]) -> int:
    """Bulk-insert sealed contacts; existing contact ids or addresses are left alone."""
    return copy_rows(conn, "contacts", ContactRow._fields, rows)


def insert_messages(conn: psycopg.Connection, rows: Sequence[MessageRow]) -> int:
    """Bulk-insert messages; existing message ids are left alone."""
    # COPY writes a list as a PostgreSQL array; the row keeps an immutable tuple in its
    # last field, attachment_types.
    as_arrays = [(*row[:-1], list(row.attachment_types)) for row in rows]
    return copy_rows(conn, "messages", MessageRow._fields, as_arrays)


def find_contact_id(
    conn: psycopg.Connection, org_id: uuid.UUID, blind_index: bytes
) -> uuid.UUID | None:
    """The contact with this address (by blind index) in ``org_id``, if any."""
    row = conn.execute(
        "SELECT contact_id FROM contacts WHERE org_id = %s AND email_blind_index = %s",
        (org_id, blind_index),
    ).fetchone()
    return row[0] if row else None


def to_json(value: dict[str, Any]) -> str:
    """Compact JSON text for JSONB columns written through COPY."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
