"""Manual override switches of delivery in the control database: storing them and reading
them back (the delivery workers, the API, the operator CLI and the dashboards).

A switch is ``kind`` (``pause``, ``force_route``, ``drain``) over a scope: ``org_id``
(None: every organization), ``region`` (None: every region) and ``sending_domain`` (None:
every sender of the organization); ``route`` is the route a pause holds, a force_route sends
through or a drain empties. A switch is in force from ``created_at`` until ``cleared_at``.

Read functions for dashboards: :func:`active_switches` (what is in force now) and
:func:`switch_history` (switches set or cleared since a time). Writing goes through
``delivery.switches``, which audits each change and tells the workers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

KINDS = ("pause", "force_route", "drain")
_COLUMNS = (
    "switch_id, kind, org_id, region, route, sending_domain, reason, created_by, created_at, "
    "cleared_at, cleared_by"
)


@dataclass(frozen=True)
class Switch:
    """One manual override switch, as stored."""

    switch_id: uuid.UUID
    kind: str
    org_id: uuid.UUID | None
    region: str | None
    route: str | None
    sending_domain: str | None
    reason: str
    created_by: str
    created_at: datetime
    cleared_at: datetime | None = None
    cleared_by: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def scope(self) -> str:
        """The scope in words: ``all``, ``org <id>``, ``region eu``, ``sender <org>/<domain>``,
        joined with commas when several apply."""
        parts = []
        if self.sending_domain is not None:
            parts.append(f"sender {self.org_id}/{self.sending_domain}")
        elif self.org_id is not None:
            parts.append(f"org {self.org_id}")
        if self.region is not None:
            parts.append(f"region {self.region}")
        if self.kind == "pause" and self.route is not None:
            parts.append(f"route {self.route}")
        return ", ".join(parts) or "all"


def insert_switch(conn: psycopg.Connection, switch: Switch) -> Switch:
    """Store a new switch (in the caller's transaction); returns it as stored."""
    row = conn.execute(
        f"INSERT INTO operator_switches ({_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL) "
        f"RETURNING {_COLUMNS}",
        (
            switch.switch_id, switch.kind, switch.org_id, switch.region, switch.route,
            switch.sending_domain, switch.reason, switch.created_by, switch.created_at,
        ),
    ).fetchone()  # fmt: skip
    assert row is not None
    return Switch(*row)


def clear_switch(
    conn: psycopg.Connection,
    switch_id: uuid.UUID,
    cleared_by: str,
    *,
    org_id: uuid.UUID | None = None,
) -> Switch | None:
    """Clear an active switch (of ``org_id`` only, when given); None when there is no such
    active switch. In the caller's transaction."""
    row = conn.execute(
        "UPDATE operator_switches SET cleared_at = now(), cleared_by = %s "
        "WHERE switch_id = %s AND cleared_at IS NULL "
        "AND (%s::uuid IS NULL OR org_id = %s::uuid) "
        f"RETURNING {_COLUMNS}",
        (cleared_by, switch_id, org_id, org_id),
    ).fetchone()
    return Switch(*row) if row is not None else None


def active_switches(conn: psycopg.Connection) -> list[Switch]:
    """Every switch in force, oldest first (what the delivery workers apply)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM operator_switches WHERE cleared_at IS NULL ORDER BY created_at"
    ).fetchall()
    return [Switch(*row) for row in rows]


def org_switches(
    conn: psycopg.Connection, org_id: uuid.UUID, *, include_cleared: bool = False
) -> list[Switch]:
    """An organization's own switches, newest first (active ones only unless asked)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM operator_switches WHERE org_id = %s "
        "AND (%s OR cleared_at IS NULL) ORDER BY created_at DESC",
        (org_id, include_cleared),
    ).fetchall()
    return [Switch(*row) for row in rows]


def switch_history(
    conn: psycopg.Connection, since: datetime, *, org_id: uuid.UUID | None = None
) -> list[Switch]:
    """Switches set or cleared at or after ``since`` (of one organization, when given),
    oldest first: the timeline a dashboard draws next to its sending charts."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM operator_switches "
        "WHERE (created_at >= %s OR cleared_at >= %s) "
        "AND (%s::uuid IS NULL OR org_id = %s::uuid) ORDER BY created_at",
        (since, since, org_id, org_id),
    ).fetchall()
    return [Switch(*row) for row in rows]


def get_switch(conn: psycopg.Connection, switch_id: uuid.UUID) -> Switch | None:
    """One switch by id, active or cleared."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM operator_switches WHERE switch_id = %s", (switch_id,)
    ).fetchone()
    return Switch(*row) if row is not None else None
