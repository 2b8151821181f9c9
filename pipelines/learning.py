"""Models: trained from each region's marts, tracked in MLflow, scored back into the cell.

Training assets read their marts without erased data subjects
(``compliance.erasure.read_training_table``), log one MLflow run per region and model and
promote the new version to ``@champion`` only when it beats the current one. Scoring assets
load the champion and write ``recipient_send_times`` and ``anomaly_scores``; a sensor pauses
senders whose recent scores cross the alert threshold (delivery reads ``paused_senders``).
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from compliance.erasure import read_training_table
from models.tracking import (
    champion_version,
    load_champion,
    log_training,
    mlflow_frame,
    promote_if_better,
)
from models.training import TrainingResult
from warehouse.frames import read_table
from warehouse.model_outputs import pause_sender, replace_send_times, upsert_anomaly_scores

from .logic import anomaly_rows, complete_buckets, send_time_rows
from .partitions import region_partitions
from .resources import MlflowResource, WarehouseResource

MARTS = "marts"
ALERT_LOOKBACK = timedelta(hours=6)


def _track(
    context: dg.AssetExecutionContext,
    mlflow: MlflowResource,
    result: TrainingResult,
    model: str,
    region: str,
) -> dg.MaterializeResult:
    run_id, version = log_training(
        result,
        tracking_uri=mlflow.tracking_uri,
        model=model,
        region=region,
        artifact_root=mlflow.artifact_path(),
        run_name=f"{model}_{region}_{context.run.run_id[:8]}",
    )
    decision = promote_if_better(mlflow.client(), f"{model}_{region}", version, run_id)
    context.log.info(decision.describe())
    return dg.MaterializeResult(
        metadata={
            "version": version,
            "promoted": decision.promoted,
            "decision": decision.describe(),
            "mlflow_run_id": run_id,
            **{k: float(v) for k, v in result.metrics.items()},
        }
    )


@dg.asset(
    key=["models", "send_time"],
    group_name="models",
    partitions_def=region_partitions,
    deps=[dg.AssetKey([MARTS, "send_time_training"])],
    kinds={"mlflow", "lifelines"},
)
def send_time_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Survival models of time to first human open (Cox and AFT), the better one tracked."""
    from models import send_time

    region = context.partition_key
    with warehouse.connection(region) as conn:
        training = read_training_table(conn, MARTS, "send_time_training")
    return _track(context, mlflow, send_time.train(training), "send_time", region)


@dg.asset(
    key=["models", "personalization"],
    group_name="models",
    partitions_def=region_partitions,
    deps=[
        dg.AssetKey([MARTS, "variant_exposures"]),
        dg.AssetKey([MARTS, "recipient_engagement_features"]),
    ],
    kinds={"mlflow", "sklearn"},
)
def personalization_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """The contextual bandit's click model and its off-policy evaluation."""
    from models import personalization

    region = context.partition_key
    with warehouse.connection(region) as conn:
        exposures = read_training_table(conn, MARTS, "variant_exposures")
        features = read_training_table(conn, MARTS, "recipient_engagement_features")
    result = personalization.train(exposures, features)
    return _track(context, mlflow, result, "personalization", region)


@dg.asset(
    key=["models", "anomaly"],
    group_name="models",
    partitions_def=region_partitions,
    deps=[dg.AssetKey([MARTS, "send_volume_timeseries"])],
    kinds={"mlflow", "pytorch"},
)
def anomaly_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """The LSTM forecaster over every sender's hourly series, with its alert threshold."""
    from models import anomaly

    region = context.partition_key
    with warehouse.connection(region) as conn:
        series = read_table(conn, MARTS, "send_volume_timeseries")
    series = complete_buckets(series, datetime.now(UTC))
    return _track(context, mlflow, anomaly.train(series), "anomaly", region)


@dg.asset(
    key=["scores", "recipient_send_times"],
    group_name="scores",
    partitions_def=region_partitions,
    deps=[send_time_model, dg.AssetKey([MARTS, "recipient_engagement_features"])],
    kinds={"postgres"},
)
def recipient_send_times(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Tomorrow's best send hour per contact from the region's send-time champion."""
    region = context.partition_key
    champion = load_champion(mlflow.tracking_uri, "send_time", region)
    version = champion_version(mlflow.client(), "send_time", region) or "unknown"
    with warehouse.connection(region) as conn:
        features = read_training_table(conn, MARTS, "recipient_engagement_features")
        day = (datetime.now(UTC) + timedelta(days=1)).date()
        scores = champion.predict(mlflow_frame(features.assign(day=day.isoformat())))
        rows = send_time_rows(features, scores, f"send_time_{region}", version)
        replace_send_times(conn, sorted(set(features["org_id"])), rows)
    fallback = sum(1 for row in rows if row[-1])
    return dg.MaterializeResult(
        metadata={"contacts": len(rows), "fallback": fallback, "model_version": version}
    )


@dg.asset(
    key=["scores", "anomaly_scores"],
    group_name="scores",
    partitions_def=region_partitions,
    deps=[anomaly_model, dg.AssetKey([MARTS, "send_volume_timeseries"])],
    kinds={"postgres"},
)
def anomaly_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Streaming anomaly scores of every sender's series from the region's champion."""
    region = context.partition_key
    champion = load_champion(mlflow.tracking_uri, "anomaly", region)
    version = champion_version(mlflow.client(), "anomaly", region) or "unknown"
    with warehouse.connection(region) as conn:
        series = read_table(conn, MARTS, "send_volume_timeseries")
        scored = champion.predict(mlflow_frame(complete_buckets(series, datetime.now(UTC))))
        rows = anomaly_rows(scored, f"anomaly_{region}", version)
        upsert_anomaly_scores(conn, rows)
    alerts = sum(1 for row in rows if row[4])
    return dg.MaterializeResult(
        metadata={"buckets": len(rows), "alerts": alerts, "model_version": version}
    )


training_job = dg.define_asset_job(
    "train_models",
    selection=dg.AssetSelection.assets(send_time_model, personalization_model, anomaly_model),
)
scoring_job = dg.define_asset_job(
    "score_models", selection=dg.AssetSelection.assets(recipient_send_times, anomaly_scores)
)


@dg.schedule(job=training_job, cron_schedule="0 4 * * 0", execution_timezone="UTC")
def weekly_training(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every Sunday: retrain every model in every region (on demand from the UI as well)."""
    return [dg.RunRequest(partition_key=r) for r in region_partitions.get_partition_keys()]


@dg.schedule(job=scoring_job, cron_schedule="30 4 * * *", execution_timezone="UTC")
def daily_scoring(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every morning: send times for the next day and fresh anomaly scores."""
    return [dg.RunRequest(partition_key=r) for r in region_partitions.get_partition_keys()]


@dg.sensor(minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING)
def anomaly_pause_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SkipReason:
    """Pause every sender with an alert in the last hours (delivery holds its mail)."""
    paused = []
    since = datetime.now(UTC) - ALERT_LOOKBACK
    for region in region_partitions.get_partition_keys():
        with warehouse.connection(region) as conn:
            alerts = conn.execute(
                "SELECT org_id, sending_domain, max(anomaly_score), min(bucket_start) "
                "FROM anomaly_scores WHERE is_alert AND bucket_start >= %s GROUP BY 1, 2",
                (since,),
            ).fetchall()
            for org_id, domain, score, first in alerts:
                details = {"score": score, "first_alert": first.isoformat(), "region": region}
                if pause_sender(
                    conn, org_id, domain, f"anomaly score {score:.2f}", "anomaly_sensor", details
                ):
                    paused.append(f"{region}:{domain}")
    return dg.SkipReason(f"paused {', '.join(paused)}" if paused else "no new alerts")
