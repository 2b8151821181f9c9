"""DKIM keys per sending domain (RSA-2048 and Ed25519, RFC 8463) and signing with them.

A domain is usually signed twice, once with each algorithm: receivers that know Ed25519
check the short signature, the others the RSA one. ``dns_record`` is the TXT value to
publish at ``<selector>._domainkey.<domain>``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .errors import AssemblyError

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to",
)  # fmt: skip
ALGORITHMS = {"rsa": b"rsa-sha256", "ed25519": b"ed25519-sha256"}


@dataclass(frozen=True)
class DkimKey:
    """A signing key: ``private_key`` is PEM (RSA) or the base64 seed (Ed25519), the
    forms dkimpy signs with."""

    domain: str
    selector: str
    algorithm: str  # "rsa" or "ed25519"
    private_key: bytes
    public_key: bytes  # base64, as published in DNS

    def dns_record(self) -> str:
        return f"v=DKIM1; k={self.algorithm}; p={self.public_key.decode()}"


def generate_rsa_key(domain: str, selector: str, bits: int = 2048) -> DkimKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKey(domain, selector, "rsa", private, base64.b64encode(public))


def generate_ed25519_key(domain: str, selector: str) -> DkimKey:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return DkimKey(domain, selector, "ed25519", base64.b64encode(seed), base64.b64encode(public))


def sign(message: bytes, keys: tuple[DkimKey, ...] | list[DkimKey]) -> bytes:
    """``message`` with a DKIM-Signature header for each key (the last key signs first)."""
    for key in keys:
        if key.algorithm not in ALGORITHMS:
            raise AssemblyError(f"unknown DKIM algorithm {key.algorithm!r}")
        present = [h for h in SIGNED_HEADERS if _has_header(message, h)]
        header = dkim.sign(
            message,
            key.selector.encode(),
            key.domain.encode(),
            key.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=ALGORITHMS[key.algorithm],
            include_headers=present,
        )
        message = header + message
    return message


def _has_header(message: bytes, name: bytes) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or b"\r\n" + name + b":" in head
