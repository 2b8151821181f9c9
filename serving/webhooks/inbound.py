"""Inbound ESP event webhooks: the events an ESP reports for messages we sent through it
(delivered, bounced, complained), mapped to ``email_events`` in the message's region cell
through the bulk writer. Event ids are derived from the ESP's event id (or the message,
type and time), so an ESP that re-sends a webhook adds nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warehouse.db import Cells
from warehouse.events import EmailEvent, EventWriter

ESP_EVENT_TYPES = ("delivered", "bounced", "complained")
_NAMESPACE = uuid.UUID("0d9f6c1e-6a43-4f57-9a8e-5b1f3c2a7d10")


@dataclass(frozen=True)
class EspEvent:
    message_id: uuid.UUID
    type: str
    occurred_at: datetime
    esp_event_id: str | None = None
    smtp_code: int | None = None
    enhanced_code: str | None = None
    diagnostic: str | None = None


@dataclass(frozen=True)
class Recorded:
    """An event matched to its message, written to the message's region cell."""

    event: EspEvent
    org_id: uuid.UUID
    campaign_id: uuid.UUID | None
    region: str


@dataclass
class Outcome:
    recorded: list[Recorded]
    new: int  # events not stored before (a re-sent webhook adds none)
    unknown: list[uuid.UUID]  # messages no cell knows


def record(cells: Cells, route: str, events: Sequence[EspEvent], writer: EventWriter) -> Outcome:
    """Write ``events`` to their messages' cells. Messages no cell knows are reported back,
    not refused: ESPs report other senders' mail on shared webhooks."""
    pending = {event.message_id for event in events}
    outcome = Outcome([], 0, [])
    for region in cells.regions:
        if not pending:
            break
        with cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT message_id, org_id, contact_id, campaign_id, campaign_type FROM messages "
                "WHERE message_id = ANY(%s)",
                (list(pending),),
            ).fetchall()
            known = {row[0]: row for row in rows}
            matched = [
                (event, known[event.message_id]) for event in events if event.message_id in known
            ]
            batch = [_email_event(route, region, event, row) for event, row in matched]
            outcome.new += writer.write(conn, batch) if batch else 0
        outcome.recorded += [Recorded(event, row[1], row[3], region) for event, row in matched]
        pending -= set(known)
    outcome.unknown = sorted(pending)
    return outcome


def _email_event(route: str, region: str, event: EspEvent, row: tuple[Any, ...]) -> EmailEvent:
    details: dict[str, Any] = {"source": "esp_webhook"}
    if event.diagnostic:
        details["diagnostic"] = event.diagnostic[:1000]
    return EmailEvent(
        event_id=_event_id(route, event),
        event_time=event.occurred_at,
        message_id=event.message_id,
        contact_id=row[2],
        org_id=row[1],
        campaign_id=row[3],
        campaign_type=row[4],
        region=region,
        type=event.type,
        smtp_code=event.smtp_code,
        enhanced_code=event.enhanced_code,
        route=route,
        details=json.dumps(details),
    )


def _event_id(route: str, event: EspEvent) -> uuid.UUID:
    if event.esp_event_id:
        return uuid.uuid5(_NAMESPACE, f"{route}:{event.esp_event_id}")
    return uuid.uuid5(
        _NAMESPACE, f"{route}:{event.message_id}:{event.type}:{event.occurred_at.isoformat()}"
    )
