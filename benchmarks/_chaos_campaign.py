"""The chaos run's campaign: contacts from a short simulated history, one campaign queued
to exactly ``messages`` of them, an API key to send bad requests with, and the queue read
back (progress, in-flight counts, final states) on connections that survive a restart.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from delivery.queue import NewMessage, enqueue_many
from postwise.demo_campaign import campaign_template
from postwise.settings import Settings
from simulator.catalog import VARIANTS, org_id_for
from warehouse.db import Cells

log = logging.getLogger("benchmarks.chaos")

TEMPLATE = "chaos-campaign"
ENQUEUE_CHUNK = 1_000


class ChaosSetupError(RuntimeError):
    """The chaos run could not be prepared (too few contacts, no organization)."""


@contextmanager
def _connection(url: str) -> Iterator[psycopg.Connection]:
    # A fresh connection per read: a pooled one would be dead after the restart.
    with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
        yield conn


def queue_campaign(cells: Cells, org_slug: str, messages: int, domain: str) -> tuple[
    uuid.UUID, dict[str, list[uuid.UUID]]
]:  # fmt: skip
    """One marketing campaign to the first ``messages`` contacts with granted marketing
    consent (split over the regions in proportion to their contacts); returns the campaign
    id and the accepted message ids by region."""
    org_id = org_id_for(org_slug)
    contacts: dict[str, list[uuid.UUID]] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            contacts[region] = [
                row[0]
                for row in conn.execute(
                    "SELECT c.contact_id FROM contacts c JOIN consents k "
                    "ON k.contact_id = c.contact_id AND k.channel = 'email' "
                    "AND k.purpose = 'marketing' AND k.status = 'granted' "
                    "WHERE c.org_id = %s ORDER BY c.contact_id",
                    (org_id,),
                )
            ]
    available = sum(len(ids) for ids in contacts.values())
    if available < messages:
        raise ChaosSetupError(
            f"{available:,} consenting contacts, fewer than {messages:,}: raise --contacts"
        )
    shares = _shares({r: len(ids) for r, ids in contacts.items()}, messages)
    campaign_id = uuid.uuid4()
    with cells.connection("control") as conn:
        template_id = campaign_template(conn, org_id, VARIANTS, TEMPLATE)
        conn.execute(
            "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, template_id, "
            "template_version, send_strategy, status, scheduled_at) "
            "VALUES (%s, %s, %s, 'marketing', %s, 1, 'immediate', 'sending', now())",
            (campaign_id, org_id, f"Chaos {datetime.now(UTC):%Y-%m-%d %H:%M}", template_id),
        )
    variables = {"headline": "Chaos picks", "shop_url": f"https://shop.{org_slug}.example/"}
    accepted: dict[str, list[uuid.UUID]] = {}
    for region, share in shares.items():
        batch = [
            NewMessage(org_id, contact_id, "marketing", domain, variables=variables,
                       campaign_id=campaign_id, template_id=template_id, template_version=1,
                       variant="ABC"[i % 3], variant_probability=1 / 3,
                       idempotency_key=f"{campaign_id}:{contact_id}")
            for i, contact_id in enumerate(contacts[region][:share])
        ]  # fmt: skip
        accepted[region] = []
        with cells.connection(region) as conn:
            for start in range(0, len(batch), ENQUEUE_CHUNK):
                done = enqueue_many(conn, batch[start : start + ENQUEUE_CHUNK])
                accepted[region] += [e.message_id for e in done if e.created]
    return campaign_id, accepted


def _shares(available: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split in proportion to ``available`` (largest remainders)."""
    whole = sum(available.values())
    exact = {r: total * n / whole for r, n in available.items()}
    shares = {r: int(x) for r, x in exact.items()}
    for region in sorted(exact, key=lambda r: exact[r] - shares[r], reverse=True):
        if sum(shares.values()) >= total:
            break
        shares[region] += 1
    return {r: n for r, n in shares.items() if n}


def statuses(cells: Cells, campaign_id: uuid.UUID) -> Counter[str]:
    """The campaign's messages by status, over every region (raises when a cell is down)."""
    counts: Counter[str] = Counter()
    for region in cells.regions:
        with _connection(cells.url(region)) as conn:
            counts.update(
                dict(
                    conn.execute(
                        "SELECT status, count(*) FROM messages WHERE campaign_id = %s "
                        "GROUP BY status",
                        (campaign_id,),
                    ).fetchall()
                )
            )
    return counts


def in_flight(cells: Cells, region: str | None = None, owner: str | None = None) -> int:
    """Messages in 'sending' (under a lease of ``owner``'s prefix, when given)."""
    total = 0
    for cell in (region,) if region else cells.regions:
        with _connection(cells.url(cell)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM messages WHERE status = 'sending' AND lease_owner LIKE %s",
                ((owner or "") + "%",),
            ).fetchone()
        total += int(row[0]) if row else 0
    return total


def final_states(cells: Cells, campaign_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Message id -> (status, delivered channel) of the campaign, from every cell."""
    states: dict[uuid.UUID, tuple[str, str | None]] = {}
    for region in cells.regions:
        with _connection(cells.url(region)) as conn:
            for message_id, status, channel in conn.execute(
                "SELECT message_id, status, delivered_channel FROM messages WHERE campaign_id = %s",
                (campaign_id,),
            ):
                if message_id in states:  # the same id in two cells, or twice in one
                    states[message_id] = ("duplicate_row", None)
                else:
                    states[message_id] = (status, channel)
    return states


def database_ready(url: str) -> bool:
    """True when a connection to ``url`` succeeds now."""
    try:
        with _connection(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def settings_for(home: str, ports: dict[str, int], prefix: str = "chaos") -> Settings:
    """Development settings on a home of the run's own and its ESP ports."""
    return Settings(
        postwise_env="development", postwise_home=home, database_prefix=prefix,
        simulated_esp_ports=ports, warmup_days=0,
    )  # fmt: skip
