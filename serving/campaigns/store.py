"""Campaigns in the control database. A campaign names its template (and optionally a
pinned version), its segment, send strategy, holdout share, blocked regions, the
domain it is sent from and its fallback channel (the last resort of messages whose email
delivery is exhausted: see :mod:`delivery.fallback`); it can be changed or deleted only
while it is a draft.

Connections come from the caller; each function runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .templates import TemplateStoreError


class CampaignNotFound(TemplateStoreError):
    code = "campaign_not_found"


class CampaignNotDraft(TemplateStoreError):
    code = "campaign_not_draft"


class CampaignTemplateInvalid(TemplateStoreError):
    code = "campaign_template_invalid"


@dataclass(frozen=True)
class Campaign:
    campaign_id: uuid.UUID
    org_id: uuid.UUID
    name: str
    campaign_type: str
    template_id: uuid.UUID | None
    template_version: int | None
    topic: str | None
    blocked_regions: list[str]
    send_strategy: str
    holdout_share: float
    status: str
    scheduled_at: datetime | None
    sending_domain: str | None
    segment: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    fallback_channel: str | None = None  # the last resort once email is exhausted ("sms")


COLUMNS = [f.name for f in fields(Campaign)]
EDITABLE = frozenset(
    {"name", "campaign_type", "template_id", "template_version", "topic", "blocked_regions",
     "send_strategy", "holdout_share", "scheduled_at", "sending_domain", "segment",
     "fallback_channel"}
)  # fmt: skip
_SELECT = sql.SQL("SELECT {} FROM campaigns ").format(
    sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
)


def create(conn: psycopg.Connection, org_id: uuid.UUID, values: dict[str, Any]) -> Campaign:
    _check_template(conn, org_id, values.get("template_id"), values.get("template_version"))
    campaign_id = uuid.uuid4()
    names = ["campaign_id", "org_id", *values]
    conn.execute(
        sql.SQL("INSERT INTO campaigns ({}) VALUES ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
        ),
        [campaign_id, org_id, *(_param(k, v) for k, v in values.items())],
    )
    return get(conn, org_id, campaign_id)


def get(
    conn: psycopg.Connection, org_id: uuid.UUID, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign:
    query = _SELECT + sql.SQL("WHERE org_id = %s AND campaign_id = %s")
    if lock:
        query += sql.SQL(" FOR UPDATE")
    row = conn.execute(query, (org_id, campaign_id)).fetchone()
    if row is None:
        raise CampaignNotFound(f"no campaign {campaign_id} in your organization")
    return _campaign(row)


def listing(
    conn: psycopg.Connection, org_id: uuid.UUID, *, status: str | None, limit: int, offset: int
) -> list[Campaign]:
    rows = conn.execute(
        _SELECT
        + sql.SQL(
            "WHERE org_id = %s AND (%s::text IS NULL OR status = %s) "
            "ORDER BY created_at DESC, campaign_id LIMIT %s OFFSET %s"
        ),
        (org_id, status, status, limit, offset),
    ).fetchall()
    return [_campaign(row) for row in rows]


def update(
    conn: psycopg.Connection, org_id: uuid.UUID, campaign_id: uuid.UUID, values: dict[str, Any]
) -> Campaign:
    current = get(conn, org_id, campaign_id, lock=True)
    if current.status != "draft":
        raise CampaignNotDraft(f"campaign {campaign_id} is {current.status}; only drafts change")
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "template_id" in values or "template_version" in values:
        _check_template(
            conn,
            org_id,
            values.get("template_id", current.template_id),
            values.get("template_version", current.template_version),
        )
    if values:
        conn.execute(
            sql.SQL("UPDATE campaigns SET {}, updated_at = now() WHERE campaign_id = %s").format(
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)
            ),
            [*(_param(k, v) for k, v in values.items()), campaign_id],
        )
    return get(conn, org_id, campaign_id)


def delete(conn: psycopg.Connection, org_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    current = get(conn, org_id, campaign_id, lock=True)
    if current.status != "draft":
        raise CampaignNotDraft(
            f"campaign {campaign_id} is {current.status}; only drafts can be deleted"
        )
    conn.execute("DELETE FROM campaigns WHERE campaign_id = %s", (campaign_id,))


def mark_sent(conn: psycopg.Connection, campaign_id: uuid.UUID, template_version: int) -> None:
    conn.execute(
        "UPDATE campaigns SET status = 'sending', template_version = %s, "
        "sent_at = coalesce(sent_at, now()), updated_at = now() WHERE campaign_id = %s",
        (template_version, campaign_id),
    )


def _check_template(
    conn: psycopg.Connection, org_id: uuid.UUID, template_id: Any, version: Any
) -> None:
    if template_id is None:
        if version is not None:
            raise CampaignTemplateInvalid("template_version needs a template_id")
        return
    row = conn.execute(
        "SELECT t.archived_at, (SELECT max(version) FROM template_versions v "
        "WHERE v.template_id = t.template_id) FROM templates t "
        "WHERE t.org_id = %s AND t.template_id = %s",
        (org_id, template_id),
    ).fetchone()
    if row is None:
        raise CampaignTemplateInvalid(f"no template {template_id} in your organization")
    if row[0] is not None:
        raise CampaignTemplateInvalid(f"template {template_id} is archived")
    if version is not None and version > row[1]:
        raise CampaignTemplateInvalid(f"template {template_id} has no version {version}")


def _param(name: str, value: Any) -> Any:
    return Jsonb(value) if name == "segment" else value


def _campaign(row: tuple[Any, ...]) -> Campaign:
    values = dict(zip(COLUMNS, row, strict=True))
    share = values["holdout_share"]
    values["holdout_share"] = float(share) if isinstance(share, Decimal) else share
    values["blocked_regions"] = list(values["blocked_regions"] or [])
    return Campaign(**values)
