"""Authenticating a signed API request: the key, its signature, its freshness, its nonce.

``check_signed_request`` is the whole rule, independent of the web framework: given the
request's parts, the key's row and a nonce store, it returns the caller or raises
:class:`AuthenticationFailed` with a code saying what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import AuthenticationFailed
from .keys import StoredKey, parse_key, secret_matches
from .roles import Principal
from .signing import (
    KEY_HEADER,
    MAX_SKEW_SECONDS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    canonical_request,
    load_public_key,
    signature_holds,
)

NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEYS_PARSED = 1024  # registered public keys kept parsed (PEM parsing costs on every request)
FindKey = Callable[[str], StoredKey | None]
ClaimNonce = Callable[[StoredKey, str], bool]  # True the first time a nonce is seen


def check_signed_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float,
    find_key: FindKey,
    claim_nonce: ClaimNonce,
    *,
    body_sha512: str = "",
) -> Principal:
    """The caller of a request signed per :mod:`.signing`; ``headers`` lower-cased
    (``body_sha512``: the digest of a streamed body, which ``body`` then leaves empty)."""
    stored, nonce = verified_key(
        headers, method, path, body, now, find_key, body_sha512=body_sha512
    )
    if not claim_nonce(stored, nonce):
        raise AuthenticationFailed(*REPLAYED)
    return principal_of(stored)


REPLAYED = ("replayed_request", "this nonce was already used")


def principal_of(stored: StoredKey) -> Principal:
    """The caller a valid key stands for."""
    return Principal(stored.org_id, stored.role, f"key:{stored.key_id}", stored.home_region)


def key_prefix(headers: Mapping[str, str]) -> str | None:
    """The prefix ``find_key`` is asked for (None: no well-formed key)."""
    parts = parse_key(headers.get(KEY_HEADER) or "")
    return parts[0] if parts is not None else None


def verified_key(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now: float,
    find_key: FindKey,
    *,
    body_sha512: str = "",
) -> tuple[StoredKey, str]:
    """Every check of :func:`check_signed_request` but the nonce's: the key's row and the
    nonce still to claim."""
    api_key = headers.get(KEY_HEADER)
    if not api_key:
        raise AuthenticationFailed("missing_credentials", "send an API key and a signature")
    parts = parse_key(api_key)
    if parts is None:
        raise AuthenticationFailed("invalid_key", "the API key is malformed")
    stored = find_key(parts[0])
    if stored is None or not secret_matches(stored, parts[1]):
        raise AuthenticationFailed("invalid_key", "the API key is not known")
    if stored.revoked_at is not None:
        raise AuthenticationFailed("revoked_key", "the API key was revoked")
    if stored.public_key is None:
        raise AuthenticationFailed("invalid_key", "the API key has no signing key registered")
    stamp, nonce = headers.get(TIMESTAMP_HEADER, ""), headers.get(NONCE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not stamp.isdigit() or not NONCE_PATTERN.match(nonce) or not signature:
        raise AuthenticationFailed(
            "invalid_signature",
            f"send {TIMESTAMP_HEADER} (Unix seconds), {NONCE_HEADER} (16-64 URL-safe "
            f"characters) and {SIGNATURE_HEADER}",
        )
    if abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        raise AuthenticationFailed(
            "stale_request", f"the timestamp is more than {MAX_SKEW_SECONDS} s from now"
        )
    canonical = canonical_request(method, path, stamp, nonce, body, body_sha512=body_sha512)
    if not signature_holds(_public_key(stored.public_key), canonical, signature):
        raise AuthenticationFailed("invalid_signature", "the signature does not match")
    return stored, nonce


@lru_cache(maxsize=KEYS_PARSED)
def _public_key(pem: str) -> ec.EllipticCurvePublicKey:
    return load_public_key(pem)
