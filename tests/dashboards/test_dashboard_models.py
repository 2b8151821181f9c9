"""The Models page on a real MLflow tracking store: the champion and its score, the
challengers with their scores and promotion verdicts, and the links into the MLflow UI are
what the MLflow client says; the region and day filters apply, an unconfigured MLflow is
said plainly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
import pytest
from dashboard_kit import metric, open_page, viewer_of
from mlflow.tracking import MlflowClient

from dashboards.cache import current_sources
from dashboards.queries.models import score_text
from models.tracking import CHAMPION, log_training, promote_if_better
from models.training import TrainingResult
from postwise.settings import Settings, get_settings

UI = "http://mlflow.dashboards.test:5000"
SCORES = (0.61, 0.68, 0.64)  # v1 first champion, v2 beats it, v3 does not


class Constant(mlflow.pyfunc.PythonModel):
    """A stand-in send-time model: the same hour for everyone."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return pd.DataFrame({"best_local_hour": [9] * len(model_input)})


def result(score: float) -> TrainingResult:
    return TrainingResult(
        python_model=Constant(),
        input_example=pd.DataFrame({"prior_opens": [1, 2]}),
        params={"penalizer": 0.1},
        metrics={"holdout_concordance": score, "concordance_cox": score, "n_train": 100.0},
        validation_metric="holdout_concordance",
    )


@pytest.fixture(scope="module")
def registry(mlflow_tracking_uri: tuple[str, Path]) -> MlflowClient:
    """send_time_na with three versions through the champion gate, and anomaly_apac with
    one version that never went through it (no champion)."""
    uri, artifacts = mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri)
    with pytest.MonkeyPatch.context() as patch:
        # log_training sets MLFLOW_TRACKING_URI for the whole process: undone afterwards,
        # so only the tests that configure MLflow see it.
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for score in SCORES:
            run_id, version = log_training(
                result(score), tracking_uri=uri, model="send_time", region="na",
                artifact_root=artifacts,
            )  # fmt: skip
            promote_if_better(client, "send_time_na", version, run_id)
        log_training(
            result(0.5), tracking_uri=uri, model="anomaly", region="apac", artifact_root=artifacts
        )
    return client


@pytest.fixture
def mlflow_app(
    marts_history: Any, app_settings: Settings, mlflow_tracking_uri: tuple[str, Path]
) -> Iterator[Settings]:
    """The app on the run's marts history, pointed at the run's tracking store, its links at an
    MLflow UI address."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_tracking_uri[0])
        patch.setenv("MLFLOW_UI_URL", UI)
        get_settings.cache_clear()
        current_sources()
        yield get_settings()
    get_settings.cache_clear()


def today() -> tuple[date, date]:
    now = datetime.now(UTC).date()
    return now - timedelta(days=1), now


def table(at: Any, column: str) -> pd.DataFrame:
    """The first table on the page with ``column``."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with {column!r}"
    return frames[0]


def test_champion_challengers_and_links_are_what_mlflow_says(
    registry: MlflowClient, mlflow_app: Settings
) -> None:
    at = open_page("models", viewer_of(uuid.uuid4()), days=today())
    assert not at.exception, at.exception
    champion = registry.get_model_version_by_alias("send_time_na", CHAMPION)
    assert str(champion.version) == "2"
    assert metric(at, "send_time_na champion") == f"v{champion.version}"
    assert metric(at, "send_time_na holdout_concordance") == score_text(
        float(champion.tags["validation_score"])
    )
    assert metric(at, "anomaly_apac champion") == "–"
    assert [t.label for t in at.tabs] == ["send_time", "anomaly"]

    run = registry.get_run(champion.run_id)
    champion_run = f"{UI}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    links = " ".join(m.value for m in at.markdown)
    assert f"({UI}/#/models/send_time_na/versions/2)" in links
    assert f"({champion_run})" in links
    assert f"({UI}/#/experiments/{run.info.experiment_id})" in links

    shown = table(at, "promoted")
    shown = shown[shown["name"] == "send_time_na"].set_index("version")
    assert sorted(shown.index) == [1, 3]
    for version in ("1", "3"):
        expected = registry.get_model_version("send_time_na", version)
        its_run = registry.get_run(expected.run_id)
        row = shown.loc[int(version)]
        assert row["validation_score"] == float(expected.tags["validation_score"])
        assert row["promoted"] == (its_run.data.tags["postwise.promoted"] == "True")
        assert row["version_url"] == f"{UI}/#/models/send_time_na/versions/{version}"
        assert row["run_url"] == (
            f"{UI}/#/experiments/{its_run.info.experiment_id}/runs/{expected.run_id}"
        )
    assert list(shown["promoted"]) == [True, False]

    runs = table(at, "concordance_cox")
    runs = runs[runs["region"] == "na"]
    assert sorted(runs["holdout_concordance"]) == sorted(SCORES)
    assert sorted(runs["version"]) == ["1", "2", "3"]


def test_regions_and_days_filter_the_registry(registry: MlflowClient, mlflow_app: Settings) -> None:
    at = open_page("models", viewer_of(uuid.uuid4()), days=today(), regions=["na"])
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "send_time_na champion" in labels and "anomaly_apac champion" not in labels

    # Days long past: the champion still shows (it serves now); no challenger was made then.
    at = open_page("models", viewer_of(uuid.uuid4()), days=(date(2026, 4, 1), date(2026, 4, 30)))
    assert not at.exception, at.exception
    assert metric(at, "send_time_na champion") == "v2"
    assert "No challengers for these filters." in [i.value for i in at.info]
    assert not [d for d in at.dataframe if "promoted" in d.value.columns]


def test_without_mlflow_the_page_says_so(marts_history: Any, app_settings: Settings) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        at = open_page("models", viewer_of(uuid.uuid4()))
    assert not at.exception, at.exception
    assert any("MLflow is not configured" in i.value for i in at.info)
    assert not at.error
    get_settings.cache_clear()
