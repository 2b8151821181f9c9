"""Webhook signatures, the same scheme both ways: ``HMAC-SHA256(secret, "<timestamp>." +
body)`` in hex, sent as ``Postwise-Signature: v1=<hex>`` beside ``Postwise-Timestamp:
<unix seconds>``. A receiver recomputes it, compares in constant time, and refuses
timestamps outside its window so a captured request cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "postwise-timestamp"
SIGNATURE_HEADER = "postwise-signature"


class SignatureError(Exception):
    """A webhook request whose signature does not hold; ``code`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that sign ``body`` at ``timestamp``."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance_seconds: int
) -> int:
    """The request's timestamp when its signature holds; :class:`SignatureError` else.
    ``headers`` have lower-case names. Several ``v1=`` values (a secret being rotated) may
    be sent, separated by commas; one matching is enough."""
    raw_timestamp = headers.get(TIMESTAMP_HEADER)
    raw_signature = headers.get(SIGNATURE_HEADER)
    if not raw_timestamp or not raw_signature:
        raise SignatureError(
            "missing_webhook_signature",
            f"the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required",
        )
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError("invalid_webhook_signature", "the timestamp is not a number") from None
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError(
            "stale_webhook",
            f"the timestamp is more than {tolerance_seconds} s away from the server's clock",
        )
    expected = signature(secret, timestamp, body)
    offered = [part.strip() for part in raw_signature.split(",")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError(
            "invalid_webhook_signature", "the signature does not match the body and timestamp"
        )
    return timestamp
