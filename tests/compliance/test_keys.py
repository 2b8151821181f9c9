"""KEK rotation: every data key is re-wrapped under the new key-encryption key, field
ciphertexts and the blind index stay as they were, and the old KEK is no longer needed."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime

import pytest

from compliance.audit import entries
from compliance.crypto import PiiCipher
from compliance.errors import UnknownKeyVersion
from compliance.keys import rotate_data_keys
from warehouse.contacts import ContactRow, find_contact_id, insert_contacts, to_json
from warehouse.db import Cells


def b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def seal_rows(cipher: PiiCipher, org_id: uuid.UUID, count: int) -> list[ContactRow]:
    rows = []
    for number in range(count):
        contact_id = uuid.uuid4()
        email = f"person{number}@rotate.example"
        sealed = cipher.seal_contact(contact_id, email, f"Person {number}")
        rows.append(
            ContactRow(
                contact_id,
                org_id,
                sealed.email_ciphertext,
                sealed.email_blind_index,
                sealed.name_ciphertext,
                sealed.wrapped_data_key,
                sealed.kek_version,
                "rotate.example",
                "DE",
                "eu",
                "Europe/Berlin",
                "de-DE",
                to_json({}),
                "active",
                datetime.now(UTC),
                None,
            )  # fmt: skip
        )
    return rows


def test_rotation_rewraps_every_data_key_without_touching_ciphertexts(cells: Cells) -> None:
    old_kek, new_kek, blind = b64(), b64(), b64()
    before_rotation = PiiCipher.from_keyring({1: old_kek}, 1, blind)
    org_id = uuid.uuid4()
    rows = seal_rows(before_rotation, org_id, 250)
    with cells.connection("eu") as conn:
        insert_contacts(conn, rows)

    during = PiiCipher.from_keyring({1: old_kek, 2: new_kek}, 2, blind)
    with cells.connection("eu") as conn:
        report = rotate_data_keys(conn, during, "eu", batch_size=100)
        again = rotate_data_keys(conn, during, "eu")
        stored = conn.execute(
            "SELECT contact_id, email_ciphertext, name_ciphertext, email_blind_index, "
            "wrapped_data_key, kek_version FROM contacts WHERE org_id = %s",
            (org_id,),
        ).fetchall()
        rotation_entries = [e for e in entries(conn) if e.action == "keys.rewrapped"]
    assert report.rewrapped >= 250 and again.rewrapped == 0

    after_rotation = PiiCipher.from_keyring({2: new_kek}, 2, blind)  # the old KEK is gone
    by_id = {row.contact_id: row for row in rows}
    for contact_id, email_ct, _name_ct, blind_index, wrapped, version in stored:
        original = by_id[contact_id]
        assert version == 2
        assert bytes(email_ct) == original.email_ciphertext  # not re-encrypted
        assert bytes(blind_index) == original.email_blind_index
        assert bytes(wrapped) != original.wrapped_data_key
        email = after_rotation.open_field(contact_id, "email", bytes(email_ct), bytes(wrapped), 2)
        assert email.startswith("person") and email.endswith("@rotate.example")
        with pytest.raises(UnknownKeyVersion):
            after_rotation.unwrap_data_key(original.wrapped_data_key, 1, contact_id)

    with cells.connection("eu") as conn:  # the blind index still finds contacts
        found = find_contact_id(conn, org_id, after_rotation.blind_index("Person7@Rotate.example"))
    assert found == rows[7].contact_id
    assert sum(e.details["contacts"] for e in rotation_entries) >= 250
    assert all(e.details["to_version"] == 2 for e in rotation_entries)
