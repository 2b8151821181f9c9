"""Properties of PII envelope encryption over arbitrary addresses and names."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.crypto import PiiCipher
from compliance.errors import DecryptionFailed

CIPHER = PiiCipher({1: os.urandom(32), 2: os.urandom(32)}, 1, os.urandom(32))
ROTATED = PiiCipher(CIPHER._keks, 2, CIPHER._blind_index_key)  # same keys, v2 current

texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=80)


@given(texts, st.one_of(st.none(), texts), st.uuids())
def test_fields_round_trip_and_survive_rotation(
    email: str, name: str | None, contact_id: uuid.UUID
) -> None:
    sealed = CIPHER.seal_contact(contact_id, email, name)
    wrapped = ROTATED.rewrap(sealed.wrapped_data_key, sealed.kek_version, contact_id)
    for cipher, key, version in ((CIPHER, sealed.wrapped_data_key, 1), (ROTATED, wrapped, 2)):
        assert (
            cipher.open_field(contact_id, "email", sealed.email_ciphertext, key, version) == email
        )
        if name is not None:
            assert sealed.name_ciphertext is not None
            assert (
                cipher.open_field(contact_id, "name", sealed.name_ciphertext, key, version) == name
            )
    assert ROTATED.blind_index(email) == sealed.email_blind_index


@settings(max_examples=200)
@given(texts, st.uuids(), st.data())
def test_any_changed_byte_fails_authentication(email: str, contact_id: uuid.UUID, data) -> None:
    sealed = CIPHER.seal_contact(contact_id, email, None)
    position = data.draw(st.integers(0, len(sealed.email_ciphertext) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(sealed.email_ciphertext)
    tampered[position] ^= flip
    with pytest.raises(DecryptionFailed):
        CIPHER.open_field(contact_id, "email", bytes(tampered), sealed.wrapped_data_key, 1)


@given(texts, st.uuids(), st.uuids())
def test_a_ciphertext_opens_only_in_its_own_row_and_column(
    email: str, owner: uuid.UUID, other: uuid.UUID
) -> None:
    sealed = CIPHER.seal_contact(owner, email, email)
    with pytest.raises(DecryptionFailed):
        CIPHER.open_field(owner, "name", sealed.email_ciphertext, sealed.wrapped_data_key, 1)
    if other != owner:
        with pytest.raises(DecryptionFailed):
            CIPHER.unwrap_data_key(sealed.wrapped_data_key, 1, other)


@given(st.text(st.characters(max_codepoint=127, exclude_categories=("Cc",)), min_size=1))
def test_the_blind_index_ignores_ascii_case_and_surrounding_space(email: str) -> None:
    assert CIPHER.blind_index(f"  {email.upper()} ") == CIPHER.blind_index(email.lower())
