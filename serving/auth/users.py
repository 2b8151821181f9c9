"""Users of an organization in the control database: creation with an argon2id password
(refused when breached, see :func:`.passwords.check_new_password`), password changes,
listing, removal (disabling: the row stays for the audit trail), and the look-ups that
login and bearer authentication need."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from .passwords import check_new_password, hash_password, verify_password
from .roles import Role

USER_COLUMNS = "user_id, org_id, email, display_name, role, created_at, disabled_at"


class UserExists(ValueError):
    """The organization already has a user with this email address."""


@dataclass(frozen=True)
class UserRow:
    user_id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class LoginCandidate:
    user_id: uuid.UUID
    org_id: uuid.UUID
    password_hash: str | None


@dataclass(frozen=True)
class ActiveUser:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    home_region: str


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _row(values: tuple[object, ...]) -> UserRow:
    user_id, org_id, email, name, role, created_at, disabled_at = values
    return UserRow(user_id, org_id, str(email), str(name), Role(str(role)), created_at, disabled_at)  # type: ignore[arg-type]


def create_user(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    email: str,
    password: str,
    role: Role,
    display_name: str = "",
) -> UserRow:
    """A new user of ``org_id``; :class:`UserExists` when the address is taken there,
    :class:`.passwords.WeakPassword` (or its ``BreachedPassword``) for the password."""
    check_new_password(password)
    password_hash = hash_password(password)
    try:
        with conn.transaction():
            values = conn.execute(
                "INSERT INTO users (user_id, org_id, email, display_name, password_hash, role) "
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {USER_COLUMNS}",
                (
                    uuid.uuid4(),
                    org_id,
                    normalize_email(email),
                    display_name,
                    password_hash,
                    role.value,
                ),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise UserExists(f"{normalize_email(email)} already has an account here") from None
    assert values is not None
    return _row(values)


def list_users(conn: psycopg.Connection, org_id: uuid.UUID) -> list[UserRow]:
    """The organization's active users, oldest first."""
    rows = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE org_id = %s AND disabled_at IS NULL "
        "ORDER BY created_at, email",
        (org_id,),
    ).fetchall()
    return [_row(tuple(row)) for row in rows]


def disable_user(conn: psycopg.Connection, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Remove ``user_id`` of ``org_id`` (disabled, kept); False when no such active user."""
    row = conn.execute(
        "UPDATE users SET disabled_at = now() WHERE user_id = %s AND org_id = %s "
        "AND disabled_at IS NULL RETURNING user_id",
        (user_id, org_id),
    ).fetchone()
    return row is not None


def login_candidates(
    conn: psycopg.Connection, email: str, org_slug: str | None
) -> list[LoginCandidate]:
    """Active users with ``email`` (in the organization ``org_slug``, when given)."""
    rows = conn.execute(
        "SELECT u.user_id, u.org_id, u.password_hash FROM users u JOIN orgs o USING (org_id) "
        "WHERE u.email = %s AND u.disabled_at IS NULL AND (%s::text IS NULL OR o.slug = %s)",
        (normalize_email(email), org_slug, org_slug),
    ).fetchall()
    return [LoginCandidate(*row) for row in rows]


def active_user(conn: psycopg.Connection, user_id: uuid.UUID) -> ActiveUser | None:
    """The user's current organization, role and home region, if still active."""
    row = conn.execute(
        "SELECT u.user_id, u.org_id, u.role, o.home_region FROM users u "
        "JOIN orgs o USING (org_id) WHERE u.user_id = %s AND u.disabled_at IS NULL",
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    return ActiveUser(row[0], row[1], Role(row[2]), row[3])


def set_password_hash(conn: psycopg.Connection, user_id: uuid.UUID, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id))


class WrongPassword(ValueError):
    """The current password given to change it is not the user's."""


def change_password(conn: psycopg.Connection, user_id: uuid.UUID, current: str, new: str) -> None:
    """Replace an active user's password after checking ``current``; :class:`WrongPassword`
    or :class:`.passwords.WeakPassword` (``BreachedPassword``) refuse the change."""
    row = conn.execute(
        "SELECT password_hash FROM users WHERE user_id = %s AND disabled_at IS NULL", (user_id,)
    ).fetchone()
    if row is None or not verify_password(row[0], current):
        raise WrongPassword("the current password is wrong")
    check_new_password(new)
    set_password_hash(conn, user_id, hash_password(new))


def user_email(conn: psycopg.Connection, org_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The address of ``user_id`` of ``org_id`` (None: no such active user there)."""
    row = conn.execute(
        "SELECT email FROM users WHERE user_id = %s AND org_id = %s AND disabled_at IS NULL",
        (user_id, org_id),
    ).fetchone()
    return str(row[0]) if row is not None else None
