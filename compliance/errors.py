"""Compliance errors.

ComplianceError
 ├── CryptoError
 │    ├── DecryptionFailed   ciphertext tampered with, moved to another row, or wrong key
 │    └── UnknownKeyVersion  a wrapped data key names a key-encryption key we do not hold
 ├── AuditError             an audit entry that cannot be written (details not plain JSON)
 │    └── CheckpointError   a checkpoint that cannot be written, read or trusted
 └── ConsentError           a consent change or preference the rules do not allow (``code``)
      ├── ConsentTransitionRefused  the consent's state does not allow this step
      ├── InvalidPreferences        a preference outside its limits (topic, cap, retention)
      └── OptInTokenError           an opt-in link that cannot be honoured
           ├── OptInTokenInvalid    forged, altered, or signed for another step or purpose
           ├── OptInTokenExpired    older than OPT_IN_TOKEN_TTL_SECONDS
           └── OptInTokenUsed       already used once
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


class ConsentError(ComplianceError):
    """A consent change or preference the rules do not allow; ``code`` names the reason."""

    code = "consent_error"


class ConsentTransitionRefused(ConsentError):
    """The consent's current state does not allow the step asked for."""

    code = "consent_state"


class InvalidPreferences(ConsentError):
    """A preference outside its limits: an unknown channel, a cap or date out of range."""

    code = "invalid_preferences"


class OptInTokenError(ConsentError):
    """An opt-in confirmation link that cannot be honoured."""

    code = "invalid_opt_in_token"


class OptInTokenInvalid(OptInTokenError):
    """Not signed by us, altered, or signed for another step, purpose or contact."""

    code = "invalid_opt_in_token"


class OptInTokenExpired(OptInTokenError):
    """Signed by us, but older than its time to live."""

    code = "expired_opt_in_token"


class OptInTokenUsed(OptInTokenError):
    """Signed by us and fresh, but already used once."""

    code = "used_opt_in_token"
