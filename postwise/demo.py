"""`postwise demo`: the whole loop as far as it is built, on embedded defaults."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from psycopg import sql

from warehouse.db import Cells
from warehouse.migrate import migrate_all
from warehouse.partitions import ensure_partitions_ahead
from warehouse.stats import summarize_cell

from .console import echo, output_to_file, table
from .launcher import child_environment, ensure_dbt_manifest
from .runtime import ServiceUrls, open_cells, resolve_services
from .settings import Settings, get_settings


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

        tracking_uri = _build_assets(settings, urls)

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
    echo("")
    echo(table(["model", *settings.regions], _mart_counts(settings, urls.database_url)))
    echo("")
    echo(
        table(
            ["region", "model", "champion", "validation metric", "score", "scored rows"],
            _champions(settings, urls.database_url, tracking_uri),
        )
    )
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


def _build_assets(settings: Settings, urls: ServiceUrls) -> str:
    """Materialize every Dagster asset of every region cell, recorded in DAGSTER_HOME;
    returns the MLflow tracking URI the models were logged to."""
    import dagster as dg

    env = child_environment(settings, urls)
    ensure_dbt_manifest(env)
    os.environ.update(env)  # the Dagster resources read DATABASE_URL and friends
    get_settings.cache_clear()
    from pipelines.build import BuildStep, build_everything

    log_path = settings.home / "logs" / "demo-assets.log"
    echo(f"assets      materializing every asset through Dagster (log: {log_path})")
    with output_to_file(log_path) as say, dg.DagsterInstance.get() as instance:

        def show(step: BuildStep) -> None:
            state = "ok" if step.success else "FAILED"
            say(f"assets      {step.region:<5} {step.what:<34} {state} in {step.seconds:.0f} s")

        steps = build_everything(instance, datetime.now(UTC).date(), on_step=show)
    if not all(step.success for step in steps):
        raise DemoError(f"some assets failed to materialize; see the runs in {env['DAGSTER_HOME']}")
    return env["MLFLOW_TRACKING_URI"]


def _champions(settings: Settings, database_url: str, tracking_uri: str) -> list[list[str]]:
    """Per region and model: the champion version, its validation score and the rows its
    scores wrote back to the cell."""
    from mlflow.tracking import MlflowClient

    from models.tracking import champion_version, registered_name

    client = MlflowClient(tracking_uri=tracking_uri)
    outputs = {"send_time": "recipient_send_times", "anomaly": "anomaly_scores"}
    rows = []
    with open_cells(settings, database_url) as cells:
        for region in cells.regions:
            for model in ("send_time", "personalization", "anomaly"):
                version = champion_version(client, model, region)
                tags = (
                    client.get_model_version(registered_name(model, region), version).tags
                    if version
                    else {}
                )
                scored = "-"
                if model in outputs:
                    with cells.connection(region) as conn:
                        query = sql.SQL("SELECT count(*) FROM {}").format(
                            sql.Identifier(outputs[model])
                        )
                        row = conn.execute(query).fetchone()
                        scored = f"{int(row[0]) if row else 0:,}"
                score = tags.get("validation_score")
                rows.append(
                    [
                        region,
                        model,
                        version or "none",
                        tags.get("validation_metric", "-"),
                        f"{float(score):.3f}" if score else "-",
                        scored,
                    ]
                )
    return rows


def _mart_counts(settings: Settings, database_url: str) -> list[list[str]]:
    """Rows of every dbt model per region cell."""
    counts: dict[str, dict[str, int]] = {}
    with open_cells(settings, database_url) as cells:
        for region in cells.regions:
            with cells.connection(region) as conn:
                tables = conn.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema IN ('intermediate', 'marts') ORDER BY 1, 2"
                ).fetchall()
                for schema, name in tables:
                    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(name)
                    )
                    row = conn.execute(query).fetchone()
                    counts.setdefault(f"{schema}.{name}", {})[region] = int(row[0]) if row else 0
    return [
        [name, *(f"{per_region.get(r, 0):,}" for r in settings.regions)]
        for name, per_region in sorted(counts.items())
    ]


class DemoError(RuntimeError):
    """The demo could not complete a step."""
