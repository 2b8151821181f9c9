"""The erasure cascade inside one region cell: every row about one contact, set-based.

What happens to each table (the contact's id is replaced by a fresh random pseudonym
wherever a row is kept, so no row names the contact any more):

- ``contacts``: kept as a tombstone with status ``erased`` under the pseudonym; the wrapped
  data key and both ciphertexts are overwritten with empty bytes (crypto-shredding: any
  copy of the ciphertexts can no longer be opened through this row), the blind index with
  random bytes, the address's domain and the attributes cleared. Country and region stay:
  they say which cell the tombstone belongs to and identify no one.
- ``messages``: kept under the pseudonym for campaign, billing and deliverability totals;
  ``variables`` (render data, often personal), ``idempotency_key`` (callers put contact ids
  in it) and ``last_error`` (SMTP replies quote the address) are cleared; messages not yet
  sent are cancelled. ``message_idempotency_keys`` rows of those messages are deleted.
- ``email_events``: deleted (opens and clicks carry IP addresses, user agents and URLs),
  by the ``(contact_id, event_time)`` and ``message_id`` indexes; the hourly rollup keeps
  the counts it had already aggregated. Events already in the cold-storage archive were
  sealed under the contact's data key, destroyed below: the archive index
  (``event_archive_subjects``) records those partitions as shredded for the subject.
- ``consents``: deleted. ``consent_events``: kept under the pseudonym without IP address
  and user agent: that consent was given, when, how and under which policy is what shows
  the messages kept above were lawful; who gave it is gone.
- ``recipient_send_times`` and every other table (in any schema, dbt marts included) with
  a ``contact_id`` column: the contact's rows deleted. Rows removed from tables outside the
  ``public`` schema (the marts models are trained on) are reported as training rows.
- ``suppressions``: one row with reason ``erasure`` keyed by the blind index (replacing any
  other reason), the standard "do not contact" record that keeps a re-import or an API
  send from silently mailing the person again. It is the only place the blind index stays.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ..archive.index import Shredded, shred_subject
from ..subjects import subject_hash

# Tables the cascade treats one by one; every other table with a contact_id is swept.
_HANDLED = frozenset(
    {
        ("public", "contacts"),
        ("public", "messages"),
        ("public", "email_events"),
        ("public", "consents"),
        ("public", "consent_events"),
    }
)
_SWEPT_TABLES = """
SELECT n.nspname, c.relname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attname = 'contact_id' AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2
"""


@dataclass
class ContactErasure:
    """What the cascade did for one contact: row counts per table."""

    pseudonym: uuid.UUID
    message_ids: list[uuid.UUID]
    removed: dict[str, int] = field(default_factory=dict)
    pseudonymized: dict[str, int] = field(default_factory=dict)
    training_rows: dict[str, int] = field(default_factory=dict)
    archive: Shredded = field(default_factory=lambda: Shredded([], 0))


def live_contacts(
    conn: psycopg.Connection, org_id: uuid.UUID, blind_index: bytes
) -> list[uuid.UUID]:
    """The org's contacts with this address not yet erased, locked until the transaction ends."""
    rows = conn.execute(
        "SELECT contact_id FROM contacts WHERE org_id = %s AND email_blind_index = %s "
        "AND status <> 'erased' FOR UPDATE",
        (org_id, blind_index),
    ).fetchall()
    return [row[0] for row in rows]


def message_ids_of(conn: psycopg.Connection, contact_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of every message to the contact (the keys Redis and events also hang on)."""
    rows = conn.execute(
        "SELECT message_id FROM messages WHERE contact_id = %s", (contact_id,)
    ).fetchall()
    return [row[0] for row in rows]


def erase_contact(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    contact_id: uuid.UUID,
    blind_index: bytes,
    message_ids: Sequence[uuid.UUID],
    *,
    suppress: bool = True,
) -> ContactErasure:
    """Run the cascade for one contact in the caller's transaction (see the module docs);
    ``suppress=False`` (data expiration) leaves the suppressions as they are."""
    done = ContactErasure(pseudonym=uuid.uuid4(), message_ids=list(message_ids))
    removed, kept = done.removed, done.pseudonymized
    pseudonym = done.pseudonym

    def run(query: str, params: Sequence[object]) -> int:
        return conn.execute(query, params).rowcount

    removed["email_events"] = run(
        "DELETE FROM email_events WHERE contact_id = %s", (contact_id,)
    ) + run("DELETE FROM email_events WHERE message_id = ANY(%s)", (list(message_ids),))
    done.archive = shred_subject(conn, org_id, subject_hash(blind_index))
    removed["message_idempotency_keys"] = run(
        "DELETE FROM message_idempotency_keys WHERE org_id = %s AND message_id = ANY(%s)",
        (org_id, list(message_ids)),
    )
    # The PDFs of the fallback channel: sealed under the shredded key already, gone now.
    removed["fallback_documents"] = run(
        "DELETE FROM fallback_documents WHERE message_id = ANY(%s)", (list(message_ids),)
    )
    kept["messages"] = run(
        "UPDATE messages SET contact_id = %s, variables = '{}'::jsonb, idempotency_key = NULL, "
        "last_error = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(), "
        "status = CASE WHEN status IN ('queued', 'deferred', 'sending') THEN 'cancelled' "
        "ELSE status END WHERE contact_id = %s",
        (pseudonym, contact_id),
    )
    removed["consents"] = run("DELETE FROM consents WHERE contact_id = %s", (contact_id,))
    kept["consent_events"] = run(
        "UPDATE consent_events SET contact_id = %s, ip = NULL, user_agent = NULL "
        "WHERE contact_id = %s",
        (pseudonym, contact_id),
    )
    for schema, table, column_type in conn.execute(_SWEPT_TABLES).fetchall():
        if (schema, table) in _HANDLED:
            continue
        count = _delete_rows_of(conn, schema, table, column_type, contact_id)
        removed[f"{schema}.{table}" if schema != "public" else table] = count
        if schema != "public" and count:
            done.training_rows[f"{schema}.{table}"] = count
    if suppress:
        removed["suppressions"] = run(
            "DELETE FROM suppressions WHERE org_id = %s AND email_blind_index = %s",
            (org_id, blind_index),
        )
        conn.execute(
            "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
            "VALUES (%s, %s, 'erasure', 'erasure')",
            (org_id, blind_index),
        )
        # A behavioural spam-trap entry was derived from the contact's history; the erasure
        # suppression above keeps the address from being mailed without it.
        traps = run(
            "DELETE FROM spam_traps WHERE org_id = %s AND email_blind_index = %s",
            (org_id, blind_index),
        )
        if traps:
            removed["spam_traps"] = traps
    kept["contacts"] = run(
        "UPDATE contacts SET contact_id = %s, status = 'erased', email_ciphertext = ''::bytea, "
        "name_ciphertext = NULL, phone_ciphertext = NULL, wrapped_data_key = ''::bytea, "
        "email_blind_index = %s, "
        "email_domain = '', attributes = '{}'::jsonb, retention_until = NULL, "
        "updated_at = now() WHERE contact_id = %s",
        (pseudonym, os.urandom(32), contact_id),
    )
    return done


def _delete_rows_of(
    conn: psycopg.Connection, schema: str, table: str, column_type: str, contact_id: uuid.UUID
) -> int:
    # A uuid column is compared as such (its index is used); marts that carry the id as
    # text are compared by text.
    column = sql.Identifier("contact_id")
    key = column if column_type == "uuid" else sql.SQL("{}::text").format(column)
    value = contact_id if column_type == "uuid" else str(contact_id)
    query = sql.SQL("DELETE FROM {}.{} WHERE {} = %s").format(
        sql.Identifier(schema), sql.Identifier(table), key
    )
    return conn.execute(query, (value,)).rowcount
