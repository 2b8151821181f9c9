"""`postwise demo`: the whole loop as far as it is built, on embedded defaults."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from warehouse.db import Cells
from warehouse.migrate import migrate_all
from warehouse.partitions import ensure_partitions_ahead
from warehouse.stats import summarize_cell

from .console import echo, table
from .runtime import open_cells, resolve_services
from .settings import Settings


def run_demo(settings: Settings, *, contacts: int, days: int, seed: int) -> int:
    """Start services, migrate, simulate a history (once), refresh rollups, print a summary."""
    from simulator.catalog import org_id_for
    from simulator.history import HistoryOptions, simulate_history

    began = time.monotonic()
    urls = resolve_services(settings)
    echo(f"postgresql  {urls.database_url}{'  (embedded)' if urls.embedded_database else ''}")
    echo(f"redis       {urls.redis_url}{'  (embedded)' if urls.embedded_redis else ''}")
    with open_cells(settings, urls.database_url) as cells:
        applied = migrate_all(cells)
        echo(
            f"migrations  {sum(len(v) for v in applied.values())} applied "
            f"to {len(applied)} databases"
        )

        options = HistoryOptions(contacts=contacts, days=days, seed=seed)
        org_id = org_id_for(options.org_slug)
        existing = _contacts_of(cells, org_id)
        if existing >= contacts:
            echo(f"history     reusing the {existing:,} contacts already simulated")
        else:
            echo(f"history     simulating {contacts:,} contacts over {days} days (seed {seed})")
            result = simulate_history(cells, settings, options, progress=True)
            echo(result.describe())

        rows, events = [], Counter[str]()
        for region in cells.regions:
            with cells.connection(region) as conn:
                ensure_partitions_ahead(
                    conn, datetime.now(UTC).date(), settings.partitions_ahead_days
                )
                conn.execute("SELECT refresh_email_events_hourly()")
                summary = summarize_cell(conn)
            events.update(summary.events_by_type)
            rows.append(
                [
                    region,
                    f"{summary.contacts:,}",
                    f"{summary.messages:,}",
                    f"{sum(summary.events_by_type.values()):,}",
                    summary.partitions,
                    f"{summary.first_partition or '-'} .. {summary.last_partition or '-'}",
                ]
            )
    echo("")
    echo(table(["cell", "contacts", "messages", "events", "partitions", "range"], rows))
    echo("")
    echo(table(["event type", "count"], [[t, f"{n:,}"] for t, n in events.most_common()]))
    echo(f"\ndemo finished in {time.monotonic() - began:.0f} s")
    return 0


def _contacts_of(cells: Cells, org_id: uuid.UUID) -> int:
    """How many contacts ``org_id`` already has across every region cell."""
    total = 0
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute("SELECT count(*) FROM contacts WHERE org_id = %s", (org_id,))
            total += int(row.fetchone()[0])  # type: ignore[index]
    return total
