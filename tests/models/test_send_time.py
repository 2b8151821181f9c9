"""Send-time optimisation: features as of the send, censoring, lifelines equivalence of the
vectorised scoring, the planted 20:00 signal, fallback, the pyfunc wrapper, and the model's
hours against the simulator's ground truth on recipients it was not trained on."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cloudpickle
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from models.send_time import (
    MIN_PRIOR_OPENS,
    SendTimeModel,
    best_fixed_local_hour,
    best_fixed_utc_hour,
    design_matrix,
    evaluate_send_times,
    evaluation_recipients,
    fit_feature_spec,
    fit_model,
    prepare_training_rows,
    score,
    time_split,
    train,
    true_slot_probabilities,
)
from models.send_time.features import HOURS, HOURS_PER_WEEK, expand_candidates
from models.send_time.habits import fit_hour_habits
from models.send_time.model import concordance
from models.send_time.recipients import local_day_slots, population_histogram, scoring_state
from models.send_time.scoring import model_probabilities
from models.training import TrainingResult
from simulator.ground_truth import fresh_open_probability_24h
from warehouse.db import Cells

log = logging.getLogger(__name__)

# Columns that describe the message's own outcome or anything after its send.
OUTCOME_COLUMNS = [
    "message_id",
    "sent_at",
    "delivered_at",
    "first_human_open_at",
    "hours_to_first_open",
    "opened",
    "duration_hours",
]
# What the design matrix may read: the send's own slot and the state before it.
AS_OF_SEND_COLUMNS = [
    "campaign_type",
    "local_send_hour",
    "local_send_weekday",
    "prior_delivered",
    "prior_opens",
    "hours_since_last_prior_open",
    "prior_open_hour_histogram",
    "prior_device",
    "mailbox_provider",
]


# ---------------------------------------------------------------------------------------
# The marts of the shared simulated history, split by contact into training and evaluation.


@dataclass(frozen=True)
class SendTimeMarts:
    training: pd.DataFrame  # marts.send_time_training, with a ``region`` column
    features: pd.DataFrame  # marts.recipient_engagement_features, with ``region``
    evaluation_ids: frozenset[Any]  # contacts held out of training (about 30%)

    def training_rows(self) -> pd.DataFrame:
        held_out = self.training["contact_id"].isin(self.evaluation_ids)
        return self.training.loc[~held_out].drop(columns=["region"])


def _read(conn: Any, sql: str, params: tuple[Any, ...]) -> pd.DataFrame:
    cursor = conn.execute(sql, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


@pytest.fixture(scope="module")
def send_time_marts(marts_history: Any, cells: Cells) -> SendTimeMarts:
    org_id = marts_history.result.org_id
    trainings, features = [], []
    for region in cells.regions:
        with cells.connection(region) as conn:
            f = _read(
                conn,
                "select * from marts.recipient_engagement_features where org_id = %s",
                (org_id,),
            )
            t = _read(
                conn,
                "select t.* from marts.send_time_training t"
                " join marts.recipient_engagement_features f using (contact_id)"
                " where f.org_id = %s",
                (org_id,),
            )
        features.append(f.assign(region=region))
        trainings.append(t.assign(region=region))
    feature_frame = pd.concat(features, ignore_index=True)
    held_out = frozenset(
        c
        for c in feature_frame["contact_id"]
        if int(hashlib.sha1(str(c).encode()).hexdigest(), 16) % 10 < 3
    )
    return SendTimeMarts(pd.concat(trainings, ignore_index=True), feature_frame, held_out)


@pytest.fixture(scope="module")
def send_time_result(send_time_marts: SendTimeMarts) -> TrainingResult:
    """The model trained on the training contacts of every cell (one cell alone is small)."""
    return train(send_time_marts.training_rows())


@pytest.fixture(scope="module")
def send_time_model(send_time_result: TrainingResult) -> SendTimeModel:
    return send_time_result.python_model.model


@pytest.fixture(scope="module")
def send_time_split(send_time_marts: SendTimeMarts) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = prepare_training_rows(send_time_marts.training.drop(columns=["region"]))
    return time_split(rows, 0.2)


# ---------------------------------------------------------------------------------------
# Synthetic recipients for scoring: planted open-hour patterns in the scoring mart's form.


def synthetic_features(
    model: SendTimeModel,
    opens_by_local_hour: list[dict[int, int]],
    time_zones: list[str],
    *,
    as_of: datetime = datetime(2026, 5, 1, tzinfo=UTC),
) -> pd.DataFrame:
    """Rows like marts.recipient_engagement_features: each recipient's opens at the given
    local hours, spread over the weekdays, smoothed toward the population like dbt does."""
    k = model.prior_strength
    rows = []
    for i, (opens, zone_name) in enumerate(zip(opens_by_local_hour, time_zones, strict=True)):
        weekly = np.zeros(HOURS_PER_WEEK)
        j = 0
        for hour, count in opens.items():
            for _ in range(count):
                weekly[(j % 7) * HOURS + hour] += 1.0
                j += 1
        n = weekly.sum()
        rows.append(
            {
                "contact_id": uuid.UUID(int=i + 1),
                "mailbox_provider": "gmail",
                "time_zone": zone_name,
                "device": "mobile",
                "delivered_90d": 24,
                "open_rate_90d": n / 24.0,
                "hours_since_last_open": 30.0 if n else None,
                "opens_in_histogram": int(n),
                "open_hour_of_week_histogram": ((weekly + k * model.population) / (n + k)).tolist(),
                "as_of": as_of,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# Features are as of the send.


def test_design_matrix_reads_only_the_send_slot_and_prior_columns(
    send_time_marts: SendTimeMarts,
) -> None:
    rows = prepare_training_rows(send_time_marts.training_rows()).head(3000)
    spec = fit_feature_spec(rows)
    expected = design_matrix(rows, spec)

    rng = np.random.default_rng(5)
    scrambled = rows.copy()
    for column in OUTCOME_COLUMNS:  # the outcome and the future, shuffled across rows
        scrambled[column] = scrambled[column].to_numpy()[rng.permutation(len(rows))]
    pd.testing.assert_frame_equal(design_matrix(scrambled, spec), expected)
    pd.testing.assert_frame_equal(design_matrix(rows[AS_OF_SEND_COLUMNS], spec), expected)


def test_mart_prior_opens_count_only_opens_before_the_send(send_time_marts: SendTimeMarts) -> None:
    rows = send_time_marts.training
    for _, group in rows.groupby("contact_id"):
        opens = np.sort(pd.to_datetime(group["first_human_open_at"], utc=True).dropna().to_numpy())
        sends = pd.to_datetime(group["sent_at"], utc=True).to_numpy()
        earlier = np.searchsorted(opens, sends, side="left")
        assert (earlier == group["prior_opens"].to_numpy()).all()


# ---------------------------------------------------------------------------------------
# Censoring and model comparison.


def test_ignoring_censoring_ranks_worse_on_the_time_based_holdout(
    send_time_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    fit_rows, holdout = send_time_split
    spec = fit_feature_spec(fit_rows)
    variants = {
        "censoring handled": fit_rows,
        "unopened rows dropped": fit_rows.loc[fit_rows["opened"]],
        "censored times taken as opens": fit_rows.assign(opened=True),
    }
    scores = {
        name: concordance(fit_model(rows, "cox", spec)[0], holdout, spec)
        for name, rows in variants.items()
    }
    log.info("holdout concordance: %s", scores)
    assert scores["censoring handled"] > scores["unopened rows dropped"] + 0.05
    assert scores["censoring handled"] > scores["censored times taken as opens"]


def test_train_compares_cox_and_aft_on_a_time_based_holdout(
    send_time_result: TrainingResult,
) -> None:
    metrics, params = send_time_result.metrics, send_time_result.params
    log.info("training metrics %s params %s", metrics, params)
    assert send_time_result.validation_metric == "holdout_concordance"
    assert params["chosen"] in ("cox", params["aft_kind"])
    assert metrics["holdout_concordance"] == max(
        metrics["concordance_cox"], metrics["concordance_aft"]
    )
    assert metrics["concordance_cox"] > 0.75 and metrics["concordance_aft"] > 0.75
    assert params["n_train"] > 4 * params["n_holdout"] * 0.9
    assert params["holdout_cutoff"]


# ---------------------------------------------------------------------------------------
# Vectorised scoring is lifelines' survival function.


@pytest.mark.parametrize("kind", ["cox", "weibull_aft", "loglogistic_aft"])
def test_vectorised_slot_probabilities_equal_lifelines_survival_function(
    kind: str, send_time_split: tuple[pd.DataFrame, pd.DataFrame], send_time_marts: SendTimeMarts
) -> None:
    fit_rows, _ = send_time_split
    fit_rows = fit_rows.tail(6000)  # enough to fit; the check is about the algebra
    spec = fit_feature_spec(fit_rows)
    predictor, fitter, _ = fit_model(fit_rows, kind, spec)  # type: ignore[arg-type]
    model = SendTimeModel(predictor, spec, cohorts=None, population=np.zeros(HOURS_PER_WEEK))  # type: ignore[arg-type]

    features = send_time_marts.features.head(40)
    counts = np.zeros((len(features), HOURS))
    counts[:, 20] = np.arange(len(features)) % 6  # varied personal patterns
    state = scoring_state(features, counts)
    weekday = np.full(len(features), 2)
    lag = np.tile(np.arange(HOURS, dtype=float), (len(features), 1))
    ours = model_probabilities(model, state, np.arange(HOURS)[None, :], weekday, lag)

    candidates = expand_candidates(spec, state, weekday, lag)
    survival = fitter.predict_survival_function(candidates[spec.columns], times=[24.0])
    theirs = (1.0 - survival.to_numpy()[0]).reshape(len(features), HOURS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_scoring_never_calls_lifelines(
    send_time_model: SendTimeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifelines import fitters
    from lifelines.fitters import coxph_fitter

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("scoring called lifelines")

    prediction_methods = (
        "predict_survival_function",
        "predict_cumulative_hazard",
        "predict_partial_hazard",
        "predict_log_partial_hazard",
        "predict_median",
        "predict_expectation",
    )
    for cls in (
        coxph_fitter.SemiParametricPHFitter,
        fitters.ParametricRegressionFitter,
        fitters.ParametericAFTRegressionFitter,
    ):
        for name in prediction_methods:
            if name in vars(cls):
                monkeypatch.setattr(cls, name, refuse)
    rng = np.random.default_rng(3)
    opens = [
        {int(h): int(c)}
        for h, c in zip(rng.integers(0, 24, 5000), rng.integers(0, 9, 5000), strict=True)
    ]
    features = synthetic_features(send_time_model, opens, ["Europe/Paris"] * 5000)
    scores = score(send_time_model, features, date(2026, 5, 2))
    assert len(scores) == 5000 and scores["open_probability_24h"].between(0, 1).all()


# ---------------------------------------------------------------------------------------
# Best hours: planted peaks, UTC conversion, fallback.


def test_a_strong_20h_local_peak_gets_a_best_hour_between_19_and_21(
    send_time_model: SendTimeModel,
) -> None:
    zones = [
        "America/New_York",
        "Europe/Berlin",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "America/Los_Angeles",
    ]
    evening = {19: 2, 20: 14, 21: 2}
    morning = {8: 2, 9: 14, 10: 2}
    features = synthetic_features(send_time_model, [evening] * 5 + [morning] * 5, zones * 2)
    day = date(2026, 5, 5)
    scores = score(send_time_model, features, day)
    log.info(
        "planted peaks -> %s", scores[["best_local_hour", "open_probability_24h"]].to_dict("list")
    )

    assert scores["best_local_hour"].iloc[:5].between(19, 21).all()
    assert scores["best_local_hour"].iloc[5:].between(8, 10).all()
    assert not scores["fallback"].any()
    for zone_name, row in zip(zones * 2, scores.itertuples(), strict=True):
        local = datetime.combine(day, time(row.best_local_hour), tzinfo=ZoneInfo(zone_name))
        assert row.best_hour_utc == pd.Timestamp(local).tz_convert("UTC")


def test_recipients_with_too_few_opens_fall_back_to_their_cohort_curve(
    send_time_model: SendTimeModel, send_time_marts: SendTimeMarts
) -> None:
    cell = send_time_marts.features.loc[send_time_marts.features["region"] == "na"]
    scores = score(send_time_model, cell.drop(columns=["region"]), date(2026, 5, 2))
    assert send_time_model.min_prior_opens == MIN_PRIOR_OPENS == 2
    expected = cell["opens_in_histogram"].to_numpy() < MIN_PRIOR_OPENS
    np.testing.assert_array_equal(scores["fallback"].to_numpy(), expected)
    # A recipient with one open at 03:00 is not sent at 03:00: the cohort decides.
    features = synthetic_features(send_time_model, [{3: 1}, {3: 8}], ["Europe/Berlin"] * 2)
    planted = score(send_time_model, features, date(2026, 5, 5))
    assert planted["fallback"].tolist() == [True, False]
    log.info("03:00 openers -> %s", planted[["best_local_hour", "fallback"]].to_dict("list"))
    assert planted["best_local_hour"].iloc[0] != 3 and 1 <= planted["best_local_hour"].iloc[1] <= 4


def test_habits_recover_planted_rhythms_and_place_a_two_open_recipient() -> None:
    rng = np.random.default_rng(5)
    hours = np.arange(HOURS)
    morning = np.exp(-0.5 * ((hours - 8) / 1.0) ** 2)
    evening = np.exp(-0.5 * ((hours - 21) / 1.0) ** 2)
    people = [morning / morning.sum()] * 300 + [evening / evening.sum()] * 300
    counts = np.array([rng.multinomial(int(rng.integers(0, 12)), p) for p in people], float)
    habits = fit_hour_habits(counts, classes=2)
    assert habits is not None
    peaks = sorted(int(np.argmax(curve)) for curve in habits.curves)
    assert peaks == [8, 21] and all(0.4 < w < 0.6 for w in habits.weights)
    # Two opens at 20:00 and 22:00: the evening habit, peaking at 21:00, not the mean day.
    two = np.zeros((1, HOURS))
    two[0, [20, 22]] = 1.0
    assert int(np.argmax(habits.expected_curve(two))) == 21
    nothing = habits.expected_curve(np.zeros((1, HOURS)))[0]
    np.testing.assert_allclose(nothing, np.average(habits.curves, axis=0, weights=habits.weights))
    assert fit_hour_habits(np.zeros((10, HOURS))) is None  # nobody opened: nothing to learn


def test_local_day_slots_keep_24_hours_across_a_dst_change() -> None:
    slots = local_day_slots(pd.Series(["America/New_York", "Asia/Kolkata"]), date(2026, 3, 8))
    utc = pd.to_datetime(slots.reshape(-1), utc=True).to_numpy().reshape(2, HOURS)
    assert slots.shape == (2, HOURS)
    assert pd.Timestamp(utc[0, 0]) == pd.Timestamp("2026-03-08 05:00", tz="UTC")  # EST
    assert pd.Timestamp(utc[0, 23]) == pd.Timestamp("2026-03-09 03:00", tz="UTC")  # EDT
    assert pd.Timestamp(utc[1, 0]) == pd.Timestamp("2026-03-07 18:30", tz="UTC")


# ---------------------------------------------------------------------------------------
# The MLflow wrapper.


@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning")
def test_pyfunc_predicts_like_score_and_survives_mlflow_save_and_load(
    send_time_result: TrainingResult, send_time_marts: SendTimeMarts, tmp_path: Path
) -> None:
    wrapper = send_time_result.python_model
    example = send_time_result.input_example
    assert {"day", "open_hour_of_week_histogram", "as_of"} <= set(example.columns)
    direct = wrapper.predict(None, example)
    assert list(direct.columns) == [
        "contact_id",
        "best_hour_utc",
        "best_local_hour",
        "open_probability_24h",
        "fallback",
        "model_version",
    ]

    restored = cloudpickle.loads(cloudpickle.dumps(wrapper))
    pd.testing.assert_frame_equal(restored.predict(None, example), direct)

    mlflow.pyfunc.save_model(
        str(tmp_path / "send_time"),
        python_model=wrapper,
        input_example=example,
        pip_requirements=[],
    )
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "send_time"))
    pd.testing.assert_frame_equal(loaded.predict(example), direct)

    # Several days in one call: each row scored on its own day, input order kept.
    cell = send_time_marts.features.loc[send_time_marts.features["region"] == "eu"].head(60)
    frame = cell.drop(columns=["region"]).assign(day=["2026-05-02", "2026-05-03"] * 30)
    mixed = wrapper.predict(None, frame)
    assert mixed["contact_id"].tolist() == frame["contact_id"].tolist()
    second = score(wrapper.model, cell.drop(columns=["region"]).iloc[1::2], date(2026, 5, 3))
    pd.testing.assert_frame_equal(mixed.iloc[1::2].reset_index(drop=True), second)


# ---------------------------------------------------------------------------------------
# Against the simulator's ground truth, on recipients held out of training.


def _truth(marts_history: Any) -> Callable[[Any, datetime], float]:
    return fresh_open_probability_24h(marts_history.world().recipients())


def test_model_hours_beat_fixed_and_most_frequent_hours_on_held_out_recipients(
    marts_history: Any, send_time_marts: SendTimeMarts, send_time_model: SendTimeModel
) -> None:
    truth = _truth(marts_history)
    features = send_time_marts.features
    held_out = features["contact_id"].isin(send_time_marts.evaluation_ids).to_numpy()
    end = marts_history.result.end
    results = []
    for day in (end.date(), end.date() + timedelta(days=4)):  # a Friday and a Tuesday
        train_truth = true_slot_probabilities(
            features["contact_id"][~held_out], features["time_zone"][~held_out], day, truth
        )
        fixed_local = best_fixed_local_hour(train_truth)
        fixed_utc = best_fixed_utc_hour(train_truth, features["time_zone"][~held_out], day)
        scores, recipients = [], []
        for _, cell in features.groupby("region"):
            mine = cell.loc[cell["contact_id"].isin(send_time_marts.evaluation_ids)]
            scores.append(score(send_time_model, mine.drop(columns=["region"]), day))
            recipients.append(evaluation_recipients(mine, population_histogram(cell)))
        result = evaluate_send_times(
            pd.concat(scores),
            truth,
            recipients=pd.concat(recipients, ignore_index=True),
            day=day,
            fixed_local_hour=fixed_local,
            fixed_utc_hour=fixed_utc,
        )
        log.info("ground truth %s: %s", day, result.as_metrics())
        results.append(result)

    for result in results:
        assert result.oracle >= result.model > result.modal_hour > result.random_hour
        assert result.model > result.fixed_local > result.fixed_utc
        assert result.share_of_oracle_uplift > 0.1
        assert result.share_of_oracle_uplift_utc > 0.45
