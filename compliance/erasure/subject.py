"""How an erased data subject is named once their address must no longer be kept.

The subject hash is SHA-256 over the address's blind index (itself an HMAC under a secret
key), so it can be recomputed from the address by whoever holds the blind-index key and by
no one else, and it is not the blind index itself. Audit entries and erasure records about
a data subject name them by :func:`subject_ref`, never by address or contact id.
"""

from __future__ import annotations

import hashlib

_DOMAIN = b"postwise-erasure-subject|"


def subject_hash(blind_index: bytes) -> bytes:
    """The 32-byte hash that stands for an address in erasure records."""
    return hashlib.sha256(_DOMAIN + blind_index).digest()


def subject_ref(blind_index: bytes) -> str:
    """The audit-log ``subject`` of entries about the data subject with this blind index."""
    return "subject:" + subject_hash(blind_index).hex()
