"""Second factors in the control database: a user's TOTP secret (sealed, pending until
confirmed) and their WebAuthn credentials with the signature counter each last reported."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

TOTP = "totp"
WEBAUTHN = "webauthn"


@dataclass(frozen=True)
class FactorRow:
    """One enrolled factor as the user sees it (no secret)."""

    kind: str  # "totp" or "webauthn"
    factor_id: str  # "totp", or the credential id (base64url)
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class StoredCredential:
    credential_id: bytes
    public_key: bytes
    sign_count: int


def save_pending_totp(conn: psycopg.Connection, user_id: uuid.UUID, sealed: bytes) -> bool:
    """Store a new, unconfirmed secret; False when the user has a confirmed one already."""
    row = conn.execute(
        "INSERT INTO totp_factors (user_id, secret_ciphertext) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET secret_ciphertext = EXCLUDED.secret_ciphertext, "
        "created_at = now() WHERE totp_factors.confirmed_at IS NULL RETURNING 1",
        (user_id, sealed),
    ).fetchone()
    return row is not None


def totp_secret(conn: psycopg.Connection, user_id: uuid.UUID, *, confirmed: bool) -> bytes | None:
    """The sealed secret, confirmed or pending as asked; None when there is none."""
    row = conn.execute(
        "SELECT secret_ciphertext FROM totp_factors WHERE user_id = %s "
        "AND (confirmed_at IS NOT NULL) = %s",
        (user_id, confirmed),
    ).fetchone()
    return bytes(row[0]) if row is not None else None


def confirm_totp(conn: psycopg.Connection, user_id: uuid.UUID) -> None:
    conn.execute(
        "UPDATE totp_factors SET confirmed_at = now(), last_used_at = now() WHERE user_id = %s",
        (user_id,),
    )


def touch_totp(conn: psycopg.Connection, user_id: uuid.UUID) -> None:
    conn.execute("UPDATE totp_factors SET last_used_at = now() WHERE user_id = %s", (user_id,))


def remove_totp(conn: psycopg.Connection, user_id: uuid.UUID) -> bool:
    row = conn.execute(
        "DELETE FROM totp_factors WHERE user_id = %s RETURNING 1", (user_id,)
    ).fetchone()
    return row is not None


def add_credential(
    conn: psycopg.Connection,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    credential: StoredCredential,
    name: str,
) -> bool:
    """Store a registered credential; False when its id is registered already."""
    row = conn.execute(
        "INSERT INTO webauthn_credentials (credential_id, user_id, org_id, name, public_key, "
        "sign_count) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (
            credential.credential_id,
            user_id,
            org_id,
            name,
            credential.public_key,
            credential.sign_count,
        ),
    ).fetchone()
    return row is not None


def credentials(conn: psycopg.Connection, user_id: uuid.UUID) -> list[StoredCredential]:
    rows = conn.execute(
        "SELECT credential_id, public_key, sign_count FROM webauthn_credentials "
        "WHERE user_id = %s ORDER BY created_at",
        (user_id,),
    ).fetchall()
    return [StoredCredential(bytes(r[0]), bytes(r[1]), int(r[2])) for r in rows]


def advance_sign_count(
    conn: psycopg.Connection, credential_id: bytes, seen: int, reported: int
) -> bool:
    """Record the counter an assertion reported, unless another use got there first (the
    counter must still be the ``seen`` one): False then, and the assertion is refused."""
    row = conn.execute(
        "UPDATE webauthn_credentials SET sign_count = %s, last_used_at = now() "
        "WHERE credential_id = %s AND sign_count = %s RETURNING 1",
        (reported, credential_id, seen),
    ).fetchone()
    return row is not None


def remove_credential(conn: psycopg.Connection, user_id: uuid.UUID, credential_id: bytes) -> bool:
    row = conn.execute(
        "DELETE FROM webauthn_credentials WHERE user_id = %s AND credential_id = %s RETURNING 1",
        (user_id, credential_id),
    ).fetchone()
    return row is not None


def factor_methods(conn: psycopg.Connection, user_id: uuid.UUID) -> list[str]:
    """The kinds of confirmed factor the user has: "totp", "webauthn", both or none."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = %s "
        "AND confirmed_at IS NOT NULL), "
        "EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = %s)",
        (user_id, user_id),
    ).fetchone()
    assert row is not None
    return [kind for kind, present in zip((TOTP, WEBAUTHN), row, strict=True) if present]


def list_factors(conn: psycopg.Connection, user_id: uuid.UUID) -> list[FactorRow]:
    """The user's confirmed factors, TOTP first."""
    rows = conn.execute(
        "SELECT 'totp', NULL::bytea, 'authenticator app', created_at, last_used_at "
        "FROM totp_factors WHERE user_id = %s AND confirmed_at IS NOT NULL "
        "UNION ALL SELECT 'webauthn', credential_id, name, created_at, last_used_at "
        "FROM webauthn_credentials WHERE user_id = %s ORDER BY 1, 4",
        (user_id, user_id),
    ).fetchall()
    return [
        FactorRow(kind, TOTP if raw is None else base64url(bytes(raw)), name, created, used)
        for kind, raw, name, created, used in rows
    ]


def base64url(raw: bytes) -> str:
    """``raw`` as unpadded base64url, the way WebAuthn spells credential ids."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
