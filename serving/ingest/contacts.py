"""Contacts in the region cells: found by blind index, created sealed (PII encrypted on
write with :class:`compliance.crypto.PiiCipher`), read back decrypted.

Functions take the caller's connection and run in its transaction; none opens one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from compliance.crypto import PiiCipher


@dataclass(frozen=True)
class ContactRef:
    """Where a known contact lives, and what ingestion checks need of it."""

    contact_id: uuid.UUID
    region: str
    status: str
    country: str


@dataclass(frozen=True)
class NewContact:
    email: str
    country: str
    region: str
    name: str | None = None
    time_zone: str | None = None
    locale: str | None = None
    attributes: dict[str, Any] | None = None


def find_by_blind_index(
    conn: psycopg.Connection, org_id: uuid.UUID, region: str, indexes: Sequence[bytes]
) -> dict[bytes, ContactRef]:
    """The org's contacts in this cell among ``indexes``, by blind index."""
    if not indexes:
        return {}
    rows = conn.execute(
        "SELECT email_blind_index, contact_id, status, country FROM contacts "
        "WHERE org_id = %s AND email_blind_index = ANY(%s)",
        (org_id, list(indexes)),
    ).fetchall()
    return {bytes(row[0]): ContactRef(row[1], region, row[2], row[3]) for row in rows}


def insert_contact(
    conn: psycopg.Connection, cipher: PiiCipher, org_id: uuid.UUID, contact: NewContact
) -> ContactRef:
    """Create the contact sealed; if a concurrent request created the address first, that
    contact is returned instead."""
    contact_id = uuid.uuid4()
    sealed = cipher.seal_contact(contact_id, contact.email, contact.name)
    row = conn.execute(
        "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
        "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
        "time_zone, locale, attributes) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, email_blind_index) DO NOTHING RETURNING contact_id",
        (
            contact_id,
            org_id,
            sealed.email_ciphertext,
            sealed.email_blind_index,
            sealed.name_ciphertext,
            sealed.wrapped_data_key,
            sealed.kek_version,
            contact.email.rsplit("@", 1)[1].lower(),
            contact.country.upper(),
            contact.region,
            contact.time_zone or "UTC",
            contact.locale or "en-US",
            json.dumps(contact.attributes or {}),
        ),
    ).fetchone()
    if row is not None:
        return ContactRef(contact_id, contact.region, "active", contact.country.upper())
    found = find_by_blind_index(conn, org_id, contact.region, [sealed.email_blind_index])
    return found[sealed.email_blind_index]


def eligibility_facts(
    conn: psycopg.Connection, org_id: uuid.UUID, contact_id: uuid.UUID, purpose: str | None
) -> tuple[str, str | None, list[str]]:
    """(contact status, consent status for ``purpose``, live suppression reasons)."""
    row = conn.execute(
        """
        SELECT c.status,
               (SELECT k.status FROM consents k WHERE k.contact_id = c.contact_id
                  AND k.channel = 'email' AND k.purpose = %s),
               (SELECT array_agg(s.reason) FROM suppressions s
                 WHERE s.org_id = c.org_id AND s.email_blind_index = c.email_blind_index
                   AND (s.expires_at IS NULL OR s.expires_at > now()))
        FROM contacts c WHERE c.contact_id = %s AND c.org_id = %s
        """,
        (purpose or "marketing", contact_id, org_id),
    ).fetchone()
    if row is None:
        return "erased", None, []
    return row[0], row[1], list(row[2] or [])


def suppression_reasons(conn: psycopg.Connection, org_id: uuid.UUID, index: bytes) -> list[str]:
    """Live suppressions of an address (by blind index) in this cell."""
    rows = conn.execute(
        "SELECT reason FROM suppressions WHERE org_id = %s AND email_blind_index = %s "
        "AND (expires_at IS NULL OR expires_at > now())",
        (org_id, index),
    ).fetchall()
    return [row[0] for row in rows]


def read_contact(
    conn: psycopg.Connection, cipher: PiiCipher, org_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, Any] | None:
    """The contact decrypted, with its consents, or None (absent or another org's)."""
    row = conn.execute(
        "SELECT contact_id, email_ciphertext, name_ciphertext, wrapped_data_key, kek_version, "
        "email_domain, country, region, time_zone, locale, attributes, status, created_at, "
        "updated_at FROM contacts WHERE contact_id = %s AND org_id = %s",
        (contact_id, org_id),
    ).fetchone()
    if row is None:
        return None
    cid, email_ct, name_ct, wrapped, kek_version = row[:5]
    consents = conn.execute(
        "SELECT channel, purpose, status, policy_version, updated_at FROM consents "
        "WHERE contact_id = %s ORDER BY channel, purpose",
        (cid,),
    ).fetchall()
    return {
        "contact_id": cid,
        "email": cipher.open_field(cid, "email", email_ct, wrapped, kek_version),
        "name": (
            cipher.open_field(cid, "name", name_ct, wrapped, kek_version) if name_ct else None
        ),
        **dict(
            zip(
                ("email_domain", "country", "region", "time_zone", "locale", "attributes"),
                row[5:11],
                strict=True,
            )
        ),
        "status": row[11],
        "created_at": row[12],
        "updated_at": row[13],
        "consents": [
            dict(
                zip(
                    ("channel", "purpose", "status", "policy_version", "updated_at"), c, strict=True
                )
            )
            for c in consents
        ],
    }
