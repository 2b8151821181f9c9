"""The check at enqueue: an address matching a trap (a shipped pattern, a feed entry or a
behavioural suspect) is refused, suppressed with reason ``spam_trap`` (source: the list
that matched) and counted per list source and day in ``spam_trap_hits``.

The caller runs :meth:`TrapGuard.check` in the transaction of the recipient's region cell
and, on a match, :meth:`TrapGuard.refuse` and commits before reporting the refusal, so the
suppression and the count outlive the refused request.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import psycopg

from . import store
from .patterns import Honeypots, TrapMatch, shipped_honeypots

REFUSAL_CODE = "spam_trap"


def suppress(conn: psycopg.Connection, org_id: uuid.UUID, hits: Mapping[bytes, TrapMatch]) -> None:
    """Suppress each hit with reason ``spam_trap`` and its list as source (an erasure
    suppression stays what it is)."""
    if not hits:
        return
    conn.execute(
        "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
        "SELECT %s, u.idx, 'spam_trap', u.source "
        "FROM unnest(%s::bytea[], %s::text[]) AS u(idx, source) "
        "ON CONFLICT (org_id, email_blind_index) DO UPDATE "
        "SET reason = CASE WHEN suppressions.reason = 'erasure' THEN suppressions.reason "
        "ELSE 'spam_trap' END, source = CASE WHEN suppressions.reason = 'erasure' "
        "THEN suppressions.source ELSE EXCLUDED.source END, expires_at = NULL",
        (org_id, list(hits), [m.source for m in hits.values()]),
    )


def count_hits(
    conn: psycopg.Connection, org_id: uuid.UUID, hits: Counter[TrapMatch], day: date | None = None
) -> None:
    """Add ``hits`` (per list source and kind) to today's counters of ``org_id``."""
    if not hits:
        return
    matches = sorted(hits, key=lambda m: (m.source, m.kind))
    conn.execute(
        "INSERT INTO spam_trap_hits (day, org_id, source, kind, hits) "
        "SELECT %s, %s, u.source, u.kind, u.hits "
        "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS u(source, kind, hits) "
        "ON CONFLICT (day, org_id, source, kind) "
        "DO UPDATE SET hits = spam_trap_hits.hits + EXCLUDED.hits",
        (
            day or datetime.now(UTC).date(),
            org_id,
            [m.source for m in matches],
            [m.kind for m in matches],
            [hits[m] for m in matches],
        ),
    )


@dataclass(frozen=True)
class TrapGuard:
    """Trap checks for one address or a batch of stored contacts."""

    honeypots: Honeypots = field(default_factory=shipped_honeypots)

    def check(
        self, conn: psycopg.Connection, org_id: uuid.UUID, address: str, index: bytes
    ) -> TrapMatch | None:
        """The trap ``address`` (blind index ``index``) matches, or None."""
        found = self.honeypots.match_address(address)
        if found is not None:
            return found
        return store.match_one(conn, index, org_id)

    def check_stored(
        self, conn: psycopg.Connection, org_id: uuid.UUID, contacts: Mapping[bytes, str]
    ) -> dict[bytes, TrapMatch]:
        """Matches among stored contacts, given blind index -> domain (role local parts need
        the plaintext and are caught when the address comes in)."""
        hits: dict[bytes, TrapMatch] = {}
        for index, domain in contacts.items():
            found = self.honeypots.match_domain(domain)
            if found is not None:
                hits[index] = found
        rest = [index for index in contacts if index not in hits]
        hits.update(store.match(conn, rest, org_id))
        return hits

    def refuse(
        self, conn: psycopg.Connection, org_id: uuid.UUID, hits: Mapping[bytes, TrapMatch]
    ) -> None:
        """Suppress and count ``hits`` in the caller's transaction."""
        suppress(conn, org_id, hits)
        count_hits(conn, org_id, Counter(hits.values()))
