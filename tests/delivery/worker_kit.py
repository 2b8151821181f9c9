"""Helpers of the delivery worker tests: campaigns of real (sealed) contacts in the worker
cells, their states and events, and routes to simulated ESPs on loopback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb

from compliance.crypto import PiiCipher
from delivery.queue import NewMessage, enqueue
from delivery.retry import RetryPolicy
from delivery.worker import Worker, open_worker, worker_options
from postwise.settings import RouteSettings, Settings
from warehouse.db import Cells

WORKER_REGION = "apac"
QUICK_RETRY = RetryPolicy(first_delay=timedelta(0), min_delay=timedelta(0), max_attempts=2)
CAMPAIGN_HTML = (
    "<html><head><style>p { color: #333; }</style></head><body>"
    "<p>Hello {{first_name}},</p>{{> variant_block}}"
    '<p><a href="https://shop.example/sale?c={{code}}">Shop the sale</a></p>'
    '<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p></body></html>'
)
CAMPAIGN_VARIANTS = [
    {"key": "A", "blocks": {"variant_block": "<p>Variant A for {{first_name}}</p>"}},
    {"key": "B", "blocks": {"variant_block": "<p>Variant B for {{first_name}}</p>"}},
]


@dataclass(frozen=True)
class Person:
    """A recipient to put in a campaign, and what is true of them."""

    email: str
    name: str = "Ada Lovelace"
    country: str = "JP"
    consent: str | None = "granted"  # None: no consent row
    suppressed: str | None = None  # a suppression reason
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass
class CampaignMaker:
    """Builds organizations, a template and queued messages in the worker cells."""

    cells: Cells
    settings: Settings
    orgs: list[uuid.UUID] = field(default_factory=list)

    def __call__(
        self,
        people: list[Person],
        *,
        region: str = WORKER_REGION,
        html: str = CAMPAIGN_HTML,
        subject: str = "Hello {{first_name}}",
        campaign_type: str = "marketing",
    ) -> list[uuid.UUID]:
        """Queue one message per person; returns the message ids in order."""
        org_id, template_id, campaign_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.orgs.append(org_id)
        with self.cells.connection("control") as conn:
            conn.execute(
                "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, %s)",
                (org_id, "Worker Test", f"worker-{org_id.hex[:12]}", region),
            )
            conn.execute(
                "INSERT INTO templates (template_id, org_id, name) VALUES (%s, %s, 'news')",
                (template_id, org_id),
            )
            conn.execute(
                "INSERT INTO template_versions (template_id, version, subject, content, variants)"
                " VALUES (%s, 1, %s, %s, %s)",
                (template_id, subject, Jsonb({"html": html}), Jsonb(CAMPAIGN_VARIANTS)),
            )
        cipher = PiiCipher.from_settings(
            self.settings.key_encryption_key, self.settings.blind_index_key
        )
        ids = []
        with self.cells.connection(region) as conn:
            for index, person in enumerate(people):
                contact_id = uuid.uuid4()
                sealed = cipher.seal_contact(contact_id, person.email, person.name)
                conn.execute(
                    "INSERT INTO contacts (contact_id, org_id, email_ciphertext, "
                    "email_blind_index, name_ciphertext, wrapped_data_key, kek_version, "
                    "email_domain, country, region, time_zone, attributes) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'UTC', %s)",
                    (
                        contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                        sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version,
                        person.email.split("@", 1)[1], person.country, region,
                        Jsonb({"code": f"C{index}"}),
                    ),
                )  # fmt: skip
                if person.consent is not None:
                    conn.execute(
                        "INSERT INTO consents (contact_id, purpose, status, policy_version) "
                        "VALUES (%s, 'marketing', %s, 'v1')",
                        (contact_id, person.consent),
                    )
                if person.suppressed is not None:
                    conn.execute(
                        "INSERT INTO suppressions (org_id, email_blind_index, reason) "
                        "VALUES (%s, %s, %s)",
                        (org_id, sealed.email_blind_index, person.suppressed),
                    )
                queued = enqueue(
                    conn,
                    NewMessage(
                        org_id, contact_id, campaign_type, "news.worker-test.example",
                        variables=person.variables, campaign_id=campaign_id,
                        template_id=template_id, template_version=1,
                        variant="AB"[index % 2], idempotency_key=f"m-{index}",
                    ),
                )  # fmt: skip
                ids.append(queued.message_id)
        return ids

    def statuses(self, region: str = WORKER_REGION) -> dict[uuid.UUID, tuple[Any, ...]]:
        """message id -> (status, attempts, route, last_error, lease_owner) of every message."""
        with self.cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT message_id, status, attempts, route, last_error, lease_owner "
                "FROM messages WHERE org_id = ANY(%s)",
                (self.orgs,),
            ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}

    def events(self, region: str = WORKER_REGION) -> dict[uuid.UUID, list[str]]:
        """message id -> its event types in arrival order."""
        found: dict[uuid.UUID, list[str]] = {}
        with self.cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT message_id, type FROM email_events WHERE org_id = ANY(%s) "
                "ORDER BY ingest_seq",
                (self.orgs,),
            )
            for message_id, kind in rows:
                found.setdefault(message_id, []).append(kind)
        return found

    def cleanup(self) -> None:
        for region in self.cells.regions:
            with self.cells.connection(region) as conn:
                for table in ("messages", "message_idempotency_keys", "suppressions",
                              "paused_senders", "email_events"):  # fmt: skip
                    conn.execute(f"DELETE FROM {table} WHERE org_id = ANY(%s)", (self.orgs,))
                conn.execute("DELETE FROM contacts WHERE org_id = ANY(%s)", (self.orgs,))
        with self.cells.connection("control") as conn:
            conn.execute(
                "DELETE FROM template_versions WHERE template_id IN "
                "(SELECT template_id FROM templates WHERE org_id = ANY(%s))",
                (self.orgs,),
            )
            conn.execute("DELETE FROM templates WHERE org_id = ANY(%s)", (self.orgs,))
            conn.execute("DELETE FROM orgs WHERE org_id = ANY(%s)", (self.orgs,))


def routes_to(
    settings: Settings, ports: dict[str, tuple[int, tuple[str, ...]]], **update: Any
) -> Settings:
    """``settings`` with ROUTES on loopback: name -> (port, regions served)."""
    routes = {
        name: RouteSettings(
            host="127.0.0.1", port=port, regions=regions, tls="none", rate_per_second=2000
        )
        for name, (port, regions) in ports.items()
    }
    return settings.model_copy(update={"routes": routes, **update})


def run_until_idle(
    settings: Settings,
    database_url: str,
    redis_url: str,
    region: str = WORKER_REGION,
    *,
    concurrency: int = 8,
    during: Callable[[Worker], object] | None = None,
) -> tuple[Worker, Counter[str]]:
    """Run one worker until nothing is due and nothing is held."""
    options = worker_options(
        settings, region=region, concurrency=concurrency, batch_size=40, exit_when_idle=True
    )
    options = type(options)(**{**options.__dict__, "retry": QUICK_RETRY})
    with open_worker(settings, options, database_url, redis_url) as worker:

        async def main() -> Counter[str]:
            run = asyncio.create_task(worker.run())
            if during is not None:
                await asyncio.to_thread(during, worker)
            return await run

        return worker, asyncio.run(main())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
