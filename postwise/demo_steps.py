"""The demo's Dagster passes and what it reads back from them: the asset builds, the
incremental refresh, the retrain's promotion decisions, and the injected incident that
the anomaly model must catch and that must pause its sender."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .console import echo, output_to_file
from .launcher import child_environment, ensure_dbt_manifest
from .runtime import ServiceUrls
from .settings import Settings, get_settings

if TYPE_CHECKING:
    import dagster as dg

    from pipelines.build import BuildStep, Planned
    from simulator.incident import Sender
    from warehouse.db import Cells


class StepFailed(RuntimeError):
    """A Dagster pass of the demo failed (its runs are in DAGSTER_HOME)."""


@contextmanager
def dagster_instance(settings: Settings, urls: ServiceUrls) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance of DAGSTER_HOME, with the Dagster resources' environment
    (DATABASE_URL and friends) set in this process."""
    import dagster as dg

    env = child_environment(settings, urls)
    ensure_dbt_manifest(env)
    os.environ.update(env)  # the Dagster resources read DATABASE_URL and friends
    get_settings.cache_clear()
    with dg.DagsterInstance.get() as instance:
        yield instance


def run_pass(
    settings: Settings,
    urls: ServiceUrls,
    name: str,
    plan: Callable[[], Sequence[Planned]],
) -> list[BuildStep]:
    """Materialize ``plan()`` through Dagster, one line per step on the terminal, the runs'
    output in ``logs/demo-<name>.log``; :class:`StepFailed` when a step fails."""
    log_path = settings.home / "logs" / f"demo-{name}.log"
    with dagster_instance(settings, urls) as instance:
        # Imported here: the code location needs the dbt manifest dagster_instance makes.
        from pipelines.build import run_plan

        steps = plan()
        echo(f"{name:<11} {len(steps)} Dagster runs (log: {log_path})")
        with output_to_file(log_path) as say:

            def show(step: BuildStep) -> None:
                state = "ok" if step.success else "FAILED"
                say(f"{name:<11} {step.region:<5} {step.what:<38} {state} in {step.seconds:.0f} s")

            done = run_plan(instance, steps, on_step=show)
    failed = [f"{s.region} {s.what}" for s in done if not s.success]
    if failed:
        raise StepFailed(f"{name}: {', '.join(failed)} failed; see the runs in DAGSTER_HOME")
    return done


@dataclass(frozen=True)
class Promotion:
    region: str
    model: str
    version: str | None
    promoted: bool | None  # None: no decision recorded (no run)
    decision: str


def promotions(tracking_uri: str, regions: Sequence[str], since_ms: int) -> list[Promotion]:
    """The promotion decision of each model's newest training run since ``since_ms``
    (MLflow tags ``postwise.promoted`` and ``postwise.promotion``)."""
    from mlflow.tracking import MlflowClient

    from models.tracking import registered_name

    client = MlflowClient(tracking_uri=tracking_uri)
    out = []
    for region in regions:
        for model in ("send_time", "personalization", "anomaly"):
            name = registered_name(model, region)
            versions = client.search_model_versions(f"name = '{name}'")
            newest = max(versions, key=lambda v: int(v.version), default=None)
            run = client.get_run(newest.run_id) if newest and newest.run_id else None
            if run is None or run.info.start_time < since_ms:
                out.append(Promotion(region, model, None, None, "no challenger registered"))
                continue
            tags = run.data.tags
            promoted = tags.get("postwise.promoted")
            out.append(
                Promotion(
                    region, model, newest.version if newest else None,
                    None if promoted is None else promoted == "True",
                    tags.get("postwise.promotion", "no decision recorded"),
                )
            )  # fmt: skip
    return out


@dataclass(frozen=True)
class Caught:
    """What the anomaly model and the pause sensor did with the incident."""

    incident: Any  # simulator.incident.Incident
    injected_at: datetime
    alert_score: float | None
    alert_bucket: datetime | None
    threshold: float | None
    paused_at: datetime | None
    pause_reason: str | None
    # An earlier takeover of the same sender within INCIDENT_MEMORY (every sender had one):
    # the model may then read this one as its new normal, which is not a failure of the loop.
    repeat_of: datetime | None = None

    @property
    def caught(self) -> bool:
        return self.alert_bucket is not None and self.paused_at is not None

    @property
    def failed(self) -> bool:
        """Missed on a sender the model had no reason to find ordinary."""
        return not self.caught and self.repeat_of is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident.describe(),
            "injected_at": self.injected_at.isoformat(),
            "alert_bucket": self.alert_bucket.isoformat() if self.alert_bucket else None,
            "alert_score": self.alert_score,
            "threshold": self.threshold,
            "paused_at": self.paused_at.isoformat() if self.paused_at else None,
            "pause_reason": self.pause_reason,
            "repeat_of": self.repeat_of.isoformat() if self.repeat_of else None,
            "seconds_to_pause": (self.paused_at - self.injected_at).total_seconds()
            if self.paused_at
            else None,
        }


class NoIncidentSender(RuntimeError):
    """The organization has no ordinary sender the demo's incident could take over."""


def incident_target(cells: Cells, org_id: uuid.UUID, hour: datetime) -> Sender:
    """The sender the incident takes over: one with no takeover injected within
    ``INCIDENT_MEMORY`` (a later demo run in the same home then moves to another region's
    sender), the busiest first. When every sender had one, the one whose takeover is oldest,
    but never one already taken over in ``hour`` (its messages would repeat)."""
    from simulator.incident import INCIDENT_MEMORY, ordinary_senders

    senders = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            senders += ordinary_senders(conn, region, org_id, hour - INCIDENT_MEMORY)
    usable = [s for s in senders if s.last_takeover is None or s.last_takeover < hour]
    if not usable:
        raise NoIncidentSender(
            "the organization has no transactional sender to take over"
            if not senders
            else f"every sender was already taken over in the hour from {hour:%H:%M} UTC; "
            "run the demo again in the next hour"
        )
    oldest = datetime.min.replace(tzinfo=UTC)
    return min(
        usable,
        key=lambda s: (s.last_takeover is not None, s.last_takeover or oldest, -s.messages),
    )


def last_complete_hour(now: datetime) -> datetime:
    """The start of the last hour that is over at ``now``."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def inject_and_catch(
    settings: Settings,
    urls: ServiceUrls,
    cells: Cells,
    org_id: uuid.UUID,
    target: Sender,
    hour: datetime,
    seed: int,
) -> Caught:
    """Inject an account takeover of ``target`` in ``hour``, refresh the sender series,
    score it with the anomaly champion and run the pause sensor once."""
    import dagster as dg

    from pipelines.build import Planned, feature_plan
    from pipelines.definitions import defs
    from pipelines.learning import anomaly_pause_sensor, anomaly_scores
    from simulator.incident import inject_takeover
    from warehouse.model_outputs import resume_sender

    region, sending_domain = target.region, target.sending_domain
    with cells.connection(region) as conn:
        # An earlier run's incident may have left the sender paused; the demo, as its
        # operator, resumed it after looking, so that this run's pause is the sensor's own.
        if resume_sender(conn, org_id, sending_domain):
            echo(f"incident    resumed {sending_domain} ({region}), paused by an earlier run")
        injected_at = datetime.now(UTC)
        incident = inject_takeover(conn, region, org_id, sending_domain, hour, seed=seed)
    echo(f"incident    injected: {incident.describe()}")

    def plan() -> list[Planned]:
        scoring = Planned(
            region, "anomaly scores", [anomaly_scores], region,
            dg.AssetSelection.assets(anomaly_scores), {},
        )  # fmt: skip
        return [*feature_plan(region, hour.date(), full_refresh=False), scoring]

    run_pass(settings, urls, "incident", plan)
    with (
        dagster_instance(settings, urls) as instance,
        dg.build_sensor_context(instance=instance, resources=defs.resources) as context,
    ):
        verdict = anomaly_pause_sensor(context)
    echo(f"incident    pause sensor: {getattr(verdict, 'skip_message', verdict)}")
    with cells.connection(region) as conn:
        alert = conn.execute(
            "SELECT bucket_start, anomaly_score, threshold FROM anomaly_scores "
            "WHERE org_id = %s AND sending_domain = %s AND bucket_start = %s AND is_alert",
            (org_id, sending_domain, hour),
        ).fetchone()
        scored = conn.execute(
            "SELECT anomaly_score, threshold FROM anomaly_scores WHERE org_id = %s "
            "AND sending_domain = %s AND bucket_start = %s",
            (org_id, sending_domain, hour),
        ).fetchone()
        pause = conn.execute(
            "SELECT paused_at, reason FROM paused_senders WHERE org_id = %s "
            "AND sending_domain = %s AND resumed_at IS NULL AND paused_at >= %s "
            "ORDER BY paused_at DESC LIMIT 1",
            (org_id, sending_domain, injected_at),
        ).fetchone()
    score, threshold = (float(scored[0]), float(scored[1])) if scored else (None, None)
    return Caught(
        incident, injected_at, score, alert[0] if alert else None, threshold,
        pause[0] if pause else None, pause[1] if pause else None, target.last_takeover,
    )  # fmt: skip


class StageClock:
    """Wall-clock start and end of each demo stage, written as JSON to ``path`` (when
    given) after every stage, so a run that fails still leaves its timings."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.stages: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.time()
        try:
            yield
        finally:
            self.stages.append({"stage": name, "started": started, "ended": time.time()})
            if self.path:
                with open(self.path, "w", encoding="utf-8") as out:
                    json.dump(self.stages, out, indent=1)

    def seconds(self) -> dict[str, float]:
        return {s["stage"]: round(s["ended"] - s["started"], 1) for s in self.stages}
