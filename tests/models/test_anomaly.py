"""The anomaly model: streaming, calibrated scores that catch planted incidents.

Small synthetic series only (a few weeks of hours); every model trains in seconds.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.anomaly import AnomalyModel, InputError, sender_features, train
from models.anomaly.__main__ import main
from models.anomaly.benchmark import run
from models.anomaly.config import make_config
from models.anomaly.evaluation import evaluate_alerts
from models.anomaly.features import numeric_frame
from models.anomaly.synthetic import Incident, inject, sender_history
from models.training import TrainingResult

REPO = Path(__file__).resolve().parents[2]
WARMUP = 24 * 21


def _sine_frame(rows: int, *, columns: int = 2, seed: int = 0) -> pd.DataFrame:
    """Hourly series with a daily rhythm and noise, timestamp as the first column."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    data = {"timestamp": pd.date_range("2026-03-02", periods=rows, freq="h")}
    for j in range(columns):
        data[f"x{j}"] = 10 + 3 * np.sin(2 * np.pi * (t + 5 * j) / 24) + rng.normal(0, 0.5, rows)
    return pd.DataFrame(data)


def _fit(frame: pd.DataFrame, warmup: int, **options: object) -> AnomalyModel:
    series = numeric_frame(frame)
    return AnomalyModel.fit([series], make_config([series], "raw", warmup_steps=warmup, **options))


@pytest.fixture(scope="module")
def bounce_case() -> tuple[pd.DataFrame, Incident]:
    """Five weeks of one sender's hours, a bought list bouncing for 12 hours in week four."""
    history = sender_history(24 * 35, seed=11)
    incident = Incident("bounce_spike", WARMUP + 100, WARMUP + 112)
    return inject(history, incident, seed=5), incident


@pytest.fixture(scope="module")
def sender_model(bounce_case: tuple[pd.DataFrame, Incident]) -> AnomalyModel:
    features = sender_features(bounce_case[0])
    config = make_config([features], "sender", warmup_steps=WARMUP, epochs=30)
    return AnomalyModel.fit([features], config)


@pytest.fixture(scope="module")
def sine_model() -> AnomalyModel:
    return _fit(_sine_frame(600), 300, epochs=10)


def test_scores_lie_in_zero_one_and_the_warm_up_only_learns(sine_model: AnomalyModel) -> None:
    scores = sine_model.score(_sine_frame(600))["anomaly_score"].to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (scores[:300] == 0).all()
    assert scores[300:].max() > 0
    assert sine_model.threshold == pytest.approx(1 - sine_model.config.false_alarm_rate)


def test_the_scores_of_a_prefix_are_the_first_scores_of_the_whole_series(
    sine_model: AnomalyModel,
) -> None:
    series = numeric_frame(_sine_frame(600))
    series.iloc[450:455, 0] += 6  # an incident in the middle changes nothing before it
    full = sine_model.scorer().score_frame(series)["anomaly_score"].to_numpy()
    prefix = sine_model.scorer().score_frame(series.iloc[:431])["anomaly_score"].to_numpy()
    np.testing.assert_array_equal(prefix, full[:431])
    # Row by row gives the very same numbers as whole frames.
    scorer = sine_model.scorer()
    rows = zip(series.index[:340], series.to_numpy()[:340], strict=True)
    one_by_one = [scorer.update(t, row) for t, row in rows]
    np.testing.assert_array_equal(one_by_one, full[:340])


def test_a_univariate_series_gets_its_spike_alerted_and_little_else() -> None:
    frame = _sine_frame(600, columns=1, seed=3)
    frame.loc[500:502, "x0"] += 8
    scored = _fit(frame, 300, epochs=10).score(frame)
    alerts = scored["is_alert"].to_numpy()
    assert alerts[500:503].any()
    assert alerts[300:].sum() - alerts[500:506].sum() <= 3


def test_a_planted_bounce_spike_is_alerted_within_a_few_steps_and_clean_weeks_stay_quiet(
    bounce_case: tuple[pd.DataFrame, Incident], sender_model: AnomalyModel
) -> None:
    history, incident = bounce_case
    scored = sender_model.score(history.reset_index())
    alerts = scored["is_alert"].to_numpy()
    counts = evaluate_alerts(alerts, [incident], start=WARMUP)
    assert counts.detected == 1
    assert counts.delays[0] <= 3
    assert counts.false_positives <= 2
    assert counts.false_alarm_rate < 0.01


def test_the_lstm_beats_the_rolling_z_score_and_the_ewma_chart_on_event_f1() -> None:
    # Four histories with one incident of each kind; baselines tuned on two others.
    result = run(range(4), validation_seeds=(1000, 1001))
    by_name = {r["metric"]: r for r in result["results"]}
    for baseline in ("rolling_zscore", "ewma"):
        comparison = by_name[f"event_f1_vs_{baseline}"]
        assert comparison["meets_target"], comparison
    lstm = result["detectors"]["lstm"]
    assert lstm["recall"] >= 0.75
    # Training stays far below the acceptance limit of five minutes.
    assert by_name["training_seconds_max"]["value"] < 300


def test_train_returns_a_logged_ready_result_with_validation_metrics(
    bounce_case: tuple[pd.DataFrame, Incident],
) -> None:
    mart = bounce_case[0].reset_index()
    mart.insert(0, "org_id", "00000000-0000-0000-0000-000000000001")
    mart.insert(1, "sending_domain", "mail.example.com")
    result = train(mart, warmup_steps=WARMUP, epochs=10, seed=1)
    assert isinstance(result, TrainingResult)
    assert result.validation_metric == "validation_f1"
    assert 0 <= result.score <= 1
    assert 0 <= result.metrics["validation_false_alarm_rate"] <= 1
    assert result.tags["features"] == "sender"
    predictions = result.python_model.predict(None, result.input_example)
    assert list(predictions.columns) == [
        "org_id",
        "sending_domain",
        "timestamp",
        "anomaly_score",
        "is_alert",
        "threshold",
    ]
    assert (predictions["threshold"] == result.python_model.model.threshold).all()
    # The wrapper pickles numbers and config, not torch modules.
    blob = pickle.dumps(result.python_model)
    assert b"Forecaster" not in blob
    restored = pickle.loads(blob)
    again = restored.predict(None, mart)
    assert again["anomaly_score"].between(0, 1).all()
    assert again["is_alert"].iloc[WARMUP + 100 : WARMUP + 106].any()


def test_the_cli_scores_a_csv_written_to_disk(tmp_path: Path) -> None:
    frame = _sine_frame(240, columns=2, seed=4)
    frame.loc[200:201, "x1"] -= 9
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "models.anomaly", "score", "--input", str(source)]
        + ["--output", str(target), "--epochs", "8"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(target)
    assert list(out.columns) == ["timestamp", "anomaly_score"]
    assert out["timestamp"].tolist() == frame["timestamp"].tolist()
    assert out["anomaly_score"].between(0, 1).all()
    scored = out["anomaly_score"].iloc[120:]
    assert scored.loc[200:201].max() > scored.drop(index=[200, 201, 202, 203]).quantile(0.99)
    assert "alert steps" in done.stdout


def test_the_cli_refuses_a_missing_file_with_a_message_and_status_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "models.anomaly", "score"]
        + ["--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "input file not found" in done.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.assign(x1=["high"] * len(f)), "non-numeric columns: x1"),
        (lambda f: f.assign(timestamp=["soon"] * len(f)), "does not hold timestamps"),
        (lambda f: f.head(30), "too few rows"),
        (lambda f: f[["timestamp"]], "at least one numeric column"),
    ],
    ids=["non-numeric", "bad-timestamps", "too-few-rows", "no-numbers"],
)
def test_the_cli_explains_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: object, message: str
) -> None:
    source = tmp_path / "in.csv"
    edit(_sine_frame(200)).to_csv(source, index=False)  # type: ignore[operator]
    status = main(["score", "--input", str(source), "--output", str(tmp_path / "o.csv")])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_sender_features_use_only_the_past() -> None:
    history = sender_history(24 * 10, seed=2)
    full = sender_features(history)
    prefix = sender_features(history.iloc[:150])
    pd.testing.assert_frame_equal(prefix, full.iloc[:150])


def test_a_sender_frame_without_its_counts_is_refused() -> None:
    with pytest.raises(InputError, match="lacks columns"):
        sender_features(sender_history(48, seed=0).drop(columns=["bounces"]))


def test_alerts_count_one_false_positive_per_run_and_a_delay_per_incident() -> None:
    alerts = np.zeros(100, dtype=bool)
    alerts[[12, 13, 14]] = True  # one run outside any incident
    alerts[42] = True  # incident at 40: detected two steps late
    alerts[80:83] = True  # outside again
    counts = evaluate_alerts(alerts, [Incident("bounce_spike", 40, 50)], start=10, grace=2)
    assert (counts.detected, counts.false_positives, counts.delays) == (1, 2, [2])
    assert counts.precision == pytest.approx(1 / 3)
    assert counts.recall == 1.0
