"""Signed requests: ECDSA over P-521 with SHA-512.

A client signs, with the private key whose public half was registered with its API key,
the canonical form of each request: method, path with query, timestamp, nonce and the
SHA-512 digest of the body, one per line. The server checks the signature, that the
timestamp is within ``MAX_SKEW_SECONDS`` of its clock, and that the nonce was not seen in
that window (kept in Redis), so a captured request cannot be replayed.

Headers: ``X-Postwise-Key`` (the API key), ``X-Postwise-Timestamp`` (Unix seconds),
``X-Postwise-Nonce`` (16 to 64 URL-safe characters) and ``X-Postwise-Signature`` (base64 of
the DER signature).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_HEADER = "x-postwise-key"
TIMESTAMP_HEADER = "x-postwise-timestamp"
NONCE_HEADER = "x-postwise-nonce"
SIGNATURE_HEADER = "x-postwise-signature"
MAX_SKEW_SECONDS = 300
CURVE = ec.SECP521R1


class InvalidPublicKey(ValueError):
    """A registered signing key that is no P-521 public key in PEM."""


def canonical_request(
    method: str, path: str, timestamp: str, nonce: str, body: bytes, *, body_sha512: str = ""
) -> bytes:
    """The bytes a request's signature covers (``path`` with its query string, if any);
    ``body_sha512``, the body's hex digest, stands for a body hashed while it streamed."""
    digest = body_sha512 or hashlib.sha512(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest)).encode()


def signed_target(scope: Mapping[str, Any]) -> str:
    """The path and query of an ASGI request as the client sent (and signed) them: still
    percent-encoded, which ``raw_path`` keeps and the decoded ``path`` does not."""
    raw = scope.get("raw_path") or str(scope["path"]).encode()
    query = scope.get("query_string") or b""
    target = bytes(raw).decode("latin-1")
    return target + ("?" + bytes(query).decode("latin-1") if query else "")


def generate_signing_key() -> tuple[bytes, bytes]:
    """A new P-521 key pair as (private PEM, public PEM)."""
    key = ec.generate_private_key(CURVE())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, public_pem(key.public_key())


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    """The P-521 public key in ``pem``; anything else is refused."""
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise InvalidPublicKey(f"not a PEM public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, CURVE):
        raise InvalidPublicKey("the signing key must be an ECDSA key on the P-521 curve")
    return key


def sign_request(
    private_pem: bytes,
    api_key: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The authentication headers of one request."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidPublicKey("the signing key must be an ECDSA private key")
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    once = nonce or secrets.token_urlsafe(18)
    signature = key.sign(
        canonical_request(method, path, stamp, once, body), ec.ECDSA(hashes.SHA512())
    )
    return {
        KEY_HEADER: api_key,
        TIMESTAMP_HEADER: stamp,
        NONCE_HEADER: once,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }


def signature_holds(key: ec.EllipticCurvePublicKey, canonical: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is ``key``'s signature of ``canonical``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, canonical, ec.ECDSA(hashes.SHA512()))
    except (ValueError, InvalidSignature):
        return False
    return True
