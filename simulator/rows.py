"""Turning simulated recipients and outcomes into warehouse rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg

from compliance.crypto import PiiCipher
from warehouse.bulk import copy_rows
from warehouse.contacts import ContactRow, MessageRow, to_json
from warehouse.events import EmailEvent, event_id_for

if TYPE_CHECKING:
    from .behaviour import RecipientState, SimEvent
    from .world import CampaignPlan, Recipient

RETENTION = timedelta(days=3 * 365)
POLICY_VERSION = "2026-01"
CONSENT_COLUMNS = (
    "contact_id",
    "channel",
    "purpose",
    "status",
    "opt_in_steps",
    "steps_completed",
    "policy_version",
    "updated_at",
)
CONSENT_EVENT_COLUMNS = (
    "contact_id",
    "org_id",
    "channel",
    "purpose",
    "action",
    "step",
    "source",
    "occurred_at",
    "ip",
    "user_agent",
    "policy_version",
)
SUPPRESSION_COLUMNS = ("org_id", "email_blind_index", "reason", "source", "created_at")


@dataclass
class CellBatch:
    """Rows for one region cell, accumulated for one batch of recipients."""

    contacts: list[ContactRow] = field(default_factory=list)
    consents: list[tuple[Any, ...]] = field(default_factory=list)
    consent_events: list[tuple[Any, ...]] = field(default_factory=list)
    suppressions: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    events: list[EmailEvent] = field(default_factory=list)

    def write_consents(self, conn: psycopg.Connection) -> None:
        copy_rows(conn, "consents", CONSENT_COLUMNS, self.consents)
        if self.consent_events:
            # consent_events has a generated key; a re-run must not duplicate evidence.
            first = self.consent_events[0]
            seen = conn.execute(
                "SELECT 1 FROM consent_events WHERE contact_id = %s AND occurred_at = %s",
                (first[0], first[7]),
            ).fetchone()
            if not seen:
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        f"COPY consent_events ({', '.join(CONSENT_EVENT_COLUMNS)}) FROM STDIN"
                    ) as copy,
                ):
                    for row in self.consent_events:
                        copy.write_row(row)
        copy_rows(conn, "suppressions", SUPPRESSION_COLUMNS, self.suppressions)


def opt_out(state: RecipientState, end: datetime) -> tuple[str, datetime] | None:
    """Why and when the recipient left the list before ``end`` (first reason wins)."""
    reasons = [
        (when, reason)
        for when, reason in (
            (state.complained_at, "complaint"),
            (state.unsubscribed_at, "unsubscribe"),
            (state.hard_bounced_at, "hard_bounce"),
        )
        if when is not None and when < end
    ]
    if not reasons:
        return None
    when, reason = min(reasons)
    return reason, when


_STATUS_OF_REASON = {
    "complaint": "complained",
    "unsubscribe": "unsubscribed",
    "hard_bounce": "bounced",
}


def contact_row(
    recipient: Recipient,
    org_id: uuid.UUID,
    region: str,
    state: RecipientState,
    cipher: PiiCipher,
    end: datetime,
) -> ContactRow:
    """The contacts row of ``recipient``, its address and name sealed by ``cipher``."""
    sealed = cipher.seal_contact(
        recipient.contact_id, recipient.email, f"{recipient.first_name} {recipient.last_name}"
    )
    return ContactRow(
        contact_id=recipient.contact_id,
        org_id=org_id,
        email_ciphertext=sealed.email_ciphertext,
        email_blind_index=sealed.email_blind_index,
        name_ciphertext=sealed.name_ciphertext,
        wrapped_data_key=sealed.wrapped_data_key,
        kek_version=sealed.kek_version,
        email_domain=recipient.email_domain,
        country=recipient.country,
        region=region,
        time_zone=recipient.time_zone,
        locale=recipient.locale,
        attributes=to_json({"first_name_known": True, "signup_source": "web_form"}),
        status=_STATUS_OF_REASON[left[0]] if (left := opt_out(state, end)) else "active",
        created_at=recipient.signed_up_at,
        retention_until=(recipient.signed_up_at + RETENTION).date(),
    )


def add_consent(
    batch: CellBatch,
    recipient: Recipient,
    contact: ContactRow,
    state: RecipientState,
    end: datetime,
) -> None:
    """Marketing consent with its evidence: double opt-in in the EU cell, single elsewhere;
    a withdrawal and a suppression for recipients who unsubscribed, complained or bounced."""
    steps = 2 if contact.region == "eu" else 1
    signed = recipient.signed_up_at
    ip = f"192.0.2.{recipient.index % 254 + 1}"  # RFC 5737 documentation range
    agent = "Mozilla/5.0 (signup form)"
    events: list[tuple[Any, ...]] = [
        (
            contact.contact_id,
            contact.org_id,
            "email",
            "marketing",
            "requested",
            1,
            "signup_form",
            signed,
            ip,
            agent,
            POLICY_VERSION,
        )
    ]
    if steps == 2:
        events.append(
            (
                contact.contact_id,
                contact.org_id,
                "email",
                "marketing",
                "confirmed",
                2,
                "confirmation_link",
                signed + timedelta(minutes=3 + recipient.index % 40),
                ip,
                agent,
                POLICY_VERSION,
            )
        )
    status, updated = "granted", events[-1][7]
    left = opt_out(state, end)
    if left is not None:
        reason, when = left
        if reason in ("unsubscribe", "complaint"):
            status, updated = "withdrawn", when
            events.append(
                (
                    contact.contact_id,
                    contact.org_id,
                    "email",
                    "marketing",
                    "withdrawn",
                    None,
                    "unsubscribe_link" if reason == "unsubscribe" else "complaint",
                    when,
                    None,
                    None,
                    POLICY_VERSION,
                )
            )
        batch.suppressions.append(
            (contact.org_id, contact.email_blind_index, reason, "simulated_history", when)
        )
    batch.consents.append(
        (contact.contact_id, "email", "marketing", status, steps, steps, POLICY_VERSION, updated)
    )
    batch.consent_events.extend(events)


def final_status(outcome: list[SimEvent]) -> str:
    """The terminal queue status a message ended in, from its simulated events."""
    types = {event.type for event in outcome}
    if "delivered" in types:
        return "delivered"
    if "bounced" in types:
        return "bounced"
    if "deferred" in types:
        return "deferred"
    return "sent" if "sent" in types else "failed"


def message_events(
    outcome: list[SimEvent],
    message_id: uuid.UUID,
    contact_id: uuid.UUID,
    org_id: uuid.UUID,
    plan: CampaignPlan,
    region: str,
    route: str,
    email: str,
) -> list[EmailEvent]:
    """``email_events`` rows for one message, with deterministic ids.

    Only what a sender observes is stored: ``is_bot`` stays False (the simulator's ground
    truth is for evaluation; telling machine opens apart is the warehouse's job), and the
    recipient's address is masked in provider replies so no plaintext PII lands in events.
    """
    seen: dict[str, int] = {}
    rows = []
    for event in outcome:
        sequence = seen.get(event.type, 0)
        seen[event.type] = sequence + 1
        rows.append(
            EmailEvent(
                event_id=event_id_for(message_id, event.type, sequence),
                event_time=event.at,
                message_id=message_id,
                contact_id=contact_id,
                org_id=org_id,
                campaign_id=plan.campaign_id,
                campaign_type=plan.campaign_type,
                region=region,
                type=event.type,
                smtp_code=event.smtp_code,
                enhanced_code=event.enhanced_code,
                route=route,
                is_bot=False,
                details=_masked(event.details, email),
            )
        )
    return rows


def _masked(details: dict[str, Any], email: str) -> dict[str, Any]:
    reply = details.get("reply")
    if isinstance(reply, str) and email in reply:
        return {**details, "reply": reply.replace(email, "<recipient>")}
    return details
