"""Behavioural trap signals: a contact mailed many times over a long span that never
engaged (no human open or click, no unsubscribe) yet never bounced or complained behaves
like a spam trap, which accepts mail silently and never reads it. Such contacts are found
in SQL per region cell and recorded in the trap store (kind ``behavioural``, scoped to their
organization), where the enqueue check sees them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from compliance.audit import record

from .store import BEHAVIOURAL_SOURCE

log = logging.getLogger(__name__)

# Every sent message of a contact counts; any human engagement or any failure signal clears it.
_SUSPECTS = """
WITH mailed AS (
    SELECT m.org_id, m.contact_id
    FROM messages m
    WHERE m.sent_at IS NOT NULL AND m.sent_at <= %(now)s
    GROUP BY m.org_id, m.contact_id
    HAVING count(*) >= %(min_sends)s
       AND max(m.sent_at) - min(m.sent_at) >= make_interval(days => %(min_days)s)
), suspects AS (
    SELECT c.org_id, c.email_blind_index
    FROM mailed JOIN contacts c ON c.contact_id = mailed.contact_id AND c.org_id = mailed.org_id
    WHERE c.status = 'active'
      AND NOT EXISTS (
        SELECT 1 FROM email_events e
        WHERE e.contact_id = mailed.contact_id
          AND ((e.type IN ('opened', 'clicked') AND NOT e.is_bot)
               OR e.type IN ('bounced', 'complained', 'unsubscribed')))
      AND NOT EXISTS (
        SELECT 1 FROM messages b WHERE b.contact_id = mailed.contact_id AND b.status = 'bounced')
), added AS (
    INSERT INTO spam_traps (email_blind_index, source, kind, org_id)
    SELECT email_blind_index, %(source)s, 'behavioural', org_id FROM suspects
    ON CONFLICT DO NOTHING
    RETURNING org_id
)
SELECT (SELECT count(*) FROM suspects), (SELECT count(*) FROM added)
"""


@dataclass(frozen=True)
class BehaviouralReport:
    """Suspects found in a cell, and how many of them are new in the trap store."""

    region: str
    suspects: int
    added: int
    seconds: float


def detect_suspects(
    conn: psycopg.Connection,
    region: str,
    *,
    min_sends: int,
    min_days: int,
    now: datetime,
    actor: str,
) -> BehaviouralReport:
    """Record this cell's behavioural suspects in the trap store (one transaction, audited)."""
    started = time.perf_counter()
    with conn.transaction():
        row = conn.execute(
            _SUSPECTS,
            {"now": now, "min_sends": min_sends, "min_days": min_days,
             "source": BEHAVIOURAL_SOURCE},
        ).fetchone()  # fmt: skip
        suspects, added = (int(row[0]), int(row[1])) if row else (0, 0)
        record(
            conn,
            actor=actor,
            action="traps.behavioural",
            subject=f"trap_source:{BEHAVIOURAL_SOURCE}",
            details={
                "region": region,
                "suspects": suspects,
                "added": added,
                "min_sends": min_sends,
                "min_days": min_days,
            },
        )
    report = BehaviouralReport(region, suspects, added, time.perf_counter() - started)
    log.info("behavioural traps in %s: %d suspects, %d new", region, suspects, added)
    return report
