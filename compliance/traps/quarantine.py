"""Reviewing quarantined contacts imports: list them with their trap hits per list source,
release one (its holds are lifted: its contacts become sendable under the usual consent and
suppression rules) or reject one (its holds become permanent ``manual`` suppressions with
source ``quarantine-rejected:<import id>``, so none of its addresses is mailed unless
someone removes that suppression address by address). Each decision is taken once and is
written to the control audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from compliance.audit import record
from warehouse.db import Cells

from .errors import QuarantineDecided, QuarantineNotFound
from .imports import HOLD_REASON, hold_source, lift_holds

_COLUMNS = (
    "import_id", "org_id", "imported_by", "created_at", "received", "held", "trap_hits",
    "hits_by_source", "regions", "status", "decided_by", "decided_at",
)  # fmt: skip


@dataclass(frozen=True)
class Quarantine:
    """One quarantined (or reviewed) import, as the reviewer sees it."""

    import_id: uuid.UUID
    org_id: uuid.UUID
    imported_by: str
    created_at: datetime
    received: int
    held: int
    trap_hits: int
    hits_by_source: dict[str, int]
    regions: list[str]
    status: str
    decided_by: str | None
    decided_at: datetime | None


def quarantines(
    conn: psycopg.Connection, org_id: uuid.UUID, status: str | None = "quarantined"
) -> list[Quarantine]:
    """The organization's imports in ``status`` (None: all), newest first."""
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM import_quarantines "  # noqa: S608 (fixed columns)
        "WHERE org_id = %s AND (%s::text IS NULL OR status = %s) ORDER BY created_at DESC",
        (org_id, status, status),
    ).fetchall()
    return [Quarantine(*row) for row in rows]


def release(cells: Cells, org_id: uuid.UUID, import_id: uuid.UUID, actor: str) -> Quarantine:
    """Lift the import's holds in every cell it wrote to; audited."""
    return _decide(cells, org_id, import_id, actor, "released")


def reject(cells: Cells, org_id: uuid.UUID, import_id: uuid.UUID, actor: str) -> Quarantine:
    """Turn the import's holds into permanent suppressions; audited."""
    return _decide(cells, org_id, import_id, actor, "rejected")


def _decide(
    cells: Cells, org_id: uuid.UUID, import_id: uuid.UUID, actor: str, decision: str
) -> Quarantine:
    with cells.connection("control") as control:
        # The row stays locked while the cells change, so two reviewers cannot both decide.
        row = control.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM import_quarantines "  # noqa: S608
            "WHERE import_id = %s AND org_id = %s FOR UPDATE",
            (import_id, org_id),
        ).fetchone()
        if row is None:
            raise QuarantineNotFound(import_id)
        found = Quarantine(*row)
        if found.status != "quarantined":
            raise QuarantineDecided(import_id, found.status)
        changed = 0
        for region in found.regions:
            with cells.connection(region) as conn:
                if decision == "released":
                    changed += lift_holds(conn, org_id, import_id)
                else:
                    changed += conn.execute(
                        "UPDATE suppressions SET reason = 'manual', source = %s "
                        "WHERE org_id = %s AND reason = %s AND source = %s",
                        (f"quarantine-rejected:{import_id}", org_id, HOLD_REASON,
                         hold_source(import_id)),
                    ).rowcount  # fmt: skip
        decided = control.execute(
            "UPDATE import_quarantines SET status = %s, decided_by = %s, decided_at = now() "
            f"WHERE import_id = %s RETURNING {', '.join(_COLUMNS)}",
            (decision, actor, import_id),
        ).fetchone()
        assert decided is not None
        record(
            control,
            actor=actor,
            action=f"traps.import_{decision}",
            subject=f"import:{import_id}",
            org_id=org_id,
            details={
                "addresses": changed,
                "trap_hits": found.trap_hits,
                "hits_by_source": found.hits_by_source,
            },
        )
    return Quarantine(*decided)
