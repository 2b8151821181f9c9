"""`postwise demo`: the whole loop on embedded defaults, ending with a report.

Services and migrations; a simulated history (once); every Dagster asset (dbt, training,
scoring, compliance); a campaign made and sent over the API with send-time optimization,
the personalization model choosing variants and a holdout sent at once, delivered to the
simulator's providers with outcomes back through the inbound listener and the tracking
endpoints; an incremental refresh; a retrain recording whether each challenger was
promoted; an injected account takeover that the anomaly model must catch and whose sender
the pause sensor must pause; the audit chains verified. The report is an HTML file with
charts (``reports/demo-<time>.html`` under the home folder) and a terminal summary.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from warehouse.db import Cells
from warehouse.migrate import migrate_all
from warehouse.partitions import ensure_partitions_ahead
from warehouse.stats import summarize_cell

from .console import echo, table
from .demo_figures import bandit_result, send_time_uplift, sender_series
from .demo_report import LoopReport, summary_lines, write_html
from .demo_steps import (
    StageClock,
    incident_target,
    inject_and_catch,
    last_complete_hour,
    promotions,
    run_pass,
)
from .launcher import child_environment
from .runtime import ServiceUrls, open_cells, resolve_services
from .settings import Settings

if TYPE_CHECKING:
    from pipelines.build import Planned

from .demo_campaign import (
    CampaignOptions,
    campaign_table,
    run_campaign,
)

log = logging.getLogger(__name__)


def run_demo(
    settings: Settings, *, contacts: int, days: int, seed: int, timings: str | None = None
) -> int:
    """The whole loop (see above); ``timings`` names a JSON file for each stage's start and
    end. Returns 0 when the incident was caught and every audit chain verified."""
    from simulator.catalog import VARIANTS, org_id_for
    from simulator.incident import INCIDENT_MEMORY
    from simulator.outside import history_world

    began = time.monotonic()
    clock = StageClock(timings)
    report = LoopReport()
    with clock.stage("services and migrations"):
        urls = resolve_services(settings)
        echo(f"postgresql  {urls.database_url}{'  (embedded)' if urls.embedded_database else ''}")
        echo(f"redis       {urls.redis_url}{'  (embedded)' if urls.embedded_redis else ''}")
        with open_cells(settings, urls.database_url) as cells:
            applied = migrate_all(cells)
        echo(
            f"migrations  {sum(len(v) for v in applied.values())} applied "
            f"to {len(applied)} databases"
        )
    with clock.stage("simulated history"), open_cells(settings, urls.database_url) as cells:
        _ensure_history(settings, cells, contacts, days, seed)
    with clock.stage("assets (dbt, training, scoring, compliance)"):
        tracking_uri = _build_assets(settings, urls)
    _print_warehouse(settings, urls, tracking_uri)
    with clock.stage("campaign through the API"), open_cells(settings, urls.database_url) as cells:
        options = CampaignOptions(
            contacts=contacts, days=days, seed=seed, through_api=True,
            deadline_seconds=240.0 + 0.06 * contacts,
        )  # fmt: skip
        campaign = run_campaign(settings, cells, urls.database_url, urls.redis_url, options)
        echo(f"\ncampaign {campaign.campaign_id}: {campaign.messages:,} messages, by route")
        echo(campaign_table(campaign.routes))
        held = campaign.statuses["queued"] + campaign.statuses["deferred"]
        if held:
            echo(f"held back by the throttle, still queued: {held:,}")
        report.campaign_id, report.routes = str(campaign.campaign_id), campaign.routes
    retrain_began_ms = int(time.time() * 1000)
    today = datetime.now(UTC).date()
    with clock.stage("incremental refresh"):
        run_pass(settings, urls, "refresh", lambda: _plans(settings, "refresh", today))
    with clock.stage("retrain and rescore"):
        run_pass(settings, urls, "retrain", lambda: _plans(settings, "retrain", today))
        report.promotions = promotions(tracking_uri, settings.regions, retrain_began_ms)
    world = history_world(seed, contacts, days)
    org_id = org_id_for(options.org_slug)
    with clock.stage("uplift and bandit figures"), open_cells(settings, urls.database_url) as cells:
        recipients = list(world.recipients())
        report.uplift = send_time_uplift(
            cells, campaign.campaign_id, campaign.plan, recipients, seed
        )
        chosen = campaign.api_report.get("variants_chosen", {})
        report.bandit = bandit_result(
            cells, campaign.campaign_id, campaign.plan, recipients,
            dict(chosen) if isinstance(chosen, dict) else {}, [str(v["key"]) for v in VARIANTS],
        )  # fmt: skip
    with clock.stage("injected incident"), open_cells(settings, urls.database_url) as cells:
        hour = last_complete_hour(datetime.now(UTC))
        target = incident_target(cells, org_id, hour)
        if target.last_takeover is not None:
            echo(
                f"incident    every sender had a takeover injected in the last "
                f"{INCIDENT_MEMORY.days} days; {target.sending_domain} ({target.region}) had "
                f"its at {target.last_takeover:%Y-%m-%d %H:%M} UTC, and the anomaly model, "
                "which forecasts each hour from the days before it, may read a second one as "
                "ordinary"
            )
        report.caught = inject_and_catch(settings, urls, cells, org_id, target, hour, seed)
        report.series = sender_series(cells, target.region, org_id, target.sending_domain)
    with clock.stage("compliance and audit"):
        run_pass(settings, urls, "compliance", lambda: _plans(settings, "compliance", today))
        with open_cells(settings, urls.database_url) as cells:
            audit_text, report.audit = audit_reports(settings, cells)
    report.stages = clock.seconds()
    path = settings.home / "reports" / f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}.html"
    tables = [("Sends by route", campaign_table(campaign.routes)), ("Audit chains", audit_text)]
    write_html(report, path, tables)
    echo("")
    echo(audit_text)
    echo("")
    for line in summary_lines(report):
        echo(line)
    echo(f"\nreport      {path}")
    echo(f"demo finished in {time.monotonic() - began:.0f} s")
    missed = report.caught is None or report.caught.failed
    intact = all(r.intact for r in report.audit)
    return 0 if intact and not missed else 1


def _ensure_history(settings: Settings, cells: Cells, contacts: int, days: int, seed: int) -> None:
    """Simulate the history once; a later run with as many contacts reuses it."""
    from simulator.catalog import org_id_for
    from simulator.history import HistoryOptions, simulate_history

    options = HistoryOptions(contacts=contacts, days=days, seed=seed)
    existing = _contacts_of(cells, org_id_for(options.org_slug))
    if existing >= contacts:
        echo(f"history     reusing the {existing:,} contacts already simulated")
        return
    echo(f"history     simulating {contacts:,} contacts over {days} days (seed {seed})")
    echo(simulate_history(cells, settings, options, progress=True).describe())


def _plans(settings: Settings, name: str, day: date) -> list[Planned]:
    """The steps of one of the demo's later Dagster passes."""
    from pipelines.build import compliance_plan, feature_plan, learning_plan

    steps: list[Planned] = []
    for region in settings.regions:
        if name == "refresh":
            steps += feature_plan(region, day, full_refresh=False)
        elif name == "retrain":
            steps += learning_plan(region)
    if name == "compliance":
        steps += compliance_plan(settings.regions)
    return steps


def _print_warehouse(settings: Settings, urls: ServiceUrls, tracking_uri: str) -> None:
    """Cells, events, marts and champions after the first build."""
    rows, events = [], Counter[str]()
    with open_cells(settings, urls.database_url) as cells:
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
    echo("")


def audit_table(settings: Settings, cells: Cells) -> str:
    """Every audit chain verified against its checkpoints, then anchored with a new one."""
    return audit_reports(settings, cells)[0]


def audit_reports(settings: Settings, cells: Cells) -> tuple[str, list[Any]]:
    """Every audit chain verified against its checkpoints, then anchored with a new one:
    the table and the verification reports."""
    from compliance.audit.cells import checkpoint_cells, verify_cells
    from compliance.audit.checkpoints import load_signing_key

    key = load_signing_key(
        settings.checkpoint_key_file, create=settings.postwise_env != "production"
    )
    reports = verify_cells(cells, settings.checkpoint_directory, key.public_key())
    written = checkpoint_cells(cells, settings.checkpoint_directory, key)
    rows = []
    for report in reports:
        verdict = "intact" if report.problem is None else f"TAMPERED at {report.problem.audit_id}"
        anchor = written.get(report.database)
        rows.append(
            [report.database, f"{report.entries:,}", verdict, report.checkpoints_matched,
             anchor.name if anchor else "-"]
        )  # fmt: skip
    headers = ["audit chain", "entries", "verified", "checkpoints matched", "new"]
    return table(headers, rows), list(reports)


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

    def everything() -> list[Planned]:
        # Imported here: the code location needs the dbt manifest, made by run_pass.
        from pipelines.build import compliance_plan, feature_plan, learning_plan

        day = datetime.now(UTC).date()
        steps: list[Planned] = []
        for region in settings.regions:
            steps += feature_plan(region, day) + learning_plan(region)
        return steps + compliance_plan(settings.regions)

    run_pass(settings, urls, "assets", everything)
    return child_environment(settings, urls)["MLFLOW_TRACKING_URI"]


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
