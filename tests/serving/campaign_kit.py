"""Shared pieces of the template, campaign, precheck and webhook tests: a small
authoritative DNS server on loopback (UDP, dnspython's message parsing) serving fixture
records, a uvicorn server for an app of their own settings, contacts in a cell, and the
removal of an organization's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import redis
from api_kit import Tenants, serve
from psycopg.types.json import Jsonb

from postwise.settings import Settings
from serving.api.main import create_app
from warehouse.db import Cells


def add_contact(
    cells: Cells,
    org_id: uuid.UUID,
    region: str = "eu",
    *,
    country: str = "DE",
    attributes: dict[str, Any] | None = None,
    consent: str | None = "granted",
    status: str = "active",
    suppressed: str | None = None,
    best_slot: datetime | None = None,
    model_fallback: bool = False,
) -> uuid.UUID:
    """A contact of ``org_id`` in ``region``'s cell with its consent, suppression and
    best send time as asked."""
    contact_id = uuid.uuid4()
    blind = uuid.uuid4().bytes
    with cells.connection(region) as conn:
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "wrapped_data_key, email_domain, country, region, time_zone, attributes, status) "
            "VALUES (%s, %s, 'x', %s, 'k', 'example.org', %s, %s, 'UTC', %s, %s)",
            (contact_id, org_id, blind, country, region, Jsonb(attributes or {}), status),
        )
        if consent is not None:
            conn.execute(
                "INSERT INTO consents (contact_id, purpose, status, policy_version) "
                "VALUES (%s, 'marketing', %s, 'v1')",
                (contact_id, consent),
            )
        if suppressed is not None:
            conn.execute(
                "INSERT INTO suppressions (org_id, email_blind_index, reason) VALUES (%s, %s, %s)",
                (org_id, blind, suppressed),
            )
        if best_slot is not None:
            conn.execute(
                "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, "
                "best_local_hour, open_probability_24h, model_name, model_version, fallback) "
                "VALUES (%s, %s, %s, %s, 0.3, 'send_time', '1', %s)",
                (contact_id, org_id, best_slot, best_slot.hour, model_fallback),
            )
    return contact_id


def remove_org_rows(cells: Cells, org_ids: list[uuid.UUID]) -> None:
    """Delete what the tests made for ``org_ids`` (before the organizations go)."""
    with cells.connection("control") as conn:
        conn.execute(
            "DELETE FROM webhook_endpoints WHERE org_id = ANY(%s)", (org_ids,)
        )  # deliveries and attempts cascade
        conn.execute("DELETE FROM campaigns WHERE org_id = ANY(%s)", (org_ids,))
        conn.execute(
            "DELETE FROM template_versions WHERE template_id IN "
            "(SELECT template_id FROM templates WHERE org_id = ANY(%s))",
            (org_ids,),
        )
        conn.execute("DELETE FROM templates WHERE org_id = ANY(%s)", (org_ids,))
    for region in cells.regions:
        with cells.connection(region) as conn:
            for table in (
                "messages",
                "message_idempotency_keys",
                "campaign_holdouts",
                "recipient_send_times",
                "suppressions",
                "email_events",
                "contacts",
            ):
                conn.execute(f"DELETE FROM {table} WHERE org_id = ANY(%s)", (org_ids,))  # noqa: S608


@contextmanager
def own_api(settings: Settings, cells: Cells) -> Iterator[tuple[str, Tenants]]:
    """The API for ``settings`` (sharing the run's cells) under uvicorn, with a
    :class:`Tenants` of its own whose rows (and the cached domain checks) go afterwards."""
    with serve(create_app(settings)) as url:
        tenants = Tenants(cells, url)
        try:
            yield url, tenants
        finally:
            remove_org_rows(cells, tenants.created)
            tenants.cleanup()
            client = redis.Redis.from_url(str(settings.redis_url))
            for key in client.scan_iter(match=f"{settings.database_prefix}:domain-checks:*"):
                client.delete(key)
            client.close()
