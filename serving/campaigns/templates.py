"""Templates in the control database: a template is a name and a list of immutable
versions; every update adds a version. A template that messages or campaigns reference is
archived instead of deleted, so what was sent can always be shown again.

Connections come from the caller; each function runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


class TemplateStoreError(Exception):
    """Base of the template store's errors; ``code`` is machine-readable."""

    code = "template_error"


class TemplateNotFound(TemplateStoreError):
    code = "template_not_found"


class TemplateNameTaken(TemplateStoreError):
    code = "template_name_taken"


class TemplateArchived(TemplateStoreError):
    code = "template_archived"


@dataclass(frozen=True)
class Content:
    """What one version holds."""

    subject: str
    html: str
    text: str | None = None
    partials: dict[str, str] | None = None
    variants: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"html": self.html, "text": self.text, "partials": self.partials or {}}


@dataclass(frozen=True)
class Version:
    template_id: uuid.UUID
    version: int
    subject: str
    html: str
    text: str | None
    partials: dict[str, str]
    variants: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class TemplateRecord:
    template_id: uuid.UUID
    name: str
    latest_version: int
    created_at: datetime
    archived_at: datetime | None
    current: Version


_TEMPLATE = "SELECT template_id, name, latest_version, created_at, archived_at FROM templates "
_VERSION = (
    "SELECT template_id, version, subject, content, variants, created_at FROM template_versions "
)


def create(
    conn: psycopg.Connection, org_id: uuid.UUID, name: str, content: Content
) -> TemplateRecord:
    template_id = uuid.uuid4()
    try:
        # One block for both rows: on an idle connection it is the transaction itself (not
        # a savepoint), so a version the database refuses must not leave the template behind.
        with conn.transaction():
            conn.execute(
                "INSERT INTO templates (template_id, org_id, name, latest_version) "
                "VALUES (%s, %s, %s, 1)",
                (template_id, org_id, name),
            )
            _insert_version(conn, template_id, 1, content)
    except psycopg.errors.UniqueViolation:
        raise TemplateNameTaken(
            f"your organization already has a template named {name!r}"
        ) from None
    return get(conn, org_id, template_id)


def get(conn: psycopg.Connection, org_id: uuid.UUID, template_id: uuid.UUID) -> TemplateRecord:
    row = conn.execute(
        _TEMPLATE + "WHERE org_id = %s AND template_id = %s", (org_id, template_id)
    ).fetchone()
    if row is None:
        raise TemplateNotFound(f"no template {template_id} in your organization")
    return _record(conn, org_id, row)


def listing(
    conn: psycopg.Connection, org_id: uuid.UUID, *, archived: bool, limit: int, offset: int
) -> list[TemplateRecord]:
    rows = conn.execute(
        _TEMPLATE + "WHERE org_id = %s AND (%s OR archived_at IS NULL) "
        "ORDER BY created_at DESC, template_id LIMIT %s OFFSET %s",
        (org_id, archived, limit, offset),
    ).fetchall()
    return [_record(conn, org_id, row) for row in rows]


def version(
    conn: psycopg.Connection, org_id: uuid.UUID, template_id: uuid.UUID, number: int | None
) -> Version:
    """One version (None: the latest) of one of the organization's templates."""
    row = conn.execute(
        _VERSION + "v WHERE template_id = %s AND version = coalesce(%s, "
        "(SELECT latest_version FROM templates t WHERE t.template_id = v.template_id)) "
        "AND EXISTS (SELECT 1 FROM templates t WHERE t.template_id = v.template_id "
        "AND t.org_id = %s)",
        (template_id, number, org_id),
    ).fetchone()
    if row is None:
        raise TemplateNotFound(
            f"no version {number} of template {template_id} in your organization"
            if number is not None
            else f"no template {template_id} in your organization"
        )
    return _version(row)


def versions(conn: psycopg.Connection, org_id: uuid.UUID, template_id: uuid.UUID) -> list[Version]:
    get(conn, org_id, template_id)  # 404 for another organization's template
    rows = conn.execute(
        _VERSION + "WHERE template_id = %s ORDER BY version", (template_id,)
    ).fetchall()
    return [_version(row) for row in rows]


def update(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    template_id: uuid.UUID,
    content: Content,
    name: str | None = None,
) -> TemplateRecord:
    """Add a version (the template's new latest) and optionally rename the template."""
    row = conn.execute(
        "SELECT latest_version, archived_at FROM templates "
        "WHERE org_id = %s AND template_id = %s FOR UPDATE",
        (org_id, template_id),
    ).fetchone()
    if row is None:
        raise TemplateNotFound(f"no template {template_id} in your organization")
    if row[1] is not None:
        raise TemplateArchived(f"template {template_id} is archived; create a new one instead")
    number = row[0] + 1
    _insert_version(conn, template_id, number, content)
    try:
        with conn.transaction():
            conn.execute(
                "UPDATE templates SET latest_version = %s, name = coalesce(%s, name) "
                "WHERE template_id = %s",
                (number, name, template_id),
            )
    except psycopg.errors.UniqueViolation:
        raise TemplateNameTaken(
            f"your organization already has a template named {name!r}"
        ) from None
    return get(conn, org_id, template_id)


def remove(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    template_id: uuid.UUID,
    sent_with: Callable[[uuid.UUID], bool],
) -> str:
    """Delete the template, or archive it when campaigns or messages (``sent_with``, which
    asks the region cells) reference it; returns ``deleted`` or ``archived``."""
    row = conn.execute(
        "SELECT archived_at FROM templates WHERE org_id = %s AND template_id = %s FOR UPDATE",
        (org_id, template_id),
    ).fetchone()
    if row is None:
        raise TemplateNotFound(f"no template {template_id} in your organization")
    used = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE template_id = %s)", (template_id,)
    ).fetchone()
    if (used is not None and used[0]) or sent_with(template_id):
        conn.execute(
            "UPDATE templates SET archived_at = coalesce(archived_at, now()) "
            "WHERE template_id = %s",
            (template_id,),
        )
        return "archived"
    conn.execute("DELETE FROM template_versions WHERE template_id = %s", (template_id,))
    conn.execute("DELETE FROM templates WHERE template_id = %s", (template_id,))
    return "deleted"


def _insert_version(
    conn: psycopg.Connection, template_id: uuid.UUID, number: int, content: Content
) -> None:
    conn.execute(
        "INSERT INTO template_versions (template_id, version, subject, content, variants) "
        "VALUES (%s, %s, %s, %s, %s)",
        (
            template_id,
            number,
            content.subject,
            Jsonb(content.as_json()),
            Jsonb(content.variants or []),
        ),
    )


def _record(conn: psycopg.Connection, org_id: uuid.UUID, row: tuple[Any, ...]) -> TemplateRecord:
    template_id, name, latest, created_at, archived_at = row
    current = version(conn, org_id, template_id, latest)
    return TemplateRecord(template_id, name, latest, created_at, archived_at, current)


def _version(row: tuple[Any, ...]) -> Version:
    template_id, number, subject, content, variants, created_at = row
    content = content or {}
    return Version(
        template_id=template_id,
        version=number,
        subject=subject,
        html=str(content.get("html", "")),
        text=content.get("text"),
        partials={str(k): str(v) for k, v in (content.get("partials") or {}).items()},
        variants=list(variants or []),
        created_at=created_at,
    )
