"""Fixtures of the delivery tests: region cells of their own for the queue and for the
workers, campaigns of sealed contacts, simulated ESPs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redis
from worker_kit import CampaignMaker

from postwise.settings import Settings
from simulator.esp import EspBehaviour, SimulatedEsp
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


# ---------------------------------------------------------------------------------------
# Delivery workers: cells of their own, campaigns, simulated ESPs (see worker_kit).


@pytest.fixture(scope="session")
def worker_settings(settings: Settings) -> Settings:
    """Settings of the worker tests: cells of their own, no warm-up (every sending domain
    in a test is new), short leases and polls."""
    return settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}_worker",
            "warmup_days": 0,
            "worker_lease_seconds": 3.0,
            "worker_poll_seconds": 0.2,
        }
    )


@pytest.fixture(scope="session")
def worker_cells(worker_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(worker_settings, database_server_url) as cells:
        yield cells


@pytest.fixture
def make_campaign(
    worker_cells: Cells, worker_settings: Settings, redis_url: str
) -> Iterator[CampaignMaker]:
    maker = CampaignMaker(worker_cells, worker_settings)
    yield maker
    maker.cleanup()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{worker_settings.database_prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def esps() -> Iterator[Callable[..., SimulatedEsp]]:
    """Starts simulated ESPs on free loopback ports; all are stopped afterwards."""
    started: list[SimulatedEsp] = []

    def start(name: str, **behaviour: Any) -> SimulatedEsp:
        esp = SimulatedEsp(EspBehaviour(name, **behaviour))
        esp.start()
        started.append(esp)
        return esp

    yield start
    for esp in started:
        try:
            esp.stop()
        except (RuntimeError, AssertionError):
            pass  # stopped by the test already
