"""Sealing of second-factor secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256)
from ``SECRET_KEY``, bound to the user the secret belongs to (associated data), so a sealed
secret copied onto another user's row does not open."""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
INFO = b"postwise second-factor secrets v1"


class SealBroken(ValueError):
    """A sealed secret that does not open: altered, moved, or sealed under another key."""


class FactorSealer:
    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
            secret_key.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, user_id: uuid.UUID, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, _bound_to(user_id))

    def open(self, user_id: uuid.UUID, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _bound_to(user_id)
            )
        except (InvalidTag, ValueError):
            raise SealBroken(f"the second-factor secret of user {user_id} does not open") from None


def _bound_to(user_id: uuid.UUID) -> bytes:
    return b"totp|" + user_id.bytes
