"""Compliance errors.

ComplianceError
 ├── CryptoError
 │    ├── DecryptionFailed   ciphertext tampered with, moved to another row, or wrong key
 │    └── UnknownKeyVersion  a wrapped data key names a key-encryption key we do not hold
 ├── AuditError             an audit entry that cannot be written (details not plain JSON)
 │    └── CheckpointError   a checkpoint that cannot be written, read or trusted
 ├── ErasureError           a right-to-be-forgotten request that cannot be carried out
 │    ├── SubjectNotFound    no contact and no earlier erasure of the address in the org
 │    └── ErasureIncomplete  a store (Redis) could not be cleared; nothing was committed
 ├── ResidencyViolation     personal data would be processed or sent outside its region (``code``)
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


class ResidencyViolation(ComplianceError):
    """A recipient's personal data would be processed for a campaign that blocks their
    region, or carried by a route outside it; ``code`` names the rule broken."""

    def __init__(self, code: str, reason: str, country: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.country = country


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


class ErasureError(ComplianceError):
    """A right-to-be-forgotten request that cannot be carried out; ``code`` names why."""

    code = "erasure_failed"


class SubjectNotFound(ErasureError):
    """The organization holds no contact with this address and never erased one."""

    code = "subject_not_found"


class ErasureIncomplete(ErasureError):
    """A store outside the database could not be cleared; the cell's transaction was rolled
    back, so the request can simply be repeated."""

    code = "erasure_incomplete"
