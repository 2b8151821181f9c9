"""An injected incident: a sender's account taken over for one hour.

What the warehouse would hold after a hijacked account's burst: in one hour the sender
queues many times its usual volume, to the organization's contacts across every country,
most messages carrying an executable attachment, and a large share bounces hard (the
lists were scraped, not consented). Rows are written the way history is (``messages`` and
``email_events`` of the cell, with deterministic ids), so the product sees the incident
only through its own tables, as the anomaly model must.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import psycopg

from warehouse.contacts import MessageRow, insert_messages
from warehouse.events import EmailEvent, EventWriter, event_id_for

EXECUTABLE = "application/x-msdownload"
# The anomaly model forecasts each hour from about the three days before it: a burst within
# that memory of an earlier one is less surprising than the first, by design.
INCIDENT_MEMORY = timedelta(days=3)


@dataclass(frozen=True)
class Incident:
    region: str
    org_id: uuid.UUID
    sending_domain: str
    hour_start: datetime  # the hour of the burst (UTC)
    messages: int
    bounced: int
    with_attachments: int

    def describe(self) -> str:
        return (
            f"account takeover on {self.sending_domain} ({self.region}) in the hour from "
            f"{self.hour_start:%Y-%m-%d %H:%M} UTC: {self.messages:,} messages, "
            f"{self.bounced:,} hard bounces, {self.with_attachments:,} with executables"
        )


@dataclass(frozen=True)
class Sender:
    """One of an organization's ordinary (not marketing) senders in a region's cell."""

    region: str
    sending_domain: str
    messages: int  # its own mail, without injected takeovers
    last_takeover: datetime | None  # the latest takeover hour injected since ``since``


def ordinary_senders(
    conn: psycopg.Connection, region: str, org_id: uuid.UUID, since: datetime
) -> list[Sender]:
    """The organization's transactional and triggered senders in the cell behind ``conn``,
    each with the latest takeover injected since ``since``. In the simulated world only an
    injected takeover attaches executables: the campaigns that carry one are takeovers."""
    rows = conn.execute(
        "WITH takeovers AS (SELECT DISTINCT campaign_id FROM messages WHERE org_id = %(org)s "
        "AND %(exe)s = ANY(attachment_types)) "
        "SELECT m.sending_domain, count(*) FILTER (WHERE t.campaign_id IS NULL), "
        "max(m.created_at) FILTER (WHERE t.campaign_id IS NOT NULL "
        "AND m.created_at >= %(since)s) "
        "FROM messages m LEFT JOIN takeovers t ON t.campaign_id = m.campaign_id "
        "WHERE m.org_id = %(org)s AND m.campaign_type <> 'marketing' "
        "AND m.sending_domain IS NOT NULL GROUP BY 1",
        {"exe": EXECUTABLE, "since": since, "org": org_id},
    ).fetchall()
    return [Sender(region, str(domain), int(n), last) for domain, n, last in rows]


def inject_takeover(
    conn: psycopg.Connection,
    region: str,
    org_id: uuid.UUID,
    sending_domain: str,
    hour_start: datetime,
    *,
    messages: int = 3000,
    bounce_share: float = 0.4,
    attachment_share: float = 0.8,
    route: str = "primary",
    seed: int = 7,
) -> Incident:
    """Write one hour of a hijacked sender into the cell behind ``conn`` (see above)."""
    if hour_start.tzinfo is None:
        raise ValueError("hour_start must be timezone-aware")
    rng = np.random.default_rng([seed, int(hour_start.timestamp())])
    contacts = [
        row[0]
        for row in conn.execute(
            "SELECT contact_id FROM contacts WHERE org_id = %s AND status <> 'erased'",
            (org_id,),
        ).fetchall()
    ]
    if not contacts:
        raise ValueError(f"organization {org_id} has no contacts in {region}")
    chosen = rng.choice(len(contacts), size=messages, replace=len(contacts) < messages)
    campaign_id = uuid.uuid5(org_id, f"incident:{sending_domain}:{hour_start.isoformat()}")
    rows, events = [], []
    bounced = attached = 0
    for n, index in enumerate(chosen):
        message_id = uuid.uuid5(campaign_id, str(n))
        queued = hour_start + timedelta(seconds=float(rng.uniform(0, 3300)))
        sent = queued + timedelta(seconds=float(rng.uniform(1, 60)))
        bounce = bool(rng.random() < bounce_share)
        attachment = (EXECUTABLE,) if rng.random() < attachment_share else ()
        bounced += bounce
        attached += bool(attachment)
        contact_id = contacts[int(index)]
        rows.append(
            MessageRow(
                message_id, org_id, campaign_id, "transactional", contact_id, None, None, None,
                None, json.dumps({}), "bounced" if bounce else "delivered", queued, 1, sent,
                route, 550 if bounce else 250, queued, sent, sent, sending_domain, attachment,
            )
        )  # fmt: skip
        outcome: list[tuple[str, datetime, int | None, str | None]] = [("sent", sent, None, None)]
        if bounce:
            outcome.append(("bounced", sent + timedelta(seconds=2), 550, "5.1.1"))
        else:
            outcome.append(("delivered", sent + timedelta(seconds=1), 250, "2.0.0"))
        for kind, at, code, enhanced in outcome:
            events.append(
                EmailEvent(
                    event_id_for(message_id, kind), at, message_id, contact_id, org_id,
                    campaign_id, "transactional", region, kind, code, enhanced, route,
                    details={"bounce_type": "hard", "reason": "bad_mailbox"} if code == 550
                    else {},
                )
            )  # fmt: skip
    insert_messages(conn, rows)
    EventWriter().write(conn, events)
    return Incident(region, org_id, sending_domain, hour_start, messages, bounced, attached)
