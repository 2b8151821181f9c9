"""Sealing an archived row's personal payload under its contact's data key, and opening it.

The payload is ``{"c": contact_id, "d": details}`` as JSON, sealed with AES-256-GCM under
the contact's data key (the one :mod:`compliance.crypto` wraps under the KEK), with
associated data binding it to the event and the contact. When an erasure or data
expiration destroys the wrapped data key, no copy of the payload can be opened again.

Keys are found by subject: an archived row carries its contact's subject hash and org, and
each org holds at most one live contact per address (and so per subject hash).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..crypto import PiiCipher
from ..errors import CryptoError
from ..subjects import subject_hash

_FORMAT = b"\x01"
_NONCE_BYTES = 12


@dataclass(frozen=True)
class ContactKey:
    """A live contact's data key and who it belongs to."""

    contact_id: uuid.UUID
    org_id: uuid.UUID
    subject: str  # subject hash, hex
    data_key: bytes


def _aad(event_id: str, contact_id: uuid.UUID) -> bytes:
    return b"archive-event|" + uuid.UUID(event_id).bytes + b"|" + contact_id.bytes


def seal_payload(key: ContactKey, event_id: str, details: str) -> bytes:
    """The sealed payload of one event of ``key``'s contact."""
    plaintext = json.dumps({"c": str(key.contact_id), "d": details}).encode()
    nonce = os.urandom(_NONCE_BYTES)
    return (
        _FORMAT
        + nonce
        + AESGCM(key.data_key).encrypt(nonce, plaintext, _aad(event_id, key.contact_id))
    )


def open_payload(key: ContactKey, event_id: str, sealed: bytes) -> tuple[str, str] | None:
    """``(contact_id, details)`` of a sealed payload, or None when ``key`` cannot open it
    (another contact's key: the subject's address was erased and later re-imported)."""
    if sealed[:1] != _FORMAT or len(sealed) < 1 + _NONCE_BYTES + 16:
        return None
    nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        plaintext = AESGCM(key.data_key).decrypt(nonce, body, _aad(event_id, key.contact_id))
    except InvalidTag:
        return None
    payload = json.loads(plaintext)
    return str(payload["c"]), str(payload["d"])


_KEY_COLUMNS = "contact_id, org_id, email_blind_index, wrapped_data_key, kek_version"


def keys_of_contacts(
    conn: psycopg.Connection, cipher: PiiCipher, contact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ContactKey]:
    """Data keys of these contacts (those live, with a key), by contact id. The rows stay
    share-locked until the transaction ends, so no erasure runs while they are used."""
    rows = conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM contacts WHERE contact_id = ANY(%s) "
        "AND status <> 'erased' AND length(wrapped_data_key) > 0 FOR SHARE",
        (list(contact_ids),),
    ).fetchall()
    return {row[0]: _unwrap(cipher, row) for row in rows}


def keys_by_subject(
    conn: psycopg.Connection, cipher: PiiCipher, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], ContactKey]:
    """Data keys of the live contacts ``wanted`` names by ``(org_id, subject hash hex)``;
    subjects without one (erased, expired) are simply missing from the answer."""
    org_ids = sorted({uuid.UUID(org) for org, _ in wanted})
    keys: dict[tuple[str, str], ContactKey] = {}
    with conn.cursor(name="archive_keys") as cursor:
        cursor.execute(
            f"SELECT {_KEY_COLUMNS} FROM contacts WHERE org_id = ANY(%s) "
            "AND status <> 'erased' AND length(wrapped_data_key) > 0",
            (org_ids,),
        )
        for row in cursor:
            handle = (str(row[1]), subject_hash(bytes(row[2])).hex())
            if handle not in wanted:
                continue
            try:
                keys[handle] = _unwrap(cipher, row)
            except CryptoError:
                continue  # a key that does not unwrap opens nothing: its rows read as shredded
    return keys


def _unwrap(cipher: PiiCipher, row: tuple) -> ContactKey:
    contact_id, org_id, blind_index, wrapped, kek_version = row
    return ContactKey(
        contact_id=contact_id,
        org_id=org_id,
        subject=subject_hash(bytes(blind_index)).hex(),
        data_key=cipher.unwrap_data_key(bytes(wrapped), kek_version, contact_id),
    )
