"""API keys: ``pw_<prefix>_<secret>``, shown once, stored as the SHA-256 of the secret.

The prefix (public, unique) finds the row; the secret is 256 random bits, so a fast hash
is enough (nothing to brute-force) and the comparison is constant-time. Each key carries
the role it acts with and the P-521 public key its requests are signed with.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from .roles import Role
from .signing import load_public_key

KEY_PATTERN = re.compile(r"^pw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class IssuedKey:
    key_id: uuid.UUID
    api_key: str  # the only time the secret is visible


@dataclass(frozen=True)
class StoredKey:
    key_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    key_hash: bytes
    public_key: str | None
    home_region: str
    revoked_at: datetime | None


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_key(api_key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = KEY_PATTERN.match(api_key.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(stored: StoredKey, secret: str) -> bool:
    return hmac.compare_digest(stored.key_hash, _hash(secret))


def issue_key(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    name: str,
    role: Role,
    public_key_pem: str,
) -> IssuedKey:
    """Create a key for ``org_id`` acting as ``role``, its requests signed by the holder of
    ``public_key_pem`` (checked to be a P-521 key)."""
    load_public_key(public_key_pem)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO api_keys (key_id, org_id, name, prefix, key_hash, role, public_key) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (key_id, org_id, name, prefix, _hash(secret), role.value, public_key_pem),
    )
    return IssuedKey(key_id, f"pw_{prefix}_{secret}")


def find_key(conn: psycopg.Connection, prefix: str) -> StoredKey | None:
    row = conn.execute(
        "SELECT k.key_id, k.org_id, k.role, k.key_hash, k.public_key, o.home_region, "
        "k.revoked_at FROM api_keys k JOIN orgs o USING (org_id) WHERE k.prefix = %s",
        (prefix,),
    ).fetchone()
    if row is None:
        return None
    key_id, org_id, role, key_hash, public_key, home_region, revoked_at = row
    return StoredKey(key_id, org_id, Role(role), bytes(key_hash), public_key, home_region,
                     revoked_at)  # fmt: skip


def revoke_key(conn: psycopg.Connection, org_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Revoke one of ``org_id``'s keys; False when it has no such live key."""
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = %s AND org_id = %s "
        "AND revoked_at IS NULL RETURNING key_id",
        (key_id, org_id),
    ).fetchone()
    return row is not None
