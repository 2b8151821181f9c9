"""Sealing an archived row's personal payload under its contact's data key, and opening it.

The payload is the row's ``details`` text, sealed with AES-256-GCM under the contact's
data key (the one :mod:`compliance.crypto` wraps under the KEK), with associated data
binding it to the event and the contact: a payload that opens under a contact's key is
that contact's, which is how the archive gives back ``contact_id`` without storing it.
When an erasure or data expiration destroys the wrapped data key, no copy of the payload
can be opened again.

Keys are found by subject: an archived row carries its contact's subject hash and org, and
each org holds at most one live contact per address (and so per subject hash).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

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
    data_key: bytes = field(repr=False)
    # Built once per contact: constructing the cipher costs more than sealing one row.
    aead: AESGCM = field(init=False, repr=False, compare=False)
    aad_suffix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aead", AESGCM(self.data_key))
        object.__setattr__(self, "aad_suffix", b"|" + self.contact_id.bytes)


def _aad(event_id: str, key: ContactKey) -> bytes:
    return b"archive-event|" + event_id.encode() + key.aad_suffix


def seal_payload(key: ContactKey, event_id: str, details: str) -> bytes:
    """The sealed ``details`` of one event of ``key``'s contact."""
    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT + nonce + key.aead.encrypt(nonce, details.encode(), _aad(event_id, key))


def open_payload(key: ContactKey, event_id: str, sealed: bytes) -> str | None:
    """The ``details`` of a sealed payload, or None when ``key`` cannot open it (another
    contact's key: the subject's address was erased and later re-imported)."""
    if sealed[:1] != _FORMAT or len(sealed) < 1 + _NONCE_BYTES + 16:
        return None
    nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return key.aead.decrypt(nonce, body, _aad(event_id, key)).decode()
    except InvalidTag:
        return None


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
