"""Fixtures of the delivery tests: region cells of their own for the queue."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

REGION = "apac"


@pytest.fixture(scope="session")
def queue_cells(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    """Cells of their own: claims lease every due message, so they must not touch the
    history other tests read."""
    own = settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_queue"})
    with temporary_cells(own, database_server_url) as cells:
        yield cells


@pytest.fixture
def org(queue_cells: Cells) -> Iterator[uuid.UUID]:
    """A fresh organization; its messages are removed afterwards."""
    org_id = uuid.uuid4()
    yield org_id
    with queue_cells.connection(REGION) as conn:
        conn.execute("DELETE FROM messages WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM message_idempotency_keys WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM suppressions WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM contacts WHERE org_id = %s", (org_id,))


@pytest.fixture
def make_contact(queue_cells: Cells) -> Callable[[psycopg.Connection, uuid.UUID], uuid.UUID]:
    """Inserts a contact of an organization (sealed fields are placeholders) and returns
    its id; the ``org`` fixture removes it."""

    def insert(conn: psycopg.Connection, org_id: uuid.UUID) -> uuid.UUID:
        contact_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "wrapped_data_key, email_domain, country, region, time_zone) "
            "VALUES (%s, %s, 'x', %s, 'k', 'x.example', 'JP', 'apac', 'Asia/Tokyo')",
            (contact_id, org_id, uuid.uuid4().bytes),
        )
        return contact_id

    return insert
