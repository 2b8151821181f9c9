"""The inbound listener for asynchronous reports, and what a report does to the warehouse.

Messages leave with a VERP return path, ``bounces+<message id>@<bounce domain>``, so a DSN,
a complaint (ARF) or an autoreply that comes back names the message it is about without
parsing its body. The listener (aiosmtpd) parses each report (``delivery.bounces``) and
hands it to a callback; ``record_report`` writes what it means: a ``bounced`` event and,
for a hard bounce, a suppression; a ``complained`` event and a suppression for a complaint;
nothing for an autoreply. :class:`ReportRecorder` is that callback in a running system: it
finds the region cell that holds the reported message, records the report there and counts
each new complaint against its sender's complaint-rate window (the one the workers' hard
stop reads).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from warehouse.db import Cells
from warehouse.events import EmailEvent, EventWriter, event_id_for

from .bounces import Bounce, parse_report, without_addresses

VERP = re.compile(r"^bounces\+([0-9a-fA-F-]{36})@", re.IGNORECASE)
MAX_REPORT_BYTES = 2_000_000

ReportCallback = Callable[[uuid.UUID | None, list[Bounce], bytes], None]
ComplaintCounter = Callable[[tuple[uuid.UUID, str]], None]  # (org, sending domain)
log = logging.getLogger(__name__)


def verp_address(message_id: uuid.UUID, bounce_domain: str) -> str:
    return f"bounces+{message_id}@{bounce_domain}"


def message_id_from_verp(address: str) -> uuid.UUID | None:
    found = VERP.match(address)
    if not found:
        return None
    try:
        return uuid.UUID(found.group(1))
    except ValueError:
        return None


class _InboundHandler:
    def __init__(self, on_report: ReportCallback) -> None:
        self._on_report = on_report

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        if len(raw) > MAX_REPORT_BYTES:
            return "552 5.3.4 Report too large"
        message_id = next(
            (m for m in map(message_id_from_verp, envelope.rcpt_tos) if m is not None), None
        )
        self._on_report(message_id, parse_report(raw), raw)
        return "250 2.0.0 Report received"


class InboundListener:
    """The report listener on ``host:port`` (loopback in tests and demos)."""

    def __init__(self, on_report: ReportCallback, host: str = "127.0.0.1", port: int = 2500):
        self._controller = Controller(_InboundHandler(on_report), hostname=host, port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def record_report(
    conn: psycopg.Connection,
    writer: EventWriter,
    message_id: uuid.UUID,
    bounces: list[Bounce],
    region: str,
    now: datetime | None = None,
) -> list[str]:
    """Events (and suppressions) for a report about ``message_id``; the event types written.
    A report about a message this cell does not hold writes nothing."""
    row = conn.execute(
        "SELECT org_id, contact_id, campaign_id, campaign_type, route FROM messages "
        "WHERE message_id = %s",
        (message_id,),
    ).fetchone()
    if row is None:
        return []
    org_id, contact_id, campaign_id, campaign_type, route = row
    now = now or datetime.now(UTC)
    events = []
    for index, bounce in enumerate(bounces):
        if bounce.kind == "autoreply":
            continue
        kind = "complained" if bounce.reason == "feedback" else "bounced"
        events.append(
            EmailEvent(
                event_id=event_id_for(message_id, f"report-{kind}", index),
                event_time=now,
                message_id=message_id,
                contact_id=contact_id,
                org_id=org_id,
                campaign_id=campaign_id,
                campaign_type=campaign_type,
                region=region,
                type=kind,
                smtp_code=bounce.smtp_code,
                enhanced_code=bounce.enhanced_code,
                route=route,
                details={
                    "source": bounce.kind,
                    "reason": bounce.reason,
                    "hard": bounce.hard,
                    "diagnostic": without_addresses(bounce.diagnostic or "")[:500],
                    "bounce_type": "hard" if bounce.hard else "soft",
                },
            )
        )
        suppression = (
            "complaint" if kind == "complained" else "hard_bounce" if bounce.hard else None
        )
        if suppression:
            conn.execute(
                "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
                "SELECT org_id, email_blind_index, %s, 'inbound report' FROM contacts "
                "WHERE contact_id = %s ON CONFLICT DO NOTHING",
                (suppression, contact_id),
            )
    # The same report may arrive twice (a retrying MTA): write each event once.
    seen = {
        row[0]
        for row in conn.execute(
            "SELECT event_id FROM email_events WHERE message_id = %s AND event_id = ANY(%s)",
            (message_id, [event.event_id for event in events]),
        )
    }
    fresh = [event for event in events if event.event_id not in seen]
    if fresh:
        writer.write(conn, fresh)
    return [event.type for event in events]


class ReportRecorder:
    """The listener's callback: each report recorded in the cell holding its message.

    ``count_complaint`` (e.g. :func:`delivery.worker.throttling.count_complaint` bound to a
    Redis client) is called once per message's first complaint with its sender. ``stats``
    counts the reports by what they did (``bounced``, ``complained``, ``ignored``,
    ``unknown``: no cell holds the message).
    """

    def __init__(
        self,
        cells: Cells,
        count_complaint: ComplaintCounter | None = None,
        writer: EventWriter | None = None,
    ) -> None:
        self.cells = cells
        self.count_complaint = count_complaint
        self.writer = writer or EventWriter()
        self.stats: Counter[str] = Counter()

    def __call__(self, message_id: uuid.UUID | None, bounces: list[Bounce], raw: bytes) -> None:
        if message_id is None:
            self.stats["unknown"] += 1
            return
        for region in self.cells.regions:
            with self.cells.connection(region) as conn:
                sender = conn.execute(
                    "SELECT org_id, sending_domain, EXISTS (SELECT 1 FROM email_events "
                    "WHERE message_id = %s AND type = 'complained') FROM messages "
                    "WHERE message_id = %s",
                    (message_id, message_id),
                ).fetchone()
                if sender is None:
                    continue
                written = record_report(conn, self.writer, message_id, bounces, region)
            for kind in written or ["ignored"]:
                self.stats[kind] += 1
            if "complained" in written and not sender[2] and self.count_complaint is not None:
                self.count_complaint((sender[0], sender[1] or ""))
            log.debug("report about %s in %s: %s", message_id, region, written)
            return
        self.stats["unknown"] += 1
