"""MLflow round trip on a real tracking store: log, register, gate, alias, load, predict."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from models.tracking import (
    CHAMPION,
    NoChampion,
    Promotion,
    load_champion,
    log_training,
    promote_if_better,
    registered_name,
)
from models.training import TrainingResult


class Doubler(mlflow.pyfunc.PythonModel):
    """A stand-in model: y = factor * x."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        return pd.DataFrame({"y": model_input["x"] * self.factor})


def result(factor: float, score: float) -> TrainingResult:
    return TrainingResult(
        python_model=Doubler(factor),
        input_example=pd.DataFrame({"x": [1.0, 2.0]}),
        params={"factor": factor, "nested": {"depth": 2}},
        metrics={"validation_auc": score},
        validation_metric="validation_auc",
        tags={"purpose": "test"},
    )


def test_a_model_is_logged_registered_promoted_loaded_and_gated(
    mlflow_tracking_uri: tuple[str, Path],
) -> None:
    uri, artifacts = mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri)
    name = registered_name("doubler", "eu")
    with pytest.raises(NoChampion):
        load_champion(uri, "doubler", "eu")

    run_id, first = log_training(
        result(2.0, 0.70), tracking_uri=uri, model="doubler", region="eu", artifact_root=artifacts
    )
    decision = promote_if_better(client, name, first)
    assert decision.promoted and decision.champion_version is None
    run = client.get_run(run_id)
    assert run.data.params["factor"] == "2.0" and run.data.params["nested.depth"] == "2"
    assert run.data.metrics["validation_auc"] == 0.70
    assert run.data.tags["postwise.region"] == "eu"
    assert client.get_model_version(name, first).run_id == run_id

    loaded = load_champion(uri, "doubler", "eu")
    assert loaded.predict(pd.DataFrame({"x": [3.0]}))["y"].tolist() == [6.0]
    assert loaded.metadata.signature is not None

    _, worse = log_training(
        result(3.0, 0.60), tracking_uri=uri, model="doubler", region="eu", artifact_root=artifacts
    )
    refused = promote_if_better(client, name, worse)
    assert not refused.promoted
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == first
    worse_run = client.get_run(client.get_model_version(name, worse).run_id)
    assert worse_run.data.metrics["champion_score"] == 0.70
    assert "kept the champion" in worse_run.data.tags["postwise.promotion"]

    _, better = log_training(
        result(4.0, 0.80), tracking_uri=uri, model="doubler", region="eu", artifact_root=artifacts
    )
    assert promote_if_better(client, name, better).promoted
    assert load_champion(uri, "doubler", "eu").predict(pd.DataFrame({"x": [1.0]}))["y"][0] == 4.0


def test_each_region_has_its_own_registered_model(mlflow_tracking_uri: tuple[str, Path]) -> None:
    uri, artifacts = mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri)
    for region, factor in (("na", 5.0), ("apac", 7.0)):
        _, version = log_training(
            result(factor, 0.5),
            tracking_uri=uri,
            model="scaler",
            region=region,
            artifact_root=artifacts,
        )
        promote_if_better(client, registered_name("scaler", region), version)
    assert load_champion(uri, "scaler", "na").predict(pd.DataFrame({"x": [1.0]}))["y"][0] == 5.0
    assert load_champion(uri, "scaler", "apac").predict(pd.DataFrame({"x": [1.0]}))["y"][0] == 7.0


def test_input_examples_keep_no_recipient_identifiers(
    mlflow_tracking_uri: tuple[str, Path],
) -> None:
    uri, artifacts = mlflow_tracking_uri
    real_ids = [str(uuid.uuid4()) for _ in range(2)]
    training = TrainingResult(
        python_model=Doubler(2.0),
        input_example=pd.DataFrame({"contact_id": real_ids, "x": [1.0, 2.0]}),
        params={},
        metrics={"validation_auc": 0.5},
        validation_metric="validation_auc",
    )
    log_training(
        training, tracking_uri=uri, model="identities", region="eu", artifact_root=artifacts
    )
    logged = " ".join(
        path.read_text(errors="replace")
        for path in artifacts.rglob("*")
        if path.is_file() and path.stat().st_size < 1_000_000
    )
    assert not any(real in logged for real in real_ids)
    assert "00000000-0000-0000-0000-000000000001" in logged


def test_a_decision_shows_the_digits_that_tell_the_scores_apart() -> None:
    close = Promotion("personalization_na", "3", "dr_policy_value", 0.026912, "2", 0.026908, True)
    assert close.describe() == (
        "personalization_na v3: dr_policy_value 0.026912 vs champion v2 0.026908 -> promoted"
    )
    tie = Promotion("send_time_eu", "4", "holdout_concordance", 0.8, "3", 0.8, False)
    assert tie.describe().endswith("0.8000 vs champion v3 0.8000 -> kept the champion")
