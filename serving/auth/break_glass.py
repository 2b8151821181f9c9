"""Break-glass access: a time-boxed elevation of one user's role, for emergencies.

An owner (signed in with a second factor, or an owner API key) or an operator at the
command line (``postwise admin break-glass``) grants a user a higher role for at most
``BREAK_GLASS_MAX_MINUTES``, with a mandatory reason. The grant raises an alert: a WARNING
log line, a ``break_glass.granted`` entry in the control database's audit log and a
``security.break_glass`` webhook event to the organization's subscribed endpoints. It ends
by itself at ``expires_at`` and can be revoked earlier (``break_glass.revoked``). While it is
live the user's requests carry the elevated role, and each one is audited
(``break_glass.action``: method, path, status; see :mod:`serving.api.audit_trail`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from compliance.audit import record

from ..webhooks import outbox
from .roles import Role

log = logging.getLogger(__name__)
GRANT_COLUMNS = (
    "grant_id, org_id, user_id, role, reason, granted_by, granted_at, expires_at, revoked_at, "
    "revoked_by"
)
MAX_REASON_LENGTH = 2000


class GrantRefused(ValueError):
    """A grant that cannot be made as asked; ``code`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class GrantTargetMissing(LookupError):
    """No such active user (or grant) in the organization."""


@dataclass(frozen=True)
class Grant:
    grant_id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    reason: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.granted_at <= now < self.expires_at


def _grant(row: tuple[object, ...]) -> Grant:
    values = list(row)
    values[3] = Role(str(values[3]))
    return Grant(*values)  # type: ignore[arg-type]


def grant(
    conn: psycopg.Connection,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    reason: str,
    minutes: int,
    granted_by: str,
    max_minutes: int,
    webhook_attempts: int = 8,
) -> Grant:
    """Raise ``user_id`` to ``role`` for ``minutes``; audited, logged as an alert and
    announced to the organization's webhook endpoints (``webhook_attempts`` tries each)."""
    reason = reason.strip()
    if not reason:
        raise GrantRefused("reason_required", "a break-glass grant needs a reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise GrantRefused("reason_too_long", f"the reason is over {MAX_REASON_LENGTH} characters")
    if not 1 <= minutes <= max_minutes:
        raise GrantRefused(
            "duration_out_of_range", f"a grant lasts 1 to {max_minutes} minutes, not {minutes}"
        )
    current = conn.execute(
        "SELECT role FROM users WHERE user_id = %s AND org_id = %s AND disabled_at IS NULL",
        (user_id, org_id),
    ).fetchone()
    if current is None:
        raise GrantTargetMissing(f"no active user {user_id} in the organization")
    if Role(current[0]).includes(role):
        raise GrantRefused(
            "not_an_elevation", f"the user is {current[0]} already, which holds {role.value}"
        )
    if granted_by == f"user:{user_id}":
        raise GrantRefused("self_grant", "nobody grants themselves break-glass access")
    now = datetime.now(UTC)
    row = conn.execute(
        f"INSERT INTO break_glass_grants ({GRANT_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL) "
        f"RETURNING {GRANT_COLUMNS}",
        (
            uuid.uuid4(),
            org_id,
            user_id,
            role.value,
            reason,
            granted_by,
            now,
            now + timedelta(minutes=minutes),
        ),
    ).fetchone()
    assert row is not None
    made = _grant(tuple(row))
    record(
        conn,
        actor=granted_by,
        action="break_glass.granted",
        subject=f"user:{user_id}",
        org_id=org_id,
        details={
            "grant_id": str(made.grant_id),
            "role": role.value,
            "from_role": str(current[0]),
            "reason": reason,
            "expires_at": made.expires_at.isoformat(),
        },
    )
    outbox.emit(
        conn,
        org_id,
        "security.break_glass",
        {
            "grant_id": str(made.grant_id),
            "user_id": str(user_id),
            "role": role.value,
            "granted_by": granted_by,
            "expires_at": made.expires_at.isoformat(),
        },
        max_attempts=webhook_attempts,
    )
    log.warning(
        "break-glass grant %s: user %s of org %s raised from %s to %s until %s by %s: %s",
        made.grant_id,
        user_id,
        org_id,
        current[0],
        role.value,
        made.expires_at.isoformat(),
        granted_by,
        reason,
    )
    return made


def revoke(
    conn: psycopg.Connection, org_id: uuid.UUID, grant_id: uuid.UUID, revoked_by: str
) -> Grant:
    """End a live grant now; :class:`GrantTargetMissing` when no live grant has that id."""
    row = conn.execute(
        "UPDATE break_glass_grants SET revoked_at = now(), revoked_by = %s "
        "WHERE grant_id = %s AND org_id = %s AND revoked_at IS NULL AND expires_at > now() "
        f"RETURNING {GRANT_COLUMNS}",
        (revoked_by, grant_id, org_id),
    ).fetchone()
    if row is None:
        raise GrantTargetMissing(f"no live break-glass grant {grant_id} in the organization")
    ended = _grant(tuple(row))
    record(
        conn,
        actor=revoked_by,
        action="break_glass.revoked",
        subject=f"user:{ended.user_id}",
        org_id=org_id,
        details={"grant_id": str(grant_id)},
    )
    log.warning("break-glass grant %s revoked by %s", grant_id, revoked_by)
    return ended


def grants(conn: psycopg.Connection, org_id: uuid.UUID) -> list[Grant]:
    """The organization's grants, newest first (live, expired and revoked)."""
    rows = conn.execute(
        f"SELECT {GRANT_COLUMNS} FROM break_glass_grants WHERE org_id = %s "
        "ORDER BY granted_at DESC",
        (org_id,),
    ).fetchall()
    return [_grant(tuple(row)) for row in rows]


def live_grant(conn: psycopg.Connection, user_id: uuid.UUID) -> Grant | None:
    """The user's live grant of the highest role (the latest among equals), if any."""
    rows = conn.execute(
        f"SELECT {GRANT_COLUMNS} FROM break_glass_grants WHERE user_id = %s "
        "AND revoked_at IS NULL AND expires_at > now() ORDER BY granted_at DESC",
        (user_id,),
    ).fetchall()
    found = [_grant(tuple(row)) for row in rows]
    return max(found, key=lambda g: g.role.rank, default=None)


def record_action(
    conn: psycopg.Connection,
    *,
    grant_id: uuid.UUID,
    org_id: uuid.UUID,
    actor: str,
    method: str,
    path: str,
    status: int,
) -> None:
    """Audit one request made under a grant."""
    record(
        conn,
        actor=actor,
        action="break_glass.action",
        subject=path,
        org_id=org_id,
        details={"grant_id": str(grant_id), "method": method, "path": path, "status": status},
    )
