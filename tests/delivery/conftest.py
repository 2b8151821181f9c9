"""Fixtures of the delivery tests: region cells of their own for the queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from postwise.settings import Settings
from warehouse.db import Cells, drop_database
from warehouse.migrate import migrate_all

REGION = "apac"


@pytest.fixture(scope="session")
def queue_cells(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    """Cells of their own: claims lease every due message, so they must not touch the
    history other tests read."""
    own = settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_queue"})
    cells = Cells.from_settings(own, database_server_url)
    migrate_all(cells)
    yield cells
    cells.close()
    for url in cells.all_urls().values():
        drop_database(url)


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
