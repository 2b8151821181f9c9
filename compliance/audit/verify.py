"""Verifying one database's audit chain against its content and its signed checkpoints.

The walk recomputes every entry's hash from its content (canonical JSON) and checks each
link; the first entry that fails is named. A chain that is internally consistent is then
held against the signed checkpoints: a checkpointed entry that is missing or carries another
hash means the chain was rewritten (and re-hashed) at or before that entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric import ec

from .chain import AuditEntry, ChainBreak, first_break
from .checkpoints import Checkpoint, is_signed_by
from .log import entries


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying one database's chain."""

    database: str
    entries: int
    head_id: int | None
    checkpoints_matched: int
    problem: ChainBreak | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is not None:
            return (
                f"{self.database}: TAMPERED, first bad entry {self.problem.audit_id}: "
                f"{self.problem.reason}"
            )
        return (
            f"{self.database}: intact, {self.entries:,} entries (head {self.head_id}), "
            f"{self.checkpoints_matched} signed checkpoint(s) match"
        )


def verify_database(
    conn: psycopg.Connection,
    database: str,
    checkpoints: list[tuple[Path, Checkpoint]],
    public_key: ec.EllipticCurvePublicKey | None,
) -> VerifyReport:
    """Verify ``conn``'s audit_log chain and hold it against ``checkpoints``."""
    walk = _Walk({point.audit_id for _, point in checkpoints})
    problem = first_break(walk.through(entries(conn)))
    total, head_id, seen = walk.count, walk.head_id, walk.seen
    if problem is not None:
        return VerifyReport(database, total, head_id, 0, problem)

    matched = 0
    previous_good: int | None = None
    for path, point in checkpoints:
        if public_key is None or not is_signed_by(public_key, point):
            return VerifyReport(
                database,
                total,
                head_id,
                matched,
                ChainBreak(point.audit_id, f"checkpoint {path.name} is not validly signed"),
            )
        actual = seen.get(point.audit_id)
        if actual != point.row_hash:
            after = f" and after entry {previous_good}" if previous_good is not None else ""
            what = "is missing" if actual is None else "has another hash"
            return VerifyReport(
                database,
                total,
                head_id,
                matched,
                ChainBreak(
                    point.audit_id,
                    f"{what} than signed in checkpoint {path.name}: the chain was rewritten "
                    f"at or before this entry{after}",
                ),
            )
        matched += 1
        previous_good = point.audit_id
    return VerifyReport(database, total, head_id, matched)


class _Walk:
    """Counts the entries walked and keeps the hashes of the checkpointed ones."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.count = 0
        self.head_id: int | None = None
        self.seen: dict[int, bytes] = {}

    def through(self, source: Iterator[AuditEntry]) -> Iterator[AuditEntry]:
        for entry in source:
            self.count += 1
            self.head_id = entry.audit_id
            if entry.audit_id in self.wanted:
                self.seen[entry.audit_id] = entry.row_hash
            yield entry
