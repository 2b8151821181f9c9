"""DKIM keys per sending domain (RSA-2048 and Ed25519, RFC 8463) and signing with them.

A domain is usually signed twice, once with each algorithm: receivers that know Ed25519
check the short signature, the others the RSA one. ``dns_record`` is the TXT value to
publish at ``<selector>._domainkey.<domain>``.

Signing (RFC 6376 relaxed/relaxed, RFC 8463 for Ed25519) is written out here with the keys
parsed once per process: every message of a campaign is signed, and a general-purpose
signer re-parses the message and the key each time. The tests check every signature with
dkimpy's verifier, an independent implementation.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .errors import AssemblyError

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to",
)  # fmt: skip
ALGORITHMS = {"rsa": b"rsa-sha256", "ed25519": b"ed25519-sha256"}
WHITESPACE = re.compile(rb"[ \t]+")
# Only what relaxed canonicalization changes: a run of two or more, or a tab.
WHITESPACE_TO_SQUEEZE = re.compile(rb"[ \t]{2,}|\t")
TRAILING_WHITESPACE = re.compile(rb"[ \t]+\r\n")


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
    """``message`` with a DKIM-Signature header for each key, relaxed/relaxed, over the
    headers of :data:`SIGNED_HEADERS` that it has (each key's header goes on top of the
    previous one's)."""
    for key in keys:
        if key.algorithm not in ALGORITHMS:
            raise AssemblyError(f"unknown DKIM algorithm {key.algorithm!r}")
    if not keys:
        return message
    head, separator, body = message.partition(b"\r\n\r\n")
    if not separator:
        raise AssemblyError("the message has no body separator")
    fields = _fields(head + b"\r\n")
    signed = [name for name in SIGNED_HEADERS if name in fields]
    canonical = b"".join(name + b":" + _relaxed_value(fields[name]) + b"\r\n" for name in signed)
    body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
    now = int(time.time())
    for key in keys:
        tags = [
            b"v=1", b"a=" + ALGORITHMS[key.algorithm], b"c=relaxed/relaxed",
            b"d=" + key.domain.encode(), b"i=@" + key.domain.encode(), b"q=dns/txt",
            b"s=" + key.selector.encode(), b"t=" + str(now).encode(),
            b"h=" + b":".join(signed), b"bh=" + body_hash,
        ]  # fmt: skip
        unsigned = _fold_tags(tags) + b";\r\n b="
        data = canonical + b"dkim-signature:" + _relaxed_value(unsigned)
        signature = base64.b64encode(_signer(key.algorithm, key.private_key)(data))
        folded = b"\r\n ".join(signature[i : i + 70] for i in range(0, len(signature), 70))
        message = b"DKIM-Signature: " + unsigned + folded + b"\r\n" + message
    return message


def _fields(head: bytes) -> dict[bytes, bytes]:
    """Lower-cased header name -> raw value of its last occurrence (the one DKIM signs)."""
    found: dict[bytes, bytes] = {}
    for field in re.split(rb"\r\n(?![ \t])", head):
        name, colon, value = field.partition(b":")
        if colon:
            found[name.strip().lower()] = value
    return found


def _relaxed_value(value: bytes) -> bytes:
    """RFC 6376 3.4.2: unfolded, runs of whitespace as one space, trimmed."""
    return WHITESPACE.sub(b" ", value.replace(b"\r\n", b"")).strip(b" \t")


def _relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: no whitespace at line ends, runs as one space, no trailing empty
    lines, and a non-empty body ends with CRLF."""
    # The regular expressions only where they can change something (a quoted-printable
    # body has no trailing whitespace and seldom a double space): searching is much
    # cheaper than substituting.
    if b" \r\n" in body or b"\t" in body:
        body = TRAILING_WHITESPACE.sub(b"\r\n", body)
    if b"  " in body or b"\t" in body:
        body = WHITESPACE_TO_SQUEEZE.sub(b" ", body)
    body = body.rstrip(b"\r\n") if body.endswith(b"\r\n") else body
    return body + b"\r\n" if body else b""


def _fold_tags(tags: list[bytes]) -> bytes:
    lines, current = [], b""
    for tag in tags:
        if current and len(current) + len(tag) > 70:
            lines.append(current + b";")
            current = tag
        else:
            current = current + b"; " + tag if current else tag
    lines.append(current)
    return b"\r\n ".join(lines)


@functools.lru_cache(maxsize=64)
def _signer(algorithm: str, private_key: bytes) -> Callable[[bytes], bytes]:
    """A signing function for the key (parsed once: PEM parsing costs more than signing)."""
    if algorithm == "ed25519":
        ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))
        # RFC 8463: Ed25519 signs the SHA-256 hash of the canonicalized data.
        return lambda data: ed_key.sign(hashlib.sha256(data).digest())
    loaded = serialization.load_pem_private_key(private_key, password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise AssemblyError("an rsa DKIM key must be an RSA private key in PEM")
    rsa_key = loaded
    return lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
