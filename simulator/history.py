"""Write a simulated sending history into the warehouse, the way the product stores it.

Contacts are sealed with the product's PII cipher and land in their region's cell; the
organization, templates and campaigns go to the control database; every message and the
events it produced go through the bulk writers. Generation streams over recipients in
batches, so memory stays flat however many contacts there are, and every id is derived from
the seed, so writing the same history twice adds nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from tqdm import tqdm

from compliance.crypto import PiiCipher, cipher_for
from postwise.settings import Settings
from warehouse.contacts import MessageRow, insert_contacts, insert_messages
from warehouse.db import Cells
from warehouse.events import EventWriter

from .behaviour import RecipientState, simulate_send
from .catalog import ensure_catalog, org_id_for
from .rows import CellBatch, add_consent, contact_row, final_status, message_events
from .world import CampaignPlan, Recipient, World

log = logging.getLogger(__name__)

EVENT_BATCH = 20_000


@dataclass(frozen=True)
class HistoryOptions:
    """What to simulate: ``contacts`` recipients over the ``days`` before ``end``."""

    contacts: int
    days: int
    seed: int = 7
    org_slug: str = "acme"
    end: datetime | None = None  # default: today's midnight UTC, stable within a day
    batch_contacts: int = 2_000

    def resolved_end(self) -> datetime:
        if self.end is not None:
            return self.end.astimezone(UTC)
        now = datetime.now(UTC)
        return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class HistoryResult:
    org_id: uuid.UUID
    start: datetime
    end: datetime
    contacts_by_region: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    events_written: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        regions = ", ".join(f"{r} {n:,}" for r, n in sorted(self.contacts_by_region.items()))
        events = ", ".join(f"{t} {n:,}" for t, n in self.events_by_type.most_common())
        return (
            f"simulated {self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d} in {self.seconds:.1f} s\n"
            f"contacts: {regions}\n"
            f"messages: {self.messages:,}\n"
            f"events: {sum(self.events_by_type.values()):,} ({events}); "
            f"{self.events_written:,} new in the warehouse"
        )


def simulate_history(
    cells: Cells, settings: Settings, options: HistoryOptions, *, progress: bool = True
) -> HistoryResult:
    """Simulate ``options`` and write everything into ``cells``; returns what was written."""
    began = time.monotonic()
    end = options.resolved_end()
    start = end - timedelta(days=options.days)
    world = World(options.seed, options.contacts, start, options.days)
    cipher = cipher_for(settings)
    org_id = org_id_for(options.org_slug)
    plans = world.campaigns()
    with cells.connection("control") as conn:
        catalog = ensure_catalog(conn, org_id, options.org_slug, plans)
    audiences = [np.sort(world.audience(plan)) for plan in plans]
    sender = _Sender(world, end, org_id, options.org_slug, catalog.template_of, cipher)

    result = HistoryResult(org_id=org_id, start=start, end=end)
    writers = {region: EventWriter() for region in cells.regions}
    bar = tqdm(
        total=options.contacts,
        unit="contacts",
        disable=not progress,
        mininterval=1.0,
        desc="simulating history",
    )
    for lo in range(0, options.contacts, options.batch_contacts):
        hi = min(lo + options.batch_contacts, options.contacts)
        batches: dict[str, CellBatch] = defaultdict(CellBatch)
        plans_of = _plans_by_recipient(plans, audiences, lo, hi)
        for recipient in world.recipients(lo, hi):
            region = cells.region_for_country(recipient.country)
            batch = batches[region]
            _simulate_recipient(recipient, plans_of.get(recipient.index, []), sender, region, batch)
            result.contacts_by_region[region] += 1
        for region, batch in batches.items():
            result.messages += len(batch.messages)
            result.events_by_type.update(event.type for event in batch.events)
            result.events_written += _write_cell(cells, region, writers[region], batch)
        bar.update(hi - lo)
        bar.set_postfix(messages=f"{result.messages:,}", events=f"{result.events_written:,}")
    bar.close()
    result.seconds = time.monotonic() - began
    log.info("history written: %s", result.describe().replace("\n", "; "))
    return result


def _plans_by_recipient(
    plans: list[CampaignPlan], audiences: list[np.ndarray], lo: int, hi: int
) -> dict[int, list[CampaignPlan]]:
    """For recipients ``lo..hi-1``, the plans that target each of them."""
    plans_of: dict[int, list[CampaignPlan]] = defaultdict(list)
    for plan, audience in zip(plans, audiences, strict=True):
        first, last = np.searchsorted(audience, [lo, hi])
        for index in audience[first:last].tolist():
            plans_of[index].append(plan)
    return plans_of


@dataclass(frozen=True)
class _Sender:
    """What stays fixed across the whole history: the world, the org, keys, templates."""

    world: World
    end: datetime
    org_id: uuid.UUID
    org_slug: str
    template_of: dict[uuid.UUID, tuple[uuid.UUID, int]]
    cipher: PiiCipher


def _simulate_recipient(
    recipient: Recipient,
    plans: Iterable[CampaignPlan],
    sender: _Sender,
    region: str,
    batch: CellBatch,
) -> None:
    """Every send to one recipient in time order, with its state carried across sends."""
    world, end, org_id = sender.world, sender.end, sender.org_id
    rng = np.random.default_rng([world.seed, recipient.index, 0x4157])
    state = RecipientState.initial(recipient)
    sends = sorted(((plan.send_time_for(recipient), plan) for plan in plans), key=lambda s: s[0])
    for sent_at, plan in sends:
        if sent_at >= end or sent_at < world.start:
            continue
        if not state.receiving(sent_at):
            break
        variant = plan.variant_for(recipient)
        outcome = [
            e
            for e in simulate_send(
                recipient, state, sent_at, plan.campaign_type, variant, rng, topic=plan.topic
            )
            if e.at < end
        ]
        message_id = uuid.uuid5(plan.campaign_id, str(recipient.index))
        template_id, template_version = sender.template_of[plan.campaign_id]
        route = _route(plan.campaign_type, region)
        batch.messages.append(
            MessageRow(
                message_id=message_id,
                org_id=org_id,
                campaign_id=plan.campaign_id,
                campaign_type=plan.campaign_type,
                contact_id=recipient.contact_id,
                template_id=template_id,
                template_version=template_version,
                variant=variant,
                variant_probability=(1.0 / len(plan.variants)) if plan.variants else None,
                variables="{}",
                status=final_status(outcome),
                scheduled_at=sent_at,
                attempts=1,
                next_attempt_at=sent_at,
                route=route,
                smtp_code=next((e.smtp_code for e in reversed(outcome) if e.smtp_code), None),
                created_at=sent_at,
                updated_at=outcome[-1].at if outcome else sent_at,
                sent_at=sent_at,
                sending_domain=_sending_domain(sender.org_slug, plan.campaign_type),
                attachment_types=_attachments(plan),
            )
        )
        batch.events.extend(
            message_events(
                outcome,
                message_id,
                recipient.contact_id,
                org_id,
                plan,
                region,
                route,
                recipient.email,
            )
        )
    contact = contact_row(recipient, org_id, region, state, sender.cipher, end)
    batch.contacts.append(contact)
    add_consent(batch, recipient, contact, state, end)


def _sending_domain(org_slug: str, campaign_type: str) -> str:
    """Marketing goes out from a news subdomain, everything else from the mail subdomain,
    the usual split that keeps promotional reputation away from transactional mail."""
    sub = "news" if campaign_type == "marketing" else "mail"
    return f"{sub}.{org_slug}.example"


def _attachments(plan: CampaignPlan) -> tuple[str, ...]:
    """Order confirmations carry a PDF invoice; nothing else has attachments."""
    return ("application/pdf",) if plan.trigger == "order_confirmation" else ()


def _route(campaign_type: str, region: str) -> str:
    """The route the simulated sender used: bulk marketing on the secondary cluster (EU to
    Frankfurt, the rest to Virginia), low-volume triggered and transactional on primary."""
    if campaign_type != "marketing":
        return "primary"
    return "mailgun-frankfurt" if region == "eu" else "ses-virginia"


def _write_cell(cells: Cells, region: str, writer: EventWriter, batch: CellBatch) -> int:
    """Contacts, consent and messages, then events in bounded COPY batches."""
    with cells.connection(region) as conn:
        insert_contacts(conn, batch.contacts)
        batch.write_consents(conn)
        insert_messages(conn, batch.messages)
        written = 0
        for first in range(0, len(batch.events), EVENT_BATCH):
            written += writer.write(conn, batch.events[first : first + EVENT_BATCH])
    return written
