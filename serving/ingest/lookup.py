"""Reading a message back: its queue row and its events, from whichever cell of the
organization holds it (message ids are unique, so at most one does)."""

from __future__ import annotations

import uuid

from warehouse.db import Cells

from .schemas import EventPublic, MessagePublic

_COLUMNS = (
    "message_id", "status", "campaign_type", "campaign_id", "contact_id", "sending_domain",
    "template_id", "template_version", "variant", "scheduled_at", "created_at", "sent_at",
    "attempts", "last_error",
)  # fmt: skip


def find_message(cells: Cells, org_id: uuid.UUID, message_id: uuid.UUID) -> MessagePublic | None:
    """The org's message with its events (oldest first), or None."""
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM messages "  # noqa: S608 (fixed columns)
                "WHERE message_id = %s AND org_id = %s",
                (message_id, org_id),
            ).fetchone()
            if row is None:
                continue
            events = conn.execute(
                "SELECT type, event_time, is_bot, smtp_code, details FROM email_events "
                "WHERE message_id = %s AND org_id = %s ORDER BY event_time, ingest_seq",
                (message_id, org_id),
            ).fetchall()
        return MessagePublic(
            **dict(zip(_COLUMNS, row, strict=True)),
            region=region,
            events=[
                EventPublic(
                    type=e[0], event_time=e[1], is_bot=e[2], smtp_code=e[3], details=e[4] or {}
                )  # fmt: skip
                for e in events
            ],
        )
    return None
