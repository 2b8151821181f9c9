"""Recipients' phone numbers for the SMS fallback: E.164, sealed under the contact's data
key in ``contacts.phone_ciphertext`` (never stored in the clear).

Connections come from the caller; each function runs in the caller's transaction.
"""

from __future__ import annotations

import re
import uuid

import psycopg

from compliance.crypto import PiiCipher
from compliance.errors import ComplianceError

from .errors import FallbackError, NoFallbackRecipient

FIELD = "phone"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SEPARATORS = re.compile(r"[\s().-]")


class InvalidPhoneNumber(FallbackError):
    """Not a phone number in international (E.164) form."""


def normalize_phone(number: str) -> str:
    """``number`` in E.164 form (``+`` and up to 15 digits; spaces, dots, dashes and
    parentheses dropped); raises :class:`InvalidPhoneNumber` otherwise."""
    compact = SEPARATORS.sub("", number.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164.match(compact):
        raise InvalidPhoneNumber("a phone number needs the international form, e.g. +4915112345678")
    return compact


def store_phone(
    conn: psycopg.Connection, cipher: PiiCipher, contact_id: uuid.UUID, number: str | None
) -> None:
    """Seal and keep the contact's phone number (None removes it)."""
    if number is None:
        conn.execute(
            "UPDATE contacts SET phone_ciphertext = NULL, updated_at = now() WHERE contact_id = %s",
            (contact_id,),
        )
        return
    row = conn.execute(
        "SELECT wrapped_data_key, kek_version FROM contacts WHERE contact_id = %s AND "
        "status <> 'erased'",
        (contact_id,),
    ).fetchone()
    if row is None:
        raise NoFallbackRecipient(f"no contact {contact_id} to give a phone number")
    sealed = cipher.seal_bytes(contact_id, FIELD, normalize_phone(number).encode(), *row)
    conn.execute(
        "UPDATE contacts SET phone_ciphertext = %s, updated_at = now() WHERE contact_id = %s",
        (sealed, contact_id),
    )


def phone_of(conn: psycopg.Connection, cipher: PiiCipher, contact_id: uuid.UUID) -> str:
    """The contact's phone number; raises :class:`NoFallbackRecipient` when it has none (or
    it can no longer be decrypted: an erased contact)."""
    row = conn.execute(
        "SELECT phone_ciphertext, wrapped_data_key, kek_version FROM contacts "
        "WHERE contact_id = %s",
        (contact_id,),
    ).fetchone()
    if row is None or row[0] is None:
        raise NoFallbackRecipient("the contact has no phone number")
    try:
        return cipher.open_bytes(contact_id, FIELD, row[0], row[1], row[2]).decode()
    except ComplianceError as exc:
        raise NoFallbackRecipient(f"the contact's phone number cannot be read: {exc}") from None
