"""Compliance errors.

ComplianceError
 ├── CryptoError
 │    ├── DecryptionFailed   ciphertext tampered with, moved to another row, or wrong key
 │    └── UnknownKeyVersion  a wrapped data key names a key-encryption key we do not hold
 └── AuditError             an audit entry that cannot be written (details not plain JSON)
      └── CheckpointError   a checkpoint that cannot be written, read or trusted
"""

from __future__ import annotations


class ComplianceError(Exception):
    """Base of every compliance error."""


class CryptoError(ComplianceError):
    """Encryption or decryption of personal data failed."""


class DecryptionFailed(CryptoError):
    """Authentication of a ciphertext failed: it was altered or does not belong here."""


class UnknownKeyVersion(CryptoError):
    """A wrapped data key refers to a key-encryption key version that is not configured."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no key-encryption key with version {version}")
        self.version = version


class AuditError(ComplianceError):
    """An audit entry that cannot be written as given."""


class CheckpointError(AuditError):
    """A signed checkpoint that cannot be written, read or trusted."""
