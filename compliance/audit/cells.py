"""The audit chains of every database of an installation: the control database and each
region cell keep their own chain; these functions verify and checkpoint all of them."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from warehouse.db import CONTROL, Cells

from .checkpoints import checkpoints_of, sign_checkpoint, write_checkpoint
from .log import head
from .verify import VerifyReport, verify_database


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
