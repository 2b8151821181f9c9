"""Message ingestion: validate, resolve (or create) the recipient's contact in its region
cell, check spam traps (:mod:`compliance.traps`), consent, suppression, residency and the
recipient's preferences (topics opted
out of, frequency caps), choose ``scheduled_at`` and queue, one
message at a time in one transaction of its cell, so a rejected message leaves nothing
behind while the others of its batch go on.

Look-ups shared by a batch (idempotency keys, contacts by blind index, templates,
campaigns) are made once per batch, one query per cell.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from compliance.consent import sending_refusal
from compliance.crypto import PiiCipher
from compliance.traps import REFUSAL_CODE, TrapGuard
from delivery.queue import NewMessage, enqueue
from warehouse.db import Cells

from ..errors import IngestRejected
from .contacts import ContactRef, NewContact, eligibility_facts, find_by_blind_index, insert_contact
from .schemas import MessageAccepted, MessageCreate
from .send_time import load_score, schedule
from .validation import (
    CONSENT_PURPOSE,
    Limits,
    check_eligibility,
    check_residency,
    check_sizes,
    normalized_address,
    region_of_country,
)

Outcome = MessageAccepted | IngestRejected


@dataclass(frozen=True)
class Campaign:
    campaign_id: uuid.UUID
    campaign_type: str
    blocked_regions: tuple[str, ...]
    topic: str | None = None


@dataclass
class _Batch:
    """What a batch's messages share, looked up once."""

    existing: dict[str, tuple[str, uuid.UUID]] = field(default_factory=dict)
    contacts: dict[bytes, ContactRef] = field(default_factory=dict)
    templates: dict[uuid.UUID, tuple[int, bool, set[int]]] = field(default_factory=dict)
    campaigns: dict[uuid.UUID, Campaign] = field(default_factory=dict)


@dataclass
class Ingestor:
    cells: Cells
    cipher: PiiCipher
    limits: Limits
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    traps: TrapGuard = field(default_factory=TrapGuard)

    def ingest(self, org_id: uuid.UUID, messages: Sequence[MessageCreate]) -> list[Outcome]:
        """One outcome per message, in order: accepted (possibly an earlier message named by
        its idempotency key) or rejected."""
        addresses: list[str | IngestRejected] = []
        for message in messages:
            try:
                check_sizes(self.limits, message.variables, message.subject, message.html)
                addresses.append(normalized_address(message.recipient.email))
            except IngestRejected as exc:
                addresses.append(exc)
        batch = self._prefetch(org_id, messages, addresses)
        outcomes: list[Outcome] = []
        for message, address in zip(messages, addresses, strict=True):
            if isinstance(address, IngestRejected):
                outcomes.append(address)
                continue
            try:
                outcomes.append(self._one(org_id, message, address, batch))
            except IngestRejected as exc:
                outcomes.append(exc)
        return outcomes

    def _prefetch(
        self,
        org_id: uuid.UUID,
        messages: Sequence[MessageCreate],
        addresses: Sequence[str | IngestRejected],
    ) -> _Batch:
        batch = _Batch()
        keys = sorted({m.idempotency_key for m in messages if m.idempotency_key})
        indexes = sorted({self.cipher.blind_index(a) for a in addresses if isinstance(a, str)})
        for region in self.cells.regions:
            with self.cells.connection(region) as conn:
                if keys:
                    rows = conn.execute(
                        "SELECT idempotency_key, message_id FROM message_idempotency_keys "
                        "WHERE org_id = %s AND idempotency_key = ANY(%s)",
                        (org_id, keys),
                    ).fetchall()
                    batch.existing.update({row[0]: (region, row[1]) for row in rows})
                batch.contacts.update(find_by_blind_index(conn, org_id, region, indexes))
        template_ids = sorted({m.template_id for m in messages if m.template_id}, key=str)
        campaign_ids = sorted({m.campaign_id for m in messages if m.campaign_id}, key=str)
        if template_ids or campaign_ids:
            with self.cells.connection("control") as conn:
                batch.templates = _templates(conn, org_id, template_ids)
                batch.campaigns = _campaigns(conn, org_id, campaign_ids)
        return batch

    def _one(
        self, org_id: uuid.UUID, message: MessageCreate, address: str, batch: _Batch
    ) -> MessageAccepted:
        if message.idempotency_key and message.idempotency_key in batch.existing:
            region, message_id = batch.existing[message.idempotency_key]
            return self._existing(org_id, region, message_id)
        campaign = _campaign_of(message, batch)
        campaign_type = message.campaign_type or (
            campaign.campaign_type if campaign else "transactional"
        )
        if campaign is not None and campaign.campaign_type != campaign_type:
            raise IngestRejected(
                "campaign_type_mismatch",
                f"campaign {campaign.campaign_id} is {campaign.campaign_type}, not {campaign_type}",
            )
        _check_template(message, batch)
        index = self.cipher.blind_index(address)
        known = batch.contacts.get(index)
        recipient = message.recipient
        if known is not None:
            region, country = known.region, known.country
        elif recipient.country is None:
            raise IngestRejected(
                "country_required",
                "the recipient is not a known contact: give its country so its data is "
                "stored in its region",
            )
        else:
            country = recipient.country
            region = region_of_country(country, self.cells.regions)
        if campaign is not None:
            check_residency(country, campaign.blocked_regions, str(campaign.campaign_id))
        variables: dict[str, Any] = dict(message.variables)
        if message.template_id is None:  # the worker renders inline content from these
            variables.update(subject=message.subject, html=message.html)
        with self.cells.connection(region) as conn:
            trap = self.traps.check(conn, org_id, address, index)
            if trap is not None:
                self.traps.refuse(conn, org_id, {index: trap})
                conn.commit()  # the suppression and the count stay although the message is refused
                raise IngestRejected(
                    REFUSAL_CODE,
                    f"the address matches a spam trap ({trap.kind}, list {trap.source}) and "
                    "is now suppressed",
                )
            contact = known or insert_contact(
                conn,
                self.cipher,
                org_id,
                NewContact(
                    address,
                    recipient.country or "",
                    region,
                    recipient.name,
                    recipient.time_zone,
                    recipient.locale,
                    recipient.attributes,
                ),
            )
            status, consent, reasons = eligibility_facts(
                conn, org_id, contact.contact_id, CONSENT_PURPOSE.get(campaign_type)
            )
            check_eligibility(campaign_type, consent, reasons, status)
            now = self.clock()
            check_preferences(conn, contact.contact_id, campaign_type, campaign, now)
            score = (
                load_score(conn, org_id, contact.contact_id)
                if message.send_at == "optimal"
                else None
            )
            scheduled_at, how = schedule(message.send_at, score, now)
            queued = enqueue(
                conn,
                NewMessage(
                    org_id,
                    contact.contact_id,
                    campaign_type,
                    message.sending_domain.lower(),
                    variables=variables,
                    campaign_id=message.campaign_id,
                    template_id=message.template_id,
                    template_version=message.template_version,
                    variant=message.variant,
                    scheduled_at=scheduled_at,
                    idempotency_key=message.idempotency_key,
                ),
            )
            if not queued.created:  # a concurrent request with the same key won
                conn.rollback()
                return self._existing(org_id, region, queued.message_id)
        if known is None:
            batch.contacts[index] = contact
        if message.idempotency_key:
            batch.existing[message.idempotency_key] = (region, queued.message_id)
        return MessageAccepted(
            message_id=queued.message_id,
            status="queued",
            created=True,
            contact_id=contact.contact_id,
            region=region,
            scheduled_at=scheduled_at,
            send_time=how,
        )

    def _existing(self, org_id: uuid.UUID, region: str, message_id: uuid.UUID) -> MessageAccepted:
        with self.cells.connection(region) as conn:
            row = conn.execute(
                "SELECT status, contact_id, scheduled_at FROM messages "
                "WHERE message_id = %s AND org_id = %s",
                (message_id, org_id),
            ).fetchone()
        if row is None:
            raise IngestRejected(
                "idempotency_conflict",
                "the idempotency key names a message that no longer exists",
                409,
            )
        return MessageAccepted(
            message_id=message_id,
            status=row[0],
            created=False,
            contact_id=row[1],
            region=region,
            scheduled_at=row[2],
        )


def _campaign_of(message: MessageCreate, batch: _Batch) -> Campaign | None:
    if message.campaign_id is None:
        return None
    campaign = batch.campaigns.get(message.campaign_id)
    if campaign is None:
        raise IngestRejected(
            "campaign_not_found", f"no campaign {message.campaign_id} in your organization", 404
        )
    return campaign


def _check_template(message: MessageCreate, batch: _Batch) -> None:
    if message.template_id is None:
        return
    found = batch.templates.get(message.template_id)
    if found is None:
        raise IngestRejected(
            "template_not_found", f"no template {message.template_id} in your organization", 404
        )
    _latest, archived, versions = found
    if archived:
        raise IngestRejected("template_archived", f"template {message.template_id} is archived")
    if message.template_version is not None and message.template_version not in versions:
        raise IngestRejected(
            "template_version_not_found",
            f"template {message.template_id} has no version {message.template_version}",
            404,
        )


def _templates(
    conn: psycopg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, bool, set[int]]]:
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT t.template_id, t.latest_version, t.archived_at IS NOT NULL, "
        "coalesce(array_agg(v.version) FILTER (WHERE v.version IS NOT NULL), '{}') "
        "FROM templates t LEFT JOIN template_versions v USING (template_id) "
        "WHERE t.org_id = %s AND t.template_id = ANY(%s) GROUP BY t.template_id",
        (org_id, list(ids)),
    ).fetchall()
    return {row[0]: (row[1], row[2], set(row[3])) for row in rows}


def _campaigns(
    conn: psycopg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Campaign]:
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT campaign_id, campaign_type, blocked_regions, topic FROM campaigns "
        "WHERE org_id = %s AND campaign_id = ANY(%s)",
        (org_id, list(ids)),
    ).fetchall()
    return {row[0]: Campaign(row[0], row[1], tuple(row[2] or ()), row[3]) for row in rows}


def check_preferences(
    conn: psycopg.Connection,
    contact_id: uuid.UUID,
    campaign_type: str,
    campaign: Campaign | None,
    now: datetime,
) -> None:
    """The contact's preferences allow the message: not a topic it opted out of, not over
    its frequency caps (``topic_opted_out``, ``frequency_cap``; 422)."""
    topic = campaign.topic if campaign is not None else None
    refusal = sending_refusal(conn, contact_id, campaign_type, topic, now)
    if refusal is not None:
        raise IngestRejected(refusal.code, refusal.detail)
