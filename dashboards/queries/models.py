"""Models: the registry's champions and challengers per model and region, each version's
validation score over time, the training runs' main metrics, and links into the MLflow UI.

Read from MLflow's tracking server and model registry (``Sources.mlflow_tracking_uri``),
never from the warehouse. Registered models are named ``<model>_<region>``
(``send_time_na``): each region trains its own variant from its own cell's data, of every
organization together. A model is an aggregate and carries no organization's personal
data, so every organization's viewers see the same registry, filtered by region; the
organization and campaign filters do not apply to it.

The champion is the version with the ``champion`` alias (what serving and scoring load);
every other version is a challenger. Versions carry the tags ``validation_metric``,
``validation_score`` and ``higher_is_better``; runs carry metrics and the tags
``postwise.model``, ``postwise.region`` and ``postwise.promoted`` (the champion gate's
verdict when the version was trained).

RegistryError
 └── NotConfigured   no MLFLOW_TRACKING_URI: there is no registry to read
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from ..scope import Scope
from ..sources import Sources

MODELS = ("send_time", "personalization", "anomaly")  # the page's order; others follow
CHAMPION = "champion"  # the alias models.tracking promotes with
# The metrics worth a column per model (the validation metric comes first whatever it is).
MAIN_METRICS = {
    "send_time": ("concordance_cox", "concordance_aft", "holdout_open_rate", "n_train"),
    "personalization": ("dr_lift_vs_logged", "prob_best", "expected_loss", "n_exposures"),
    "anomaly": (
        "validation_precision", "validation_recall", "validation_false_alarm_rate",
        "validation_mean_delay",
    ),
}  # fmt: skip
COMMON_METRICS = ("training_seconds",)
VERSION_COLUMNS = [
    "model", "region", "name", "version", "created_at", "champion", "promoted",
    "validation_metric", "validation_score", "higher_is_better", "run_id", "experiment_id",
    "model_url", "version_url", "run_url", "experiment_url",
]  # fmt: skip
CHALLENGER_COLUMNS = [
    "name", "version", "created_at", "validation_metric", "validation_score", "promoted",
    "version_url", "run_url",
]  # fmt: skip
RUN_COLUMNS = [
    "model", "region", "name", "run_id", "run_name", "experiment_id", "started_at",
    "version", "promoted", "metric", "value", "run_url",
]  # fmt: skip


class RegistryError(RuntimeError):
    """MLflow's tracking server or registry cannot be read."""


class NotConfigured(RegistryError):
    """No tracking URI is configured."""

    def __init__(self) -> None:
        super().__init__("MLflow is not configured: set MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class Registry:
    """What the registry holds for some regions: ``versions`` (``VERSION_COLUMNS``, one row
    per model version) and ``runs`` (``RUN_COLUMNS``, one row per run and metric)."""

    versions: pd.DataFrame
    runs: pd.DataFrame


def split_name(name: str, regions: Sequence[str]) -> tuple[str, str] | None:
    """(model, region) of a registered name ``<model>_<region>`` with a region of
    ``regions``; None for names of other regions or of no region."""
    model, _, region = name.rpartition("_")
    return (model, region) if model and region in regions else None


def model_url(ui: str, name: str) -> str:
    return f"{ui}/#/models/{quote(name, safe='')}"


def version_url(ui: str, name: str, version: str) -> str:
    return f"{model_url(ui, name)}/versions/{quote(str(version), safe='')}"


def experiment_url(ui: str, experiment_id: str) -> str:
    return f"{ui}/#/experiments/{quote(str(experiment_id), safe='')}"


def run_url(ui: str, experiment_id: str, run_id: str) -> str:
    return f"{experiment_url(ui, experiment_id)}/runs/{quote(run_id, safe='')}"


def registry(sources: Sources, regions: tuple[str, ...]) -> Registry:
    """Every version and run of the registered models of ``regions``."""
    if sources.mlflow_tracking_uri is None:
        raise NotConfigured()
    client = MlflowClient(tracking_uri=sources.mlflow_tracking_uri)
    try:
        return _read(client, sources.mlflow_ui_url, regions)
    except (MlflowException, SQLAlchemyError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RegistryError(f"cannot read the MLflow registry: {reason}") from exc


def _read(client: MlflowClient, ui: str, regions: Sequence[str]) -> Registry:
    named: dict[str, tuple[tuple[str, str], str | None]] = {
        m.name: (parts, m.aliases.get(CHAMPION))
        for m in _every(client.search_registered_models)
        if (parts := split_name(m.name, regions)) is not None
    }
    versions = [
        (parts, champion, v)
        for name, (parts, champion) in named.items()
        for v in _every(client.search_model_versions, filter_string=f"name = '{name}'")
    ]
    runs = _runs(client, named, {v.run_id for _, _, v in versions if v.run_id})
    version_of = {v.run_id: str(v.version) for _, _, v in versions if v.run_id}
    rows = []
    for (model, region), champion, v in versions:
        run = runs.get(v.run_id)
        experiment = run.info.experiment_id if run else None
        rows.append(
            {
                "model": model,
                "region": region,
                "name": v.name,
                "version": int(v.version),
                "created_at": _time(v.creation_timestamp),
                "champion": str(v.version) == str(champion),
                "promoted": _promoted(run),
                "validation_metric": v.tags.get("validation_metric", ""),
                "validation_score": _number(v.tags.get("validation_score")),
                "higher_is_better": v.tags.get("higher_is_better", "True") == "True",
                "run_id": v.run_id,
                "experiment_id": experiment,
                "model_url": model_url(ui, v.name),
                "version_url": version_url(ui, v.name, v.version),
                "run_url": run_url(ui, experiment, v.run_id) if experiment else None,
                "experiment_url": experiment_url(ui, experiment) if experiment else None,
            }
        )
    frame = pd.DataFrame(rows, columns=VERSION_COLUMNS)
    frame = frame.sort_values(["model", "region", "version"], ignore_index=True)
    return Registry(frame, _metric_rows(runs, named, version_of, ui))


def _runs(client: MlflowClient, named: dict[str, Any], version_runs: set[str]) -> dict[str, Any]:
    """Runs of the experiments named after the registered models (where models.tracking
    logs them), and the runs of versions logged elsewhere, by run id."""
    experiments = [client.get_experiment_by_name(name) for name in named]
    ids = [e.experiment_id for e in experiments if e is not None]
    found = {
        run.info.run_id: run
        for run in (_every(client.search_runs, experiment_ids=ids) if ids else [])
    }
    for run_id in sorted(version_runs - set(found)):
        try:
            found[run_id] = client.get_run(run_id)
        except MlflowException:
            continue  # the run was deleted; its version still shows, without a run link
    return found


def _metric_rows(
    runs: dict[str, Any], named: dict[str, Any], version_of: dict[str, str], ui: str
) -> pd.DataFrame:
    rows = []
    for run in runs.values():
        tags = run.data.tags
        name = f"{tags.get('postwise.model')}_{tags.get('postwise.region')}"
        if name not in named:
            continue  # a run of another model logged in the same experiment
        (model, region), _ = named[name]
        base = {
            "model": model,
            "region": region,
            "name": name,
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "experiment_id": run.info.experiment_id,
            "started_at": _time(run.info.start_time),
            "version": version_of.get(run.info.run_id),
            "promoted": _promoted(run),
            "run_url": run_url(ui, run.info.experiment_id, run.info.run_id),
        }
        for metric, value in run.data.metrics.items():
            rows.append({**base, "metric": metric, "value": float(value)})
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def ordered_models(frame: pd.DataFrame) -> list[str]:
    """The models of ``frame``: the known ones in ``MODELS`` order, then the others."""
    present = set(frame["model"])
    return [m for m in MODELS if m in present] + sorted(present - set(MODELS))


def created_within(frame: pd.DataFrame, column: str, scope: Scope) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` (a UTC time) falls in the scope's days."""
    times = pd.to_datetime(frame[column], utc=True)
    inside = (times >= pd.Timestamp(scope.since)) & (times < pd.Timestamp(scope.until))
    return frame.loc[inside.to_numpy()].reset_index(drop=True)


def usual_metric(versions: pd.DataFrame) -> str:
    """The validation metric most of ``versions`` were judged on ("" when none says)."""
    named = versions["validation_metric"][versions["validation_metric"] != ""]
    return str(named.mode().iloc[0]) if not named.empty else ""


def score_text(score: float | None) -> str:
    """A validation score as the page shows it."""
    return "–" if score is None or math.isnan(score) else f"{score:.4f}"


def main_metrics(runs: pd.DataFrame, model: str, validation_metric: str = "") -> pd.DataFrame:
    """One row per run of ``model`` (newest first) with its main metrics as columns."""
    wanted = [validation_metric] if validation_metric else []
    wanted += [*MAIN_METRICS.get(model, ()), *COMMON_METRICS]
    rows = runs[runs["model"] == model]
    keys = ["region", "started_at", "version", "promoted", "run_name", "run_url"]
    if rows.empty:
        return pd.DataFrame(columns=keys)
    values = rows.pivot(index="run_id", columns="metric", values="value")
    present = [m for m in dict.fromkeys(wanted) if m in values.columns]
    described = rows.drop_duplicates("run_id").set_index("run_id")[keys]
    wide = described.join(values[present]).reset_index(drop=True)
    return wide.sort_values("started_at", ascending=False, ignore_index=True)


def _every(search: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Every page of an MLflow search."""
    items: list[Any] = []
    token = None
    while True:
        page = search(page_token=token, **kwargs)
        items.extend(page)
        token = page.token
        if not token:
            return items


def _promoted(run: Any) -> bool | None:
    value = run.data.tags.get("postwise.promoted") if run is not None else None
    return None if value is None else value == "True"


def _number(text: str | None) -> float:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return math.nan
    return value


def _time(milliseconds: int | None) -> datetime | None:
    return None if milliseconds is None else datetime.fromtimestamp(milliseconds / 1000, UTC)
