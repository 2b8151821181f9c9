"""The audit chains of every database of an installation: the control database and each
region cell keep their own chain; these functions verify and checkpoint all of them, and
record each verification's outcome in the verified database's ``job_runs`` (job
``audit_verify``), so its last result can be read without running the verifier."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from warehouse.db import CONTROL, Cells
from warehouse.job_runs import record_job_run

from .checkpoints import checkpoints_of, sign_checkpoint, write_checkpoint
from .log import head
from .verify import VerifyReport, verify_database

VERIFY_JOB = "audit_verify"


def chain_names(cells: Cells) -> tuple[str, ...]:
    """The databases with an audit chain: ``control`` and every region."""
    return (CONTROL, *cells.regions)


def verify_cells(
    cells: Cells,
    checkpoint_dir: Path,
    public_key: ec.EllipticCurvePublicKey | None,
    only: str | None = None,
) -> list[VerifyReport]:
    """Verify the chain of each database (or just ``only``) against its checkpoints."""
    reports = []
    for name in chain_names(cells):
        if only is not None and name != only:
            continue
        with cells.connection(name) as conn:
            points = checkpoints_of(checkpoint_dir, name)
            reports.append(verify_database(conn, name, points, public_key))
    return reports


def checkpoint_cells(
    cells: Cells, checkpoint_dir: Path, key: ec.EllipticCurvePrivateKey
) -> dict[str, Path | None]:
    """Sign and write a checkpoint of every database's chain head (None: an empty chain)."""
    written: dict[str, Path | None] = {}
    for name in chain_names(cells):
        with cells.connection(name) as conn:
            newest = head(conn)
        written[name] = (
            write_checkpoint(checkpoint_dir, sign_checkpoint(key, name, newest))
            if newest is not None
            else None
        )
    return written


def record_verifications(cells: Cells, reports: list[VerifyReport]) -> None:
    """Note each report in its database's ``job_runs``: entries walked, head, signed
    checkpoints matched, intact or not and the first problem."""
    for report in reports:
        details = {
            "intact": report.intact,
            "head_id": report.head_id,
            "checkpoints_matched": report.checkpoints_matched,
            "problem": report.summary() if not report.intact else None,
        }
        with cells.connection(report.database) as conn:
            record_job_run(conn, VERIFY_JOB, report.entries, details)
