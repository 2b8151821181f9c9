"""Sending a campaign: select the segment in every region cell, apply residency (the
campaign's blocked regions), contact status, suppression and consent, set the holdout
group apart (recorded in ``campaign_holdouts`` with its arm), and queue one message per
remaining contact with the idempotency key ``campaign:<campaign>:<contact>``, so sending
again adds nothing.

The holdout of a campaign whose send strategy is ``optimal`` is its control arm for
send-time optimization: its contacts are sent at once (arm ``sent_unoptimized``) instead of
at their best time, so the open rates of both arms measure the optimization and not the
campaign. Every other strategy's holdout receives nothing (arm ``not_sent``): it measures
the campaign itself.

Personalization: when the template version has variants, the region's personalization
champion chooses one per recipient in one batch (:meth:`ModelServing.choose_variants`),
holdout included (the holdout controls the send time, not the content); the message keeps
the variant and the probability of choosing it, so clicks can be credited without bias.
Without a champion each recipient gets a uniform choice.

Consent and suppression follow the delivery worker's rules (``delivery.worker.store``):
marketing and triggered mail needs granted ``marketing`` consent and no suppression;
transactional mail needs no consent and is stopped only by hard bounces, complaints, spam
traps and erasures. Contacts matching a spam trap (:mod:`compliance.traps`: trap store,
domain lists) are skipped as ``spam_trap``, suppressed and counted. The worker asks again
just before SMTP.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from compliance.traps import REFUSAL_CODE, TrapGuard, TrapMatch
from delivery.queue import NewMessage, enqueue_many
from delivery.worker.store import CONSENT_PURPOSE, TRANSACTIONAL_SUPPRESSIONS
from warehouse.db import Cells

from ..modelserving.send_time import Contact
from ..modelserving.service import ModelServing
from .planning import NOT_SENT, SendTime, holdout_arm, is_held_out, next_optimal_time
from .segments import compile_segment
from .store import Campaign

ENQUEUE_CHUNK = 1_000  # messages queued per statement batch


@dataclass
class SendReport:
    """What a send did: counts of queued, already queued (an earlier send), held out and
    skipped contacts (by reason), and how send times were chosen."""

    queued: int = 0
    already_queued: int = 0
    held_out: int = 0  # the holdout group, sent unoptimized or not at all
    skipped: Counter[str] = field(default_factory=Counter)
    optimal_times: int = 0
    fallback_times: int = 0
    by_region: dict[str, int] = field(default_factory=dict)
    variants: Counter[str] = field(default_factory=Counter)  # by how they were chosen

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "already_queued": self.already_queued,
            "held_out": self.held_out,
            "skipped": dict(sorted(self.skipped.items())),
            "send_time": {"optimal": self.optimal_times, "fallback": self.fallback_times},
            "queued_by_region": dict(sorted(self.by_region.items())),
            "variants_chosen": dict(sorted(self.variants.items())),
        }


@dataclass(frozen=True)
class Content:
    """The template version a send uses and its variant keys (empty: no variants), with the
    model serving that chooses among them (None: uniform choices)."""

    template_version: int
    variants: tuple[str, ...] = ()
    chooser: ModelServing | None = None


def send_campaign(cells: Cells, campaign: Campaign, content: Content, now: datetime) -> SendReport:
    """Queue ``campaign`` (its segment compiled already checked by the caller) in every
    region cell; each region commits on its own."""
    if campaign.sending_domain is None:
        raise ValueError("the campaign has no sending domain")
    condition, params = compile_segment(campaign.segment)
    report = SendReport()
    for region in cells.regions:
        with cells.connection(region) as conn:
            if region in campaign.blocked_regions:
                report.skipped["blocked_region"] += _count(conn, campaign, condition, params)
                continue
            _send_region(conn, region, campaign, content, condition, params, now, report)
    return report


def _count(
    conn: psycopg.Connection, campaign: Campaign, condition: sql.Composable, params: list[Any]
) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM contacts c WHERE c.org_id = %s AND {}").format(condition),
        [campaign.org_id, *params],
    ).fetchone()
    return int(row[0]) if row else 0


def _send_region(
    conn: psycopg.Connection,
    region: str,
    campaign: Campaign,
    content: Content,
    condition: sql.Composable,
    params: list[Any],
    now: datetime,
    report: SendReport,
) -> None:
    transactional = campaign.campaign_type not in CONSENT_PURPOSE
    reasons = list(TRANSACTIONAL_SUPPRESSIONS) if transactional else None
    rows = conn.execute(
        sql.SQL(
            "SELECT c.contact_id, c.status, "
            "EXISTS (SELECT 1 FROM suppressions s WHERE s.org_id = c.org_id "
            "  AND s.email_blind_index = c.email_blind_index "
            "  AND (s.expires_at IS NULL OR s.expires_at > now()) "
            "  AND (%s::text[] IS NULL OR s.reason = ANY(%s::text[]))), "
            "(SELECT k.status FROM consents k WHERE k.contact_id = c.contact_id "
            "  AND k.channel = 'email' AND k.purpose = %s), "
            "t.best_hour_utc, t.fallback, c.email_blind_index, c.email_domain, c.time_zone "
            "FROM contacts c LEFT JOIN recipient_send_times t "
            "  ON t.contact_id = c.contact_id AND t.org_id = c.org_id "
            "WHERE c.org_id = %s AND {} ORDER BY c.contact_id"
        ).format(condition),
        [reasons, reasons, CONSENT_PURPOSE.get(campaign.campaign_type, "marketing"),
         campaign.org_id, *params],
    ).fetchall()  # fmt: skip
    # Trap matches not skipped for another reason are skipped, suppressed and counted.
    guard = TrapGuard()
    traps = guard.check_stored(
        conn, campaign.org_id, {bytes(row[6]): row[7] for row in rows if row[1] != "erased"}
    )
    trapped: dict[bytes, TrapMatch] = {}
    held: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, float, str]] = []
    arm = holdout_arm(campaign.send_strategy)
    batch: list[NewMessage] = []
    recipients: list[Contact] = []
    for contact_id, status, suppressed, consent, best_slot, model_fallback, index, _, zone in rows:
        reason = _skip_reason(transactional, status, suppressed, consent)
        if reason is None and bytes(index) in traps:
            trapped[bytes(index)] = traps[bytes(index)]
            reason = REFUSAL_CODE
        if reason is not None:
            report.skipped[reason] += 1
            continue
        if is_held_out(campaign.campaign_id, contact_id, campaign.holdout_share):
            held.append(
                (campaign.campaign_id, contact_id, campaign.org_id, campaign.holdout_share, arm)
            )
            if arm == NOT_SENT:
                continue
            when = SendTime(None, fallback=False)  # the control arm: the unoptimized time
        else:
            when = _send_time(campaign, best_slot, model_fallback, now, report)
        recipients.append(Contact(contact_id, zone))
        batch.append(
            NewMessage(
                org_id=campaign.org_id,
                contact_id=contact_id,
                campaign_type=campaign.campaign_type,
                sending_domain=campaign.sending_domain or "",
                campaign_id=campaign.campaign_id,
                template_id=campaign.template_id,
                template_version=content.template_version,
                scheduled_at=when.scheduled_at,
                idempotency_key=f"campaign:{campaign.campaign_id}:{contact_id}",
            )
        )
    batch = _with_variants(conn, region, campaign, content, recipients, batch, report)
    guard.refuse(conn, campaign.org_id, trapped)
    for start in range(0, len(batch), ENQUEUE_CHUNK):
        for queued in enqueue_many(conn, batch[start : start + ENQUEUE_CHUNK]):
            if queued.created:
                report.queued += 1
                report.by_region[region] = report.by_region.get(region, 0) + 1
            else:
                report.already_queued += 1
    if held:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO campaign_holdouts "
                "(campaign_id, contact_id, org_id, holdout_share, arm) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                held,
            )
    report.held_out += len(held)


def _with_variants(
    conn: psycopg.Connection,
    region: str,
    campaign: Campaign,
    content: Content,
    recipients: list[Contact],
    batch: list[NewMessage],
    report: SendReport,
) -> list[NewMessage]:
    """``batch`` with each message's variant and its probability (unchanged without
    variants)."""
    if not content.variants or not batch:
        return batch
    if content.chooser is None:
        share = 1.0 / len(content.variants)
        report.variants["uniform"] += len(batch)
        return [
            replace(
                m, variant=content.variants[i % len(content.variants)], variant_probability=share
            )
            for i, m in enumerate(batch)
        ]
    choices = content.chooser.choose_variants(
        conn, region, campaign.org_id, recipients, content.variants
    )
    report.variants.update(choice.source for choice in choices)
    return [
        replace(m, variant=c.variant, variant_probability=c.probability)
        for m, c in zip(batch, choices, strict=True)
    ]


def _skip_reason(
    transactional: bool, status: str, suppressed: bool, consent: str | None
) -> str | None:
    if status == "erased":
        return "contact_erased"
    if not transactional and status != "active":
        return "contact_inactive"
    if suppressed:
        return "suppressed"
    if not transactional and consent != "granted":
        return "no_consent"
    return None


def _send_time(
    campaign: Campaign,
    best_slot: datetime | None,
    model_fallback: bool | None,
    now: datetime,
    report: SendReport,
) -> SendTime:
    if campaign.send_strategy == "scheduled":
        return SendTime(campaign.scheduled_at, fallback=False)
    if campaign.send_strategy != "optimal":
        return SendTime(None, fallback=False)
    when = next_optimal_time(best_slot, bool(model_fallback), now)
    if when.fallback:
        report.fallback_times += 1
    else:
        report.optimal_times += 1
    return when
