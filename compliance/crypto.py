"""Envelope encryption of personal data and blind indexes for equality look-ups.

Each contact gets its own 256-bit data key (DEK). Fields are sealed with AES-256-GCM under
the DEK; the DEK is stored wrapped (AES-256-GCM) by a key-encryption key (KEK) from the
settings. Associated data binds every ciphertext to its contact id and field name, and the
wrapped DEK to its contact id, so a ciphertext copied to another row or column fails to
decrypt. Rotating the KEK re-wraps DEKs only; field ciphertexts stay as they are.

An HMAC-SHA256 of the normalised address (the blind index) lets the warehouse find a contact
by email without storing or decrypting the address. Its key is separate from the KEK and
does not rotate with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import CryptoError, DecryptionFailed, UnknownKeyVersion

if TYPE_CHECKING:
    from postwise.settings import Settings

_FORMAT = b"\x01"  # version byte of the ciphertext layout: format || nonce(12) || ct+tag
_NONCE_BYTES = 12
KEY_BYTES = 32


def decode_key(encoded: str, name: str) -> bytes:
    """A 32-byte key from its base64 form in the settings."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"{name} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoError(f"{name} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def normalize_email(address: str) -> str:
    """The form of an address the blind index is computed on (trimmed, lower-cased)."""
    return address.strip().lower()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _FORMAT:
        raise DecryptionFailed("ciphertext is malformed")
    nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionFailed("ciphertext failed authentication") from None


@dataclass(frozen=True)
class SealedContact:
    """The encrypted columns of one contacts row."""

    email_ciphertext: bytes
    name_ciphertext: bytes | None
    wrapped_data_key: bytes
    kek_version: int
    email_blind_index: bytes


class PiiCipher:
    """Seals and opens contacts' personal data; holds the KEKs and the blind-index key."""

    def __init__(self, keks: Mapping[int, bytes], current_version: int, blind_index_key: bytes):
        if current_version not in keks:
            raise UnknownKeyVersion(current_version)
        for key in (*keks.values(), blind_index_key):
            if len(key) != KEY_BYTES:
                raise CryptoError(f"keys must be {KEY_BYTES} bytes")
        self._keks = dict(keks)
        self.current_version = current_version
        self._blind_index_key = blind_index_key

    @classmethod
    def from_settings(cls, key_encryption_key: str, blind_index_key: str) -> PiiCipher:
        """A cipher with a single KEK (version 1), from the base64 keys in the settings."""
        return cls.from_keyring({1: key_encryption_key}, 1, blind_index_key)

    @classmethod
    def from_keyring(
        cls, keks: Mapping[int, str], current_version: int, blind_index_key: str
    ) -> PiiCipher:
        """A cipher holding every KEK version in ``keks`` (base64), wrapping new data keys
        under ``current_version``."""
        decoded = {
            version: decode_key(key, f"key-encryption key version {version}")
            for version, key in keks.items()
        }
        return cls(decoded, current_version, decode_key(blind_index_key, "BLIND_INDEX_KEY"))

    @property
    def versions(self) -> tuple[int, ...]:
        """The KEK versions this cipher can unwrap."""
        return tuple(sorted(self._keks))

    def blind_index(self, email: str) -> bytes:
        """HMAC-SHA256 of the normalised address, for equality look-ups."""
        message = normalize_email(email).encode()
        return hmac.new(self._blind_index_key, message, hashlib.sha256).digest()

    def wrap_data_key(self, data_key: bytes, contact_id: uuid.UUID) -> bytes:
        return _seal(self._keks[self.current_version], data_key, b"dek|" + contact_id.bytes)

    def unwrap_data_key(self, wrapped: bytes, kek_version: int, contact_id: uuid.UUID) -> bytes:
        kek = self._keks.get(kek_version)
        if kek is None:
            raise UnknownKeyVersion(kek_version)
        return _open(kek, wrapped, b"dek|" + contact_id.bytes)

    def rewrap(self, wrapped: bytes, kek_version: int, contact_id: uuid.UUID) -> bytes:
        """The same data key wrapped under the current KEK (key rotation)."""
        return self.wrap_data_key(
            self.unwrap_data_key(wrapped, kek_version, contact_id), contact_id
        )

    def seal_contact(self, contact_id: uuid.UUID, email: str, name: str | None) -> SealedContact:
        """Encrypt a new contact's address and name under a fresh data key."""
        data_key = AESGCM.generate_key(bit_length=256)
        return SealedContact(
            email_ciphertext=_seal(data_key, email.encode(), _field_aad(contact_id, "email")),
            name_ciphertext=(
                _seal(data_key, name.encode(), _field_aad(contact_id, "name"))
                if name is not None
                else None
            ),
            wrapped_data_key=self.wrap_data_key(data_key, contact_id),
            kek_version=self.current_version,
            email_blind_index=self.blind_index(email),
        )

    def open_field(
        self,
        contact_id: uuid.UUID,
        field: str,
        ciphertext: bytes,
        wrapped_data_key: bytes,
        kek_version: int,
    ) -> str:
        """Decrypt one field (``email`` or ``name``) of a contact."""
        data_key = self.unwrap_data_key(wrapped_data_key, kek_version, contact_id)
        return _open(data_key, ciphertext, _field_aad(contact_id, field)).decode()

    def seal_bytes(
        self,
        contact_id: uuid.UUID,
        field: str,
        plaintext: bytes,
        wrapped_data_key: bytes,
        kek_version: int,
    ) -> bytes:
        """Encrypt more data of an existing contact (a phone number, a document) under its
        data key, so erasing the key shreds it with the rest."""
        data_key = self.unwrap_data_key(wrapped_data_key, kek_version, contact_id)
        return _seal(data_key, plaintext, _field_aad(contact_id, field))

    def open_bytes(
        self,
        contact_id: uuid.UUID,
        field: str,
        ciphertext: bytes,
        wrapped_data_key: bytes,
        kek_version: int,
    ) -> bytes:
        """Decrypt what :meth:`seal_bytes` sealed for the same contact and field."""
        data_key = self.unwrap_data_key(wrapped_data_key, kek_version, contact_id)
        return _open(data_key, ciphertext, _field_aad(contact_id, field))


def _field_aad(contact_id: uuid.UUID, field: str) -> bytes:
    return b"pii|" + contact_id.bytes + b"|" + field.encode()


def cipher_for(settings: Settings) -> PiiCipher:
    """The cipher the settings describe: every configured KEK, the current one wrapping."""
    return PiiCipher.from_keyring(
        settings.key_encryption_keys, settings.key_encryption_key_version, settings.blind_index_key
    )
