"""How audit entries and erasure records name a data subject: never by address or
contact id, which an append-only log could not forget, but by a subject reference.

The subject hash is SHA-256 over the address's blind index (itself an HMAC under a secret
key), so it can be recomputed from the address by whoever holds the blind-index key and by
no one else, and it is not the blind index itself. Every entry about one person (consent
changes, preferences, retention, erasure, evidence exports) carries :func:`subject_ref`, so
an evidence pack finds them all, and an erased contact's id appears in no entry.
"""

from __future__ import annotations

import hashlib
import uuid

import psycopg

_DOMAIN = b"postwise-erasure-subject|"


def subject_hash(blind_index: bytes) -> bytes:
    """The 32-byte hash that stands for an address in erasure records."""
    return hashlib.sha256(_DOMAIN + blind_index).digest()


def subject_ref(blind_index: bytes) -> str:
    """The audit-log ``subject`` of entries about the data subject with this blind index."""
    return "subject:" + subject_hash(blind_index).hex()


def contact_subject(conn: psycopg.Connection, contact_id: uuid.UUID) -> str:
    """The subject reference of a contact in this cell, from its blind index."""
    row = conn.execute(
        "SELECT email_blind_index FROM contacts WHERE contact_id = %s", (contact_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no contact {contact_id} in this cell")
    return subject_ref(bytes(row[0]))
