"""Trap screening of a contacts import, and its quarantine.

While an import is written, every chunk's rows are screened in their region cell's
transaction: trap matches are refused (suppressed, counted) and the other addresses are
held with a ``quarantine`` suppression (source ``quarantine:<import id>``), so nothing the
import brings is sendable before the import's verdict. At the end, :meth:`ImportScreen.conclude`
compares the trap hits with the :class:`QuarantinePolicy`: over it, the import is recorded
for review in the control database (audited) and the holds stay until an owner releases or
rejects it (:mod:`.quarantine`); under it, the holds are lifted at once.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb

from compliance.audit import record
from warehouse.db import Cells

from . import store
from .guard import TrapGuard
from .patterns import TrapMatch

log = logging.getLogger(__name__)
HOLD_REASON = "quarantine"


def hold_source(import_id: uuid.UUID) -> str:
    """The suppression source of the holds an import's addresses carry."""
    return f"quarantine:{import_id}"


@dataclass(frozen=True)
class QuarantinePolicy:
    """When an import goes to review: at least ``min_hits`` trap hits and at least
    ``ratio`` of its records (settings ``TRAP_QUARANTINE_MIN_HITS``/``_RATIO``)."""

    ratio: float = 0.01
    min_hits: int = 3

    def quarantines(self, hits: int, received: int) -> bool:
        return hits >= self.min_hits and hits >= self.ratio * max(received, 1)


@dataclass(frozen=True)
class QuarantineVerdict:
    """An import sent to review: its id and trap hits per list source."""

    import_id: uuid.UUID
    trap_hits: int
    hits_by_source: dict[str, int]


@dataclass
class ImportScreen:
    """Screens one import's chunks; one instance per import."""

    org_id: uuid.UUID
    imported_by: str
    policy: QuarantinePolicy = field(default_factory=QuarantinePolicy)
    guard: TrapGuard = field(default_factory=TrapGuard)
    import_id: uuid.UUID = field(default_factory=uuid.uuid4)
    hits: Counter[str] = field(default_factory=Counter)
    held: int = 0
    held_regions: set[str] = field(default_factory=set)

    def screen(
        self, conn: psycopg.Connection, addresses: Mapping[bytes, str]
    ) -> dict[bytes, TrapMatch]:
        """Trap matches among ``addresses`` (blind index -> address), suppressed and counted
        in ``conn``'s transaction; the caller leaves them out of the import."""
        found: dict[bytes, TrapMatch] = {}
        rest: list[bytes] = []
        for index, address in addresses.items():
            match = self.guard.honeypots.match_address(address)
            if match is None:
                rest.append(index)
            else:
                found[index] = match
        found.update(store.match(conn, rest, self.org_id))
        self.guard.refuse(conn, self.org_id, found)
        self.hits.update(match.source for match in found.values())
        return found

    def hold(self, conn: psycopg.Connection, region: str, indexes: list[bytes]) -> None:
        """Hold the written addresses until the verdict (an earlier suppression stays)."""
        if not indexes:
            return
        held = conn.execute(
            "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
            "SELECT %s, idx, %s, %s FROM unnest(%s::bytea[]) AS idx "
            "ON CONFLICT (org_id, email_blind_index) DO NOTHING",
            (self.org_id, HOLD_REASON, hold_source(self.import_id), indexes),
        ).rowcount
        self.held += held
        self.held_regions.add(region)

    def conclude(self, cells: Cells, received: int) -> QuarantineVerdict | None:
        """Quarantine the import (recorded, audited) or lift its holds; the verdict, or None."""
        total = sum(self.hits.values())
        if not self.policy.quarantines(total, received):
            for region in sorted(self.held_regions):
                with cells.connection(region) as conn:
                    lift_holds(conn, self.org_id, self.import_id)
            return None
        by_source = dict(sorted(self.hits.items()))
        with cells.connection("control") as conn:
            conn.execute(
                "INSERT INTO import_quarantines (import_id, org_id, imported_by, received, held, "
                "trap_hits, hits_by_source, regions) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    self.import_id, self.org_id, self.imported_by, received, self.held, total,
                    Jsonb(by_source), sorted(self.held_regions),
                ),
            )  # fmt: skip
            record(
                conn,
                actor=self.imported_by,
                action="traps.import_quarantined",
                subject=f"import:{self.import_id}",
                org_id=self.org_id,
                details={"received": received, "trap_hits": total, "hits_by_source": by_source},
            )
        log.warning(
            "import %s of org %s quarantined: %d trap hits in %d records %s",
            self.import_id, self.org_id, total, received, by_source,
        )  # fmt: skip
        return QuarantineVerdict(self.import_id, total, by_source)


def lift_holds(conn: psycopg.Connection, org_id: uuid.UUID, import_id: uuid.UUID) -> int:
    """Remove an import's holds in this cell; how many."""
    return conn.execute(
        "DELETE FROM suppressions WHERE org_id = %s AND reason = %s AND source = %s",
        (org_id, HOLD_REASON, hold_source(import_id)),
    ).rowcount
