"""Helpers of the operations tests (models, users, limits, resilience, metrics): an app
of its own under uvicorn on loopback, and contacts, scores and users written straight into
the cells."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from api_kit import Tenants

from serving.auth import Role
from serving.auth.users import create_user
from warehouse.db import Cells

PASSWORD = "a long enough passphrase"


@dataclass
class CellRows:
    """Contacts and model outputs written into region cells; removed by ``cleanup``."""

    cells: Cells
    orgs: set[tuple[str, uuid.UUID]] = field(default_factory=set)

    def contact(
        self, org_id: uuid.UUID, region: str = "eu", time_zone: str = "Europe/Berlin"
    ) -> uuid.UUID:
        contact_id = uuid.uuid4()
        self.orgs.add((region, org_id))
        with self.cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "wrapped_data_key, email_domain, country, region, time_zone) "
                "VALUES (%s, %s, 'x', %s, 'k', 'example.org', 'DE', %s, %s)",
                (contact_id, org_id, uuid.uuid4().bytes, region, time_zone),
            )
        return contact_id

    def score(
        self,
        org_id: uuid.UUID,
        contact_id: uuid.UUID,
        hour_utc: int,
        probability: float,
        region: str = "eu",
        version: str = "7",
    ) -> None:
        best = datetime(2026, 11, 2, hour_utc, tzinfo=UTC)
        with self.cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, "
                "best_local_hour, open_probability_24h, model_name, model_version, fallback) "
                "VALUES (%s, %s, %s, 0, %s, 'send_time_eu', %s, false)",
                (contact_id, org_id, best, probability, version),
            )

    def cleanup(self) -> None:
        for region, org_id in self.orgs:
            with self.cells.connection(region) as conn:
                for table in ("recipient_send_times", "anomaly_scores", "paused_senders",
                              "contacts"):  # fmt: skip
                    conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (org_id,))  # noqa: S608


def add_user(
    cells: Cells, org_id: uuid.UUID, role: Role = Role.OWNER, email: str | None = None
) -> str:
    """A user of ``org_id`` with ``PASSWORD``; returns the address."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@acme.example"
    with cells.connection("control") as conn:
        create_user(conn, org_id, email, PASSWORD, role)
    return email


def remove_users(cells: Cells, org_ids: list[uuid.UUID]) -> None:
    with cells.connection("control") as conn:
        conn.execute("DELETE FROM users WHERE org_id = ANY(%s)", (org_ids,))


@pytest.fixture(name="rows")
def rows_fixture(serving_cells: Cells) -> Iterator[CellRows]:
    made = CellRows(serving_cells)
    yield made
    made.cleanup()


@pytest.fixture(name="people")
def people_fixture(tenants: Tenants, serving_cells: Cells) -> Iterator[Tenants]:
    """``tenants`` whose organizations' users are removed before the organizations."""
    yield tenants
    remove_users(serving_cells, tenants.created)
