"""`postwise traps`: spam-trap feeds, behavioural suspects and quarantined imports.

    postwise traps sync FILE --region R --source NAME [--allow-empty]
        make the trap feed NAME of region R exactly FILE's addresses (one a line, ``#``
        comments; or a CSV whose first column is the address); prints added/removed/unchanged
    postwise traps behavioural [--region R]
        record contacts mailed often over a long span that never engaged nor bounced
    postwise traps hits [--region R] [--days N]
        trap matches per day, organization and list source
    postwise traps quarantined --org ORG [--all]
        the organization's contacts imports held for their trap hits
    postwise traps release|reject --org ORG IMPORT_ID
        let a quarantined import's contacts be mailed, or suppress them for good

The actor recorded in the audit log is ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bootstrap import BootstrapError
from .console import echo, table
from .settings import Settings

if TYPE_CHECKING:
    from warehouse.db import Cells


def register(sub: Any) -> None:
    """Add the ``traps`` command and its subcommands to the CLI's subparsers."""
    parser = sub.add_parser("traps", help="spam traps: feeds, suspects, quarantined imports")
    actions = parser.add_subparsers(dest="what", required=True)
    sync = actions.add_parser("sync", help="replace a trap feed's addresses with a file's")
    sync.add_argument("file", type=Path, help="one address a line (# comments), or a CSV")
    sync.add_argument("--region", required=True, help="the region cell the feed is for")
    sync.add_argument("--source", required=True, help="the feed's name (counted per source)")
    sync.add_argument(
        "--allow-empty", action="store_true", help="accept an empty file (removes every address)"
    )
    sync.set_defaults(handler=_sync)
    behavioural = actions.add_parser(
        "behavioural", help="record contacts mailed often that never engaged nor bounced"
    )
    behavioural.add_argument("--region", help="only this region (default: every region)")
    behavioural.set_defaults(handler=_behavioural)
    hits = actions.add_parser("hits", help="trap matches per day, organization and source")
    hits.add_argument("--region", help="only this region (default: every region)")
    hits.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    hits.set_defaults(handler=_hits)
    listing = actions.add_parser("quarantined", help="contacts imports held for trap hits")
    listing.add_argument("--org", required=True, help="organization slug or id")
    listing.add_argument("--all", action="store_true", help="released and rejected ones too")
    listing.set_defaults(handler=_quarantined)
    for name, text in (
        ("release", "let a quarantined import's contacts be mailed"),
        ("reject", "suppress a quarantined import's addresses for good"),
    ):
        decide = actions.add_parser(name, help=text)
        decide.add_argument("--org", required=True, help="organization slug or id")
        decide.add_argument("import_id", type=uuid.UUID, help="the quarantined import's id")
        decide.set_defaults(handler=_decide, decision=name)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _open(settings: Settings) -> Cells:
    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    return open_cells(settings, database_url)


def _regions(cells: Cells, region: str | None) -> tuple[str, ...]:
    if region is None:
        return cells.regions
    if region not in cells.regions:
        raise BootstrapError(f"no region {region!r}; configured: {', '.join(cells.regions)}")
    return (region,)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.traps import store
    from serving.ingest.wiring import get_cipher

    logging.getLogger("compliance.traps").setLevel(logging.INFO)  # progress of long feeds
    try:
        handle = args.file.open(encoding="utf-8-sig")
    except OSError as exc:
        raise BootstrapError(f"cannot read {args.file}: {exc.strerror}") from None
    with handle, _open(settings) as cells:
        (region,) = _regions(cells, args.region)
        with cells.connection(region) as conn:
            report = store.sync(
                conn,
                get_cipher(settings),
                handle,
                args.source,
                actor=_actor(),
                region=region,
                allow_empty=args.allow_empty,
            )
    echo(f"{report.source} in {region}: {report.summary()} ({report.seconds:.1f} s)")
    return 0


def _behavioural(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.traps.behavioural import detect_suspects

    rows = []
    with _open(settings) as cells:
        for region in _regions(cells, args.region):
            with cells.connection(region) as conn:
                report = detect_suspects(
                    conn,
                    region,
                    min_sends=settings.trap_behaviour_min_sends,
                    min_days=settings.trap_behaviour_min_days,
                    now=datetime.now(UTC),
                    actor=_actor(),
                )
            rows.append([region, report.suspects, report.added, f"{report.seconds:.1f}"])
    echo(table(["region", "suspects", "new", "seconds"], rows))
    return 0


def _hits(args: argparse.Namespace, settings: Settings) -> int:
    rows: list[list[object]] = []
    with _open(settings) as cells:
        for region in _regions(cells, args.region):
            with cells.connection(region) as conn:
                found = conn.execute(
                    "SELECT day, org_id, source, kind, hits FROM spam_trap_hits "
                    "WHERE day > current_date - %s ORDER BY day DESC, hits DESC",
                    (args.days,),
                ).fetchall()
            rows.extend([region, *row] for row in found)
    echo(table(["region", "day", "organization", "source", "kind", "hits"], rows))
    return 0


def _org(cells: Cells, org: str) -> uuid.UUID:
    from .bootstrap import organization_id

    with cells.connection("control") as conn:
        return organization_id(conn, org)


def _quarantined(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.traps.quarantine import quarantines

    with _open(settings) as cells:
        org_id = _org(cells, args.org)
        with cells.connection("control") as conn:
            found = quarantines(conn, org_id, None if args.all else "quarantined")
    rows = [
        [
            q.import_id, q.created_at.strftime("%Y-%m-%d %H:%M"), q.imported_by, q.received,
            q.trap_hits, json.dumps(q.hits_by_source), q.status,
        ]
        for q in found
    ]  # fmt: skip
    echo(table(["import", "created", "by", "records", "trap hits", "per source", "status"], rows))
    return 0


def _decide(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.traps.quarantine import reject, release

    decide = release if args.decision == "release" else reject
    with _open(settings) as cells:
        org_id = _org(cells, args.org)
        decided = decide(cells, org_id, args.import_id, _actor())
    echo(f"import {decided.import_id} {decided.status} by {decided.decided_by}")
    return 0
