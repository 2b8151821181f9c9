"""The suppression list of an organization, by blind index in every region cell (an address
is suppressed wherever its contact lives, or will). Listing merges the cells' rows by
(created_at, blind index) with a cursor; erasure suppressions (the right to be forgotten)
and the holds of a quarantined import (see :mod:`compliance.traps.imports`) cannot be
removed here."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from warehouse.db import Cells

from ..errors import IngestRejected
from .schemas_contacts import SuppressionPublic

PROTECTED_REASONS = frozenset({"erasure"})


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    index: bytes

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.index.hex()}".encode()
        return base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            stamp, index = base64.urlsafe_b64decode(text.encode()).decode().split("|")
            return cls(datetime.fromisoformat(stamp), bytes.fromhex(index))
        except ValueError:
            raise IngestRejected("invalid_cursor", "the cursor is not one this API gave") from None


def add(
    cells: Cells,
    org_id: uuid.UUID,
    index: bytes,
    reason: str,
    expires_at: datetime | None,
    source: str,
) -> bool:
    """Suppress in every cell (with one creation time, so pages list it once); True when
    no cell had it before."""
    new = False
    now = datetime.now(UTC)
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(
                "INSERT INTO suppressions (org_id, email_blind_index, reason, source, expires_at, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (org_id, email_blind_index) DO UPDATE "
                "SET reason = CASE WHEN suppressions.reason = 'erasure' THEN suppressions.reason "
                "ELSE EXCLUDED.reason END, expires_at = EXCLUDED.expires_at "
                "RETURNING (xmax = 0)",
                (org_id, index, reason, source, expires_at, now),
            ).fetchone()
            new = new or bool(row and row[0])
    return new


def remove(cells: Cells, org_id: uuid.UUID, index: bytes) -> int:
    """Remove from every cell; how many cells had it. Erasure suppressions stay (409)."""
    removed = 0
    for region in cells.regions:
        with cells.connection(region) as conn:
            protected = conn.execute(
                "SELECT reason FROM suppressions WHERE org_id = %s AND email_blind_index = %s "
                "AND reason = ANY(%s)",
                (org_id, index, sorted(PROTECTED_REASONS | {"quarantine"})),
            ).fetchone()
            if protected and protected[0] == "quarantine":
                raise IngestRejected(
                    "quarantine_hold",
                    "the address is held by a quarantined import; an owner releases or "
                    "rejects the import (postwise traps release|reject)",
                    409,
                )
            if protected:
                raise IngestRejected(
                    "erasure_suppression",
                    "the address was erased at its owner's request and stays suppressed",
                    409,
                )
    for region in cells.regions:
        with cells.connection(region) as conn:
            cur = conn.execute(
                "DELETE FROM suppressions WHERE org_id = %s AND email_blind_index = %s",
                (org_id, index),
            )
            removed += cur.rowcount
    return removed


def page(
    cells: Cells,
    org_id: uuid.UUID,
    limit: int,
    cursor: Cursor | None,
    index: bytes | None = None,
) -> tuple[list[SuppressionPublic], Cursor | None]:
    """Up to ``limit`` suppressions after ``cursor``, oldest first (one address once)."""
    merged: dict[bytes, SuppressionPublic] = {}
    keys: dict[bytes, tuple[datetime, bytes]] = {}
    after = (cursor.created_at, cursor.index) if cursor else None
    for region in cells.regions:
        with cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT email_blind_index, reason, source, created_at, expires_at "
                "FROM suppressions WHERE org_id = %s "
                "AND (%s::timestamptz IS NULL OR (created_at, email_blind_index) > (%s, %s)) "
                "AND (%s::bytea IS NULL OR email_blind_index = %s) "
                "ORDER BY created_at, email_blind_index LIMIT %s",
                (
                    org_id,
                    after and after[0],
                    after and after[0],
                    after and after[1],
                    index,
                    index,
                    limit + 1,
                ),
            ).fetchall()
        for raw, reason, source, created_at, expires_at in rows:
            key = bytes(raw)
            if key in merged:
                merged[key].regions.append(region)
                if created_at < keys[key][0]:
                    keys[key] = (created_at, key)
                continue
            keys[key] = (created_at, key)
            merged[key] = SuppressionPublic(
                email_hash=key.hex(),
                reason=reason,
                source=source,
                created_at=created_at,
                expires_at=expires_at,
                regions=[region],
            )
    ordered = sorted(merged, key=lambda k: keys[k])
    items = [merged[k] for k in ordered[:limit]]
    more = len(ordered) > limit
    last = keys[ordered[limit - 1]] if more else None
    return items, Cursor(*last) if last else None
