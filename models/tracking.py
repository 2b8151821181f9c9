"""MLflow glue, in one place: one run per training call, registration, and the champion gate.

Registered models are named per model and region (``send_time_eu``): every region trains
its own variant from its own cell's data. A new version gets the ``champion`` alias only
when it beats the current champion on the model's validation metric; the comparison is
logged on the challenger's run either way. Serving and scoring load
``models:/<name>@champion``.

TrackingError
 └── NoChampion   a registered model has no version with the champion alias yet
"""

from __future__ import annotations

import logging
import math
import uuid
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from .training import TrainingResult

log = logging.getLogger(__name__)

CHAMPION = "champion"
# What a loaded model needs at serving time, pinned to what trained it.
_RUNTIME_PACKAGES = ("mlflow", "pandas", "numpy", "scikit-learn", "lifelines", "torch")


class TrackingError(RuntimeError):
    """Logging, registering or loading a model failed."""


class NoChampion(TrackingError):
    """``name`` has no version aliased ``champion`` yet."""

    def __init__(self, name: str) -> None:
        super().__init__(f"registered model {name!r} has no @{CHAMPION} version")
        self.name = name


@dataclass(frozen=True)
class Promotion:
    """The outcome of the champion gate for one new version."""

    name: str
    version: str
    metric: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    promoted: bool

    def describe(self) -> str:
        if self.champion_version is None:
            return f"{self.name} v{self.version}: first version, promoted to @{CHAMPION}"
        verdict = "promoted" if self.promoted else "kept the champion"
        challenger, champion = _distinct(self.challenger_score, self.champion_score)
        return (
            f"{self.name} v{self.version}: {self.metric} {challenger} vs "
            f"champion v{self.champion_version} {champion} -> {verdict}"
        )


def _distinct(a: float, b: float | None, digits: int = 4) -> tuple[str, str]:
    """``a`` and ``b`` with four decimals, or as many more as it takes to tell them apart
    (a challenger promoted on a difference in the sixth decimal must not read as a tie)."""
    if b is None:
        return f"{a:.{digits}f}", "none"
    while digits < 12 and a != b and f"{a:.{digits}f}" == f"{b:.{digits}f}":
        digits += 1
    return f"{a:.{digits}f}", f"{b:.{digits}f}"


def registered_name(model: str, region: str) -> str:
    """The registry name of ``model`` trained in ``region`` (e.g. ``send_time_eu``)."""
    return f"{model}_{region}"


def champion_uri(model: str, region: str) -> str:
    return f"models:/{registered_name(model, region)}@{CHAMPION}"


def ensure_experiment(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    """The id of experiment ``name``, created with artifacts under ``artifact_root``."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = (artifact_root / name).resolve().as_uri() if artifact_root else None
    return str(client.create_experiment(name, artifact_location=location))


def log_training(
    result: TrainingResult,
    *,
    tracking_uri: str,
    model: str,
    region: str,
    artifact_root: Path | None = None,
    run_name: str | None = None,
) -> tuple[str, str]:
    """Log ``result`` as one MLflow run and register it; returns (run id, model version)."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    name = registered_name(model, region)
    experiment_id = ensure_experiment(client, name, artifact_root)
    example = mlflow_frame(without_identities(result.input_example))
    output = result.python_model.predict(None, example)
    with warnings.catch_warnings():
        # Counts are integers in the marts and stay so at scoring time: MLflow's hint about
        # missing values in integer columns does not apply.
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
        signature = infer_signature(example, output)
    tags = {"postwise.model": model, "postwise.region": region, **result.tags}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        mlflow.log_params(_flat(result.params))
        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items() if _finite(v)})
        mlflow.set_tag("postwise.validation_metric", result.validation_metric)
        for artifact in result.artifacts.values():
            mlflow.log_artifact(artifact)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=result.python_model,
            input_example=example,
            signature=signature,
            registered_model_name=name,
            pip_requirements=_pinned_requirements(),
        )
    version = str(info.registered_model_version)
    client.set_model_version_tag(name, version, "validation_metric", result.validation_metric)
    client.set_model_version_tag(name, version, "validation_score", str(result.score))
    client.set_model_version_tag(name, version, "higher_is_better", str(result.higher_is_better))
    return run.info.run_id, version


def promote_if_better(
    client: MlflowClient, name: str, version: str, run_id: str | None = None
) -> Promotion:
    """Give ``version`` the champion alias if it beats the current champion.

    Scores come from the versions' own tags (validation metric, score, direction), so
    versions trained by different code compare on what each recorded. The decision is
    logged on the challenger's run (metric ``champion_score``, tag ``postwise.promotion``).
    """
    challenger = client.get_model_version(name, version)
    metric = challenger.tags["validation_metric"]
    score = float(challenger.tags["validation_score"])
    higher_is_better = challenger.tags.get("higher_is_better", "True") == "True"
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champion = None
    champion_score = float(champion.tags["validation_score"]) if champion else None
    promoted = champion is None or (
        score > champion_score if higher_is_better else score < champion_score  # type: ignore[operator]
    )
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    decision = Promotion(
        name,
        version,
        metric,
        score,
        str(champion.version) if champion else None,
        champion_score,
        promoted,
    )
    run_id = run_id or challenger.run_id
    if run_id:
        client.set_tag(run_id, "postwise.promotion", decision.describe())
        client.set_tag(run_id, "postwise.promoted", str(promoted))
        if champion_score is not None:
            client.log_metric(run_id, "champion_score", champion_score)
    log.info("%s", decision.describe())
    return decision


IDENTITY_COLUMNS = ("contact_id",)


def without_identities(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with recipient identifiers replaced by placeholders: an input example is
    kept in MLflow for good, where an erasure cannot reach it."""
    out = frame.copy()
    for column in IDENTITY_COLUMNS:
        if column in out.columns:
            out[column] = [str(uuid.UUID(int=position + 1)) for position in range(len(out))]
    return out


def mlflow_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in types an MLflow schema holds: identifiers (UUIDs) as text and
    timezone-aware times as naive UTC (Postwise's models read naive times as UTC). Input
    examples are logged this way, and scoring passes the marts' rows through it."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif values.dtype == object and values.map(lambda v: isinstance(v, uuid.UUID)).any():
            out[column] = values.map(lambda v: str(v) if isinstance(v, uuid.UUID) else v)
    return out


def load_champion(tracking_uri: str, model: str, region: str) -> Any:
    """The champion of ``model`` in ``region`` as a pyfunc model."""
    mlflow.set_tracking_uri(tracking_uri)
    uri = champion_uri(model, region)
    try:
        return mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        if "alias" in str(exc).lower() or "not found" in str(exc).lower():
            raise NoChampion(registered_name(model, region)) from exc
        raise TrackingError(f"cannot load {uri}: {exc}") from exc


def champion_version(client: MlflowClient, model: str, region: str) -> str | None:
    """The version number holding the champion alias, if any."""
    try:
        return str(
            client.get_model_version_by_alias(registered_name(model, region), CHAMPION).version
        )
    except MlflowException:
        return None


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)[:500]
    return flat


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _pinned_requirements() -> list[str]:
    pins = []
    for package in _RUNTIME_PACKAGES:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pins
