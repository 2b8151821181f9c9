"""Data expiration: contacts whose ``retention_until`` date has passed are erased.

:func:`anonymize_expired_contacts` runs in one region cell (the daily Dagster schedule
calls it per region). Each expired contact goes through the same per-table cascade as a
right-to-be-forgotten request (:func:`compliance.erasure.cascade.erase_contact`): the data
key and ciphertexts are destroyed (crypto-shredding), events, consents, preferences, scores
and mart rows are deleted, messages and consent evidence are kept under a random pseudonym
without IP address or user agent, and the pseudonym joins ``erased_subjects`` so training
leaves it out. Two differences from an erasure request: no ``erasure`` suppression is added
(the person did not ask not to be contacted; suppressions they already had stay), and Redis
is not touched (its per-message keys expire within days, long before any retention date).
Each contact is one transaction with its audit entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.types.json import Jsonb

from .audit import record
from .erasure.cascade import ContactErasure, erase_contact, message_ids_of
from .subjects import contact_subject

RETENTION_ACTOR = "retention_schedule"
RETENTION_JOB = "contact_retention"  # its name in job_runs


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
) -> ContactErasure:
    """Erase one expired contact's personal data (see the module doc)."""
    subject = contact_subject(conn, contact_id)  # before the blind index is replaced
    row = conn.execute(
        "SELECT email_blind_index FROM contacts WHERE contact_id = %s", (contact_id,)
    ).fetchone()
    assert row is not None
    erased = erase_contact(
        conn, org_id, contact_id, bytes(row[0]), message_ids_of(conn, contact_id), suppress=False
    )
    conn.execute(
        "INSERT INTO erased_subjects (pseudonym, org_id, erased_on, training_rows) "
        "VALUES (%s, %s, %s, %s)",
        (erased.pseudonym, org_id, today, Jsonb(erased.training_rows)),
    )
    record(
        conn,
        actor=RETENTION_ACTOR,
        action="contact.retention_anonymized",
        subject=subject,
        org_id=org_id,
        details={
            "retention_until_before": today.isoformat(),
            "removed": erased.removed,
            "pseudonymized": erased.pseudonymized,
        },
    )
    return erased
