"""Data expiration: contacts whose ``retention_until`` date has passed are anonymized.

:func:`anonymize_expired_contacts` runs in one region cell (the daily Dagster schedule
calls it per region). For each expired contact it destroys the personal data: the wrapped
data key (crypto-shredding: copies of the ciphertexts in backups become unreadable), the
ciphertexts, the blind index (replaced by a value derived from the contact id, which
no address maps to), the name, the attributes and the address's domain; the IP address and
user agent of its consent events are cleared and its preferences removed. The contact row
stays, marked ``erased``, so aggregates over messages and events keep adding up. Each
anonymization is audited. This is the small, retention-specific part; the full
right-to-be-forgotten cascade (messages, events, features, Redis) is the erasure module's.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

import psycopg

from .audit import record
from .subjects import contact_subject

RETENTION_ACTOR = "retention_schedule"


@dataclass(frozen=True)
class RetentionReport:
    """What one run did in one cell."""

    anonymized: tuple[uuid.UUID, ...]

    @property
    def count(self) -> int:
        return len(self.anonymized)


def expired_contacts(
    conn: psycopg.Connection, today: date, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(contact id, org id) of contacts past their retention date, not yet erased."""
    rows = conn.execute(
        "SELECT contact_id, org_id FROM contacts WHERE retention_until < %s "
        "AND status <> 'erased' ORDER BY retention_until, contact_id LIMIT %s",
        (today, limit),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def anonymize_expired_contacts(
    conn: psycopg.Connection, today: date, *, limit: int = 1000
) -> RetentionReport:
    """Anonymize up to ``limit`` contacts of this cell whose retention date is before
    ``today``; each one in its own transaction (savepoint), audited."""
    done = []
    for contact_id, org_id in expired_contacts(conn, today, limit):
        with conn.transaction():
            anonymize_contact_for_retention(conn, contact_id, org_id, today)
        done.append(contact_id)
    return RetentionReport(tuple(done))


def anonymize_contact_for_retention(
    conn: psycopg.Connection, contact_id: uuid.UUID, org_id: uuid.UUID, today: date
) -> None:
    """Destroy one contact's personal data and mark it ``erased`` (see the module doc)."""
    placeholder = hashlib.sha256(b"retention-expired|" + contact_id.bytes).digest()
    subject = contact_subject(conn, contact_id)  # before the blind index is replaced
    conn.execute(
        "UPDATE contacts SET email_ciphertext = '', name_ciphertext = NULL, "
        "wrapped_data_key = '', email_blind_index = %s, email_domain = '', "
        "attributes = '{}'::jsonb, status = 'erased', updated_at = now() "
        "WHERE contact_id = %s AND org_id = %s",
        (placeholder, contact_id, org_id),
    )
    conn.execute(
        "UPDATE consent_events SET ip = NULL, user_agent = NULL WHERE contact_id = %s",
        (contact_id,),
    )
    conn.execute("DELETE FROM contact_preferences WHERE contact_id = %s", (contact_id,))
    record(
        conn,
        actor=RETENTION_ACTOR,
        action="contact.retention_anonymized",
        subject=subject,
        org_id=org_id,
        details={"retention_until_before": today.isoformat()},
    )
