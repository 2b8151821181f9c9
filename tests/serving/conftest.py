"""Fixtures of the serving tests: cells of their own, and the API under a real uvicorn on
loopback (in a thread), trusting ``X-Forwarded-For`` from 127.0.0.1 as it would from its
load balancer, so tests can speak for clients on other networks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from api_kit import HTML, SENDING_DOMAINS, SendMessage, Sent, Tenants
from live_api import serve

from delivery.message import Envelope, Tracking, TrackingSigner, TrackingUrls, assemble
from delivery.queue import NewMessage, enqueue
from postwise.settings import Settings
from serving.api.main import create_app
from simulator.dns import DnsServer
from warehouse.db import Cells
from warehouse.migrate import temporary_cells


@pytest.fixture(scope="session")
def api_dns() -> Iterator[DnsServer]:
    """The DNS the API's sending-domain prechecks ask: the domains the tests send from
    (``SENDING_DOMAINS``) authorize the loopback routes and publish DMARC; others are
    NXDOMAIN (and so fail)."""
    with DnsServer() as server:
        for domain in SENDING_DOMAINS:
            server.add(domain, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
            server.add(f"_dmarc.{domain}", "TXT", '"v=DMARC1; p=none"')
        yield server


@pytest.fixture(scope="session")
def api_settings(settings: Settings, api_dns: DnsServer) -> Settings:
    """The run's settings with cells of their own, a 1-second scanner window (people
    in these tests act 1.5 s after delivery, not 10), the loopback DNS, and outbound
    webhooks allowed to the loopback receivers of the tests."""
    return settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}_serving",
            "webhook_allow_private_targets": True,
            "tracking_scanner_window_seconds": 1.0,
            "dns_resolver_address": api_dns.address,
            "dns_resolver_port": api_dns.port,
            "dnsbl_zones": ("bl.test",),
        }
    )


@pytest.fixture(scope="session")
def serving_cells(api_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(api_settings, database_server_url) as cells:
        yield cells


@pytest.fixture(scope="session")
def api_url(api_settings: Settings, serving_cells: Cells) -> Iterator[str]:
    """Base URL of the API served by uvicorn on a free loopback port."""
    with serve(
        create_app(api_settings),
        thread_name="uvicorn",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    ) as url:
        yield url
    client = redis.Redis.from_url(str(api_settings.redis_url))
    for key in client.scan_iter(match=f"{api_settings.database_prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def send_message(
    api_settings: Settings, serving_cells: Cells, api_url: str
) -> Iterator[SendMessage]:
    """Makes messages of one fresh organization; its rows are removed afterwards."""
    org_id = uuid.uuid4()
    tracking = Tracking(
        TrackingSigner(api_settings.tracking_secret),
        TrackingUrls(api_url),
        "unsubscribe@bounces.example",
    )
    regions: set[str] = set()

    def send(
        region: str = "eu",
        *,
        contact_id: uuid.UUID | None = None,
        to: str = "ada@example.org",
        html: str = HTML,
        delivered_at: datetime | None = None,
        with_claims: bool = True,
    ) -> Sent:
        regions.add(region)
        contact_id = contact_id or uuid.uuid4()
        with serving_cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "wrapped_data_key, email_domain, country, region, time_zone) "
                "VALUES (%s, %s, 'x', %s, 'k', 'example.org', 'DE', %s, 'Europe/Berlin') "
                "ON CONFLICT DO NOTHING",
                (contact_id, org_id, uuid.uuid4().bytes, region),
            )
            message_id = enqueue(
                conn, NewMessage(org_id, contact_id, "marketing", "news.acme.example")
            ).message_id
            conn.execute(
                "UPDATE messages SET status = 'delivered', sent_at = coalesce(%s, now()) "
                "WHERE message_id = %s",
                (delivered_at, message_id),
            )
        raw = assemble(
            message_id,
            contact_id,
            Envelope("news@news.acme.example", to, "Offers", "news.acme.example"),
            html,
            tracking,
            now=delivered_at or datetime.now(UTC),
            region=region if with_claims else None,
            org_id=org_id if with_claims else None,
        )
        return Sent(message_id, contact_id, org_id, region, raw)

    yield send
    for region in regions:
        with serving_cells.connection(region) as conn:
            for table in ("messages", "message_idempotency_keys", "suppressions", "contacts"):
                conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (org_id,))  # noqa: S608


@pytest.fixture
def tenants(serving_cells: Cells, api_url: str) -> Iterator[Tenants]:
    """Organizations with signed API clients; removed afterwards."""
    made = Tenants(serving_cells, api_url)
    yield made
    made.cleanup()
