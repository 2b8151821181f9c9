"""`postwise archive`: the cold-storage archive of event partitions.

    postwise archive run --region R [--today YYYY-MM-DD]
        archive, verify and drop every event partition of R past EVENT_RETENTION_DAYS
        (what the hourly upkeep does); exits 1 when a partition fails verification
    postwise archive list [--region R]
        the archive index: days, objects, rows, checksums, dropped and shredded subjects
    postwise archive query "SQL" --region R [--from DAY] [--to DAY] [--decrypt]
                           [--format table|csv|json]
        polars SQL over the archived days of R as table ``email_events``; --decrypt opens
        personal payloads (rows of erased subjects read as shredded)

The store is ARCHIVE_URL (default: <POSTWISE_HOME>/archive); s3:// URLs use the
ARCHIVE_S3_* settings. The actor recorded in the audit log is ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from .console import echo, fail, table
from .settings import Settings

if TYPE_CHECKING:
    from warehouse.db import Cells

FORMATS = ("table", "csv", "json")


def register(sub: Any) -> None:
    """Add the ``archive`` command and its subcommands to the CLI's subparsers."""
    parser = sub.add_parser("archive", help="cold-storage archive of event partitions")
    actions = parser.add_subparsers(dest="what", required=True)
    run = actions.add_parser("run", help="archive, verify and drop partitions past retention")
    run.add_argument("--region", required=True)
    run.add_argument("--today", type=_day, help="the day retention counts from (default: today)")
    run.set_defaults(handler=_run)
    listing = actions.add_parser("list", help="show the archive index")
    listing.add_argument("--region", help="one region (default: every region)")
    listing.set_defaults(handler=_list)
    query = actions.add_parser("query", help="SQL over the archived events (polars)")
    query.add_argument("sql", help='e.g. "SELECT type, count(*) FROM email_events GROUP BY 1"')
    query.add_argument("--region", required=True)
    query.add_argument("--from", dest="first", type=_day, help="first day (inclusive)")
    query.add_argument("--to", dest="last", type=_day, help="last day (inclusive)")
    query.add_argument("--decrypt", action="store_true", help="open the personal payloads")
    query.add_argument("--format", choices=FORMATS, default="table")
    query.set_defaults(handler=_query)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _open_cells(settings: Settings) -> Cells:
    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    return open_cells(settings, database_url)


def _check_region(settings: Settings, region: str) -> bool:
    if region not in settings.regions:
        fail(f"unknown region {region!r}; configured regions: {', '.join(settings.regions)}")
        return False
    return True


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.archive.export import archive_due
    from compliance.archive.store import ArchiveStore
    from compliance.crypto import cipher_for

    if not _check_region(settings, args.region):
        return 1
    store = ArchiveStore.from_settings(settings)
    today = args.today or datetime.now(UTC).date()
    with _open_cells(settings) as cells, cells.connection(args.region) as conn:
        reports = archive_due(
            conn,
            store,
            cipher_for(settings),
            args.region,
            today,
            settings.event_retention_days,
            actor=f"cli:{getpass.getuser()}",
        )
    if not reports:
        echo(f"{args.region}: no event partition past {settings.event_retention_days} days")
        return 0
    rows = [
        [r.partition, r.rows, r.sealed_rows, r.sha256[:16], f"{r.seconds:.1f}"] for r in reports
    ]
    echo(table(["partition", "rows", "sealed", "sha256", "seconds"], rows))
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.archive.index import list_index

    if args.region and not _check_region(settings, args.region):
        return 1
    rows = []
    with _open_cells(settings) as cells:
        for region in [args.region] if args.region else cells.regions:
            with cells.connection(region) as conn:
                for entry in list_index(conn):
                    rows.append(
                        [
                            region,
                            entry.day.isoformat(),
                            entry.rows,
                            entry.sealed_rows,
                            f"{entry.shredded_subjects}/{entry.subjects}",
                            entry.sha256[:16],
                            entry.dropped_at.isoformat(timespec="seconds")
                            if entry.dropped_at
                            else "-",
                            entry.url,
                        ]
                    )
    if not rows:
        echo("the archive is empty")
        return 0
    headers = ["region", "day", "rows", "sealed", "shredded", "sha256", "dropped", "url"]
    echo(table(headers, rows))
    return 0


def _query(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.archive.query import QueryScope, run_query
    from compliance.archive.store import ArchiveStore
    from compliance.crypto import cipher_for

    if not _check_region(settings, args.region):
        return 1
    store = ArchiveStore.from_settings(settings)
    cipher = cipher_for(settings) if args.decrypt else None
    with _open_cells(settings) as cells, cells.connection(args.region) as conn:
        result = run_query(
            conn,
            store,
            args.sql,
            QueryScope(args.first, args.last),
            cipher=cipher,
            actor=f"cli:{getpass.getuser()}",
        )
    if args.format == "csv":
        echo(result.write_csv().rstrip("\n"))
    elif args.format == "json":
        echo(json.dumps(result.to_dicts(), default=str))
    else:
        echo(table(result.columns, [list(row) for row in result.iter_rows()]))
    return 0
