"""`postwise audit ...` and `postwise keys ...`: the audit chain and the encryption keys.

postwise audit verify [--cell C]   recompute every database's chain and hold it against the
                                   signed checkpoints; names the first bad entry, exit 1;
                                   both record the outcome in each database's job_runs
postwise audit checkpoint          verify every chain, then sign each chain head into the
                                   write-once checkpoint dir; a tampered chain is not
                                   signed over (exit 1)
postwise keys rotate               re-wrap every data key under the current KEK
postwise keys new                  print a fresh random key (base64 of 32 bytes)
"""

from __future__ import annotations

import argparse
import base64
import secrets
from typing import TYPE_CHECKING

from .console import echo, fail, table
from .settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from warehouse.db import Cells

EXIT_TAMPERED = 1


def _open_cells(settings: Settings) -> Cells:
    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    return open_cells(settings, database_url)


def _signing_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    from compliance.audit.checkpoints import load_signing_key

    return load_signing_key(
        settings.checkpoint_key_file, create=settings.postwise_env != "production"
    )


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.audit.cells import record_verifications, verify_cells

    public_key = _signing_key(settings).public_key()
    with _open_cells(settings) as cells:
        reports = verify_cells(cells, settings.checkpoint_directory, public_key, args.cell)
        record_verifications(cells, reports)
    if not reports:
        fail(f"no database named {args.cell!r} has an audit chain")
        return EXIT_TAMPERED
    for report in reports:
        (echo if report.intact else fail)(report.summary())
    return 0 if all(report.intact for report in reports) else EXIT_TAMPERED


def _checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.audit.cells import checkpoint_cells, record_verifications, verify_cells

    key = _signing_key(settings)
    with _open_cells(settings) as cells:
        # Signing a tampered head would anchor the tampering: verify first, as the hourly
        # job does, and record the outcome either way.
        reports = verify_cells(cells, settings.checkpoint_directory, key.public_key())
        record_verifications(cells, reports)
        broken = [report for report in reports if not report.intact]
        for report in broken:
            fail(report.summary())
        if broken:
            return EXIT_TAMPERED
        written = checkpoint_cells(cells, settings.checkpoint_directory, key)
    rows = [[name, str(path) if path else "(empty chain)"] for name, path in written.items()]
    echo(table(["database", "checkpoint"], rows))
    return 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.crypto import cipher_for
    from compliance.keys import rotate_data_keys

    cipher = cipher_for(settings)
    rows = []
    with _open_cells(settings) as cells:
        for region in cells.regions:
            with cells.connection(region) as conn:
                report = rotate_data_keys(conn, cipher, region)
            rows.append([region, report.rewrapped, report.already_current, f"{report.seconds:.1f}"])
    echo(f"data keys now wrapped under key-encryption key version {cipher.current_version}")
    echo(table(["cell", "re-wrapped", "already current", "seconds"], rows))
    return 0


def _new_key(args: argparse.Namespace, settings: Settings) -> int:
    echo(base64.b64encode(secrets.token_bytes(32)).decode())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` and ``keys`` commands to the top-level parser's subcommands."""
    audit = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(
        dest="what", required=True
    )
    verify = audit.add_parser(
        "verify", help="verify every audit chain and its signed checkpoints; exit 1 if tampered"
    )
    verify.add_argument("--cell", help="only this database (control, or a region)")
    verify.set_defaults(handler=_verify)
    audit.add_parser(
        "checkpoint",
        help="verify every chain, then sign each head into the write-once checkpoint directory",
    ).set_defaults(handler=_checkpoint)

    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="what", required=True)
    keys.add_parser(
        "rotate", help="re-wrap every contact's data key under the current key-encryption key"
    ).set_defaults(handler=_rotate)
    keys.add_parser("new", help="print a new random 32-byte key in base64").set_defaults(
        handler=_new_key
    )
