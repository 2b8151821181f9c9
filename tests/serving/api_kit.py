"""Shared pieces of the serving tests: sent messages, their events, and organizations
with signed API clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from live_api import serve as serve  # the tests of this folder import it from here

from serving.auth import Role, generate_signing_key, issue_key
from serving.client import PostwiseClient
from warehouse.db import Cells

HTML = (
    '<p>Hello, our <a href="https://shop.example/autumn?x=1&amp;y=2">autumn offers</a> and '
    '<a href="https://shop.example/winter">winter ones</a>.</p>'
)
DESTINATIONS = ("https://shop.example/autumn?x=1&y=2", "https://shop.example/winter")
# Sending domains whose prechecks pass on the tests' loopback DNS (conftest ``api_dns``).
SENDING_DOMAINS = ("mail.acme.example", "news.acme.example")


@dataclass(frozen=True)
class Sent:
    """A message queued, assembled with tracking links to the live API, and delivered."""

    message_id: uuid.UUID
    contact_id: uuid.UUID
    org_id: uuid.UUID
    region: str
    raw: bytes


SendMessage = Callable[..., Sent]


def events_of(cells: Cells, region: str, message_id: uuid.UUID) -> list[dict[str, object]]:
    """The message's events, oldest first, as dicts."""
    with cells.connection(region) as conn:
        cur = conn.execute(
            "SELECT type, is_bot, details, org_id, contact_id, campaign_type, region, event_time "
            "FROM email_events WHERE message_id = %s ORDER BY event_time, ingest_seq",
            (message_id,),
        )
        names = [column.name for column in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass
class Tenant:
    """One organization with signed clients per role."""

    org_id: uuid.UUID
    slug: str
    home_region: str


@dataclass
class Tenants:
    """Creates organizations and API keys in the control database; removes them after."""

    cells: Cells
    api_url: str
    created: list[uuid.UUID] = field(default_factory=list)
    clients: list[PostwiseClient] = field(default_factory=list)

    def org(self, home_region: str = "eu") -> Tenant:
        org_id = uuid.uuid4()
        slug = f"org-{org_id.hex[:12]}"
        with self.cells.connection("control") as conn:
            conn.execute(
                "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, %s)",
                (org_id, f"Org {slug}", slug, home_region),
            )
        self.created.append(org_id)
        return Tenant(org_id, slug, home_region)

    def client(self, tenant: Tenant, role: Role = Role.CAMPAIGN_MANAGER) -> PostwiseClient:
        """A client signing with a new key of ``role`` in ``tenant``."""
        private, public = generate_signing_key()
        with self.cells.connection("control") as conn:
            issued = issue_key(conn, tenant.org_id, f"{role.value} key", role, public.decode())
        client = PostwiseClient(self.api_url, issued.api_key, private)
        self.clients.append(client)
        return client

    def cleanup(self) -> None:
        for client in self.clients:
            client.close()
        with self.cells.connection("control") as conn:
            conn.execute("DELETE FROM api_keys WHERE org_id = ANY(%s)", (self.created,))
            conn.execute("DELETE FROM orgs WHERE org_id = ANY(%s)", (self.created,))
