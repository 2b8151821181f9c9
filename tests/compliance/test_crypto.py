"""PII envelope encryption: round trips, and every kind of tampering or swapping fails."""

from __future__ import annotations

import os
import uuid

import pytest

from compliance.crypto import PiiCipher, decode_key
from compliance.errors import CryptoError, DecryptionFailed, UnknownKeyVersion


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher({1: os.urandom(32)}, 1, os.urandom(32))


def test_an_address_and_name_round_trip(cipher: PiiCipher) -> None:
    contact = uuid.uuid4()
    sealed = cipher.seal_contact(contact, "Ada@Example.org", "Ada Lovelace")
    args = (sealed.wrapped_data_key, sealed.kek_version)
    assert cipher.open_field(contact, "email", sealed.email_ciphertext, *args) == "Ada@Example.org"
    assert cipher.open_field(contact, "name", sealed.name_ciphertext, *args) == "Ada Lovelace"
    assert b"Ada" not in sealed.email_ciphertext + sealed.wrapped_data_key


def test_each_contact_gets_its_own_data_key_and_fresh_nonces(cipher: PiiCipher) -> None:
    a = cipher.seal_contact(uuid.uuid4(), "same@example.org", None)
    b = cipher.seal_contact(uuid.uuid4(), "same@example.org", None)
    assert a.email_ciphertext != b.email_ciphertext
    assert a.wrapped_data_key != b.wrapped_data_key
    assert a.email_blind_index == b.email_blind_index


def test_a_flipped_bit_in_the_ciphertext_is_rejected(cipher: PiiCipher) -> None:
    contact = uuid.uuid4()
    sealed = cipher.seal_contact(contact, "bob@example.org", None)
    tampered = bytearray(sealed.email_ciphertext)
    tampered[-1] ^= 0x01
    with pytest.raises(DecryptionFailed):
        cipher.open_field(contact, "email", bytes(tampered), sealed.wrapped_data_key, 1)


def test_a_ciphertext_moved_to_another_contact_fails_to_decrypt(cipher: PiiCipher) -> None:
    alice, mallory = uuid.uuid4(), uuid.uuid4()
    sealed_alice = cipher.seal_contact(alice, "alice@example.org", "Alice")
    sealed_mallory = cipher.seal_contact(mallory, "mallory@example.org", "Mallory")
    # Alice's ciphertext with Mallory's row (her key and id):
    with pytest.raises(DecryptionFailed):
        cipher.open_field(
            mallory, "email", sealed_alice.email_ciphertext, sealed_mallory.wrapped_data_key, 1
        )
    # Alice's ciphertext and wrapped key together, copied to Mallory's row id:
    with pytest.raises(DecryptionFailed):
        cipher.open_field(
            mallory, "email", sealed_alice.email_ciphertext, sealed_alice.wrapped_data_key, 1
        )


def test_a_field_swapped_into_another_column_fails_to_decrypt(cipher: PiiCipher) -> None:
    contact = uuid.uuid4()
    sealed = cipher.seal_contact(contact, "carol@example.org", "Carol")
    with pytest.raises(DecryptionFailed):
        cipher.open_field(contact, "name", sealed.email_ciphertext, sealed.wrapped_data_key, 1)


def test_rewrapping_under_a_new_kek_keeps_ciphertexts_and_blind_index(cipher: PiiCipher) -> None:
    contact = uuid.uuid4()
    old_kek, blind_key = cipher._keks[1], cipher._blind_index_key
    sealed = cipher.seal_contact(contact, "dan@example.org", None)
    rotated = PiiCipher({1: old_kek, 2: os.urandom(32)}, 2, blind_key)
    rewrapped = rotated.rewrap(sealed.wrapped_data_key, 1, contact)
    assert rotated.open_field(contact, "email", sealed.email_ciphertext, rewrapped, 2) == (
        "dan@example.org"
    )
    assert rotated.blind_index("DAN@example.org ") == sealed.email_blind_index
    with pytest.raises(UnknownKeyVersion):
        PiiCipher({2: rotated._keks[2]}, 2, blind_key).open_field(
            contact, "email", sealed.email_ciphertext, sealed.wrapped_data_key, 1
        )


def test_a_wrong_kek_fails_to_unwrap(cipher: PiiCipher) -> None:
    contact = uuid.uuid4()
    sealed = cipher.seal_contact(contact, "erin@example.org", None)
    other = PiiCipher({1: os.urandom(32)}, 1, os.urandom(32))
    with pytest.raises(DecryptionFailed):
        other.open_field(contact, "email", sealed.email_ciphertext, sealed.wrapped_data_key, 1)


def test_keys_that_are_not_32_bytes_of_base64_are_refused() -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        decode_key("c2hvcnQ=", "KEY_ENCRYPTION_KEY")
    with pytest.raises(CryptoError, match="base64"):
        decode_key("not base64!", "KEY_ENCRYPTION_KEY")
