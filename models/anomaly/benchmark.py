"""LSTM versus rolling z-score and EWMA on synthetic sender histories with planted incidents.

Each case is a fixed-seed sender history (``synthetic.evaluation_case``): four clean weeks
of warm-up, then four weeks with one incident of each kind. On every case the LSTM trains
on the warm-up only (as the CLI does), the baselines calibrate on it, and all three alert
at ``1 - false_alarm_rate`` on their calibrated score. The baselines' own parameters are
first chosen for the best F1 on separate validation histories (the LSTM keeps its
defaults). Counts are summed over cases before precision, recall and F1 are computed.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .baselines import Baseline, EwmaChart, RollingZScore, baseline_scores
from .calibration import alerts_from_scores
from .config import AnomalyConfig, make_config
from .evaluation import EventCounts, evaluate_alerts
from .features import min_scales, sender_features
from .model import AnomalyModel
from .synthetic import EvaluationCase, evaluation_case

VALIDATION_SEEDS = (1000, 1001, 1002, 1003)
BASELINE_GRID: dict[str, tuple[Baseline, ...]] = {
    "rolling_zscore": tuple(RollingZScore(window=w) for w in (24, 48, 96, 168)),
    "ewma": tuple(
        EwmaChart(lam=lam, baseline_halflife=h) for lam in (0.1, 0.2, 0.3) for h in (None, 24, 168)
    ),
}


def baseline_counts(
    case: EvaluationCase,
    detector: Baseline,
    *,
    false_alarm_rate: float = AnomalyConfig.false_alarm_rate,
    alert_hold: int = 0,
) -> EventCounts:
    """Event counts of one baseline on one case."""
    feats = sender_features(case.frame)
    columns = tuple(feats.columns)
    floors = AnomalyConfig(columns, min_scales=min_scales(columns, "sender")).noise_floor
    scores = baseline_scores(
        detector,
        feats,
        case.warmup_steps,
        min_scales=min_scales(columns, "sender"),
        noise_floor=floors,
    )
    alerts = alerts_from_scores(scores, 1.0 - false_alarm_rate, hold=alert_hold)
    return evaluate_alerts(alerts, case.incidents, start=case.warmup_steps)


def lstm_counts(
    case: EvaluationCase, *, seed: int = 0, **options: Any
) -> tuple[EventCounts, float]:
    """Event counts of the LSTM trained on the case's warm-up, and its training seconds."""
    feats = sender_features(case.frame)
    config = make_config([feats], "sender", warmup_steps=case.warmup_steps, seed=seed, **options)
    model = AnomalyModel.fit([feats], config)
    alerts = model.scorer().score_frame(feats)["is_alert"].to_numpy()
    counts = evaluate_alerts(alerts, case.incidents, start=case.warmup_steps)
    return counts, model.training_seconds


def tune_baselines(
    seeds: Sequence[int] = VALIDATION_SEEDS, **kwargs: Any
) -> dict[str, tuple[Baseline, EventCounts]]:
    """Per baseline family, the parameters with the best F1 over validation histories."""
    cases = [evaluation_case(seed) for seed in seeds]
    best: dict[str, tuple[Baseline, EventCounts]] = {}
    for family, candidates in BASELINE_GRID.items():
        for detector in candidates:
            total = EventCounts()
            for case in cases:
                total = total + baseline_counts(case, detector, **kwargs)
            key = (total.f1, -total.false_positives)
            if family not in best or key > (best[family][1].f1, -best[family][1].false_positives):
                best[family] = (detector, total)
    return best


def run(
    seeds: Iterable[int],
    *,
    validation_seeds: Sequence[int] = VALIDATION_SEEDS,
    false_alarm_rate: float = AnomalyConfig.false_alarm_rate,
    alert_hold: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """The benchmark on fixed-seed synthetic histories, as one JSON-ready dict."""
    cases = [(seed, evaluation_case(seed)) for seed in seeds]
    return run_cases(
        cases,
        validation_seeds=validation_seeds,
        false_alarm_rate=false_alarm_rate,
        alert_hold=alert_hold,
        **options,
    )


def run_cases(
    cases: Sequence[tuple[int, EvaluationCase]],
    *,
    validation_seeds: Sequence[int] = VALIDATION_SEEDS,
    false_alarm_rate: float = AnomalyConfig.false_alarm_rate,
    alert_hold: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """The LSTM against the tuned baselines on ``(seed, case)`` pairs (the format of
    ``benchmarks/``); the baselines' parameters are tuned on synthetic validation cases."""
    started = time.perf_counter()
    tuned = tune_baselines(
        validation_seeds, false_alarm_rate=false_alarm_rate, alert_hold=alert_hold
    )
    totals = {name: EventCounts() for name in ("lstm", *tuned)}
    seconds: list[float] = []
    for seed, case in cases:
        counts, took = lstm_counts(
            case,
            seed=seed,
            false_alarm_rate=false_alarm_rate,
            alert_hold=alert_hold,
            **options,
        )
        totals["lstm"] = totals["lstm"] + counts
        seconds.append(took)
        for name, (detector, _) in tuned.items():
            totals[name] = totals[name] + baseline_counts(
                case, detector, false_alarm_rate=false_alarm_rate, alert_hold=alert_hold
            )
    lstm = totals["lstm"]
    results = [
        {
            "metric": f"event_f1_vs_{name}",
            "value": round(lstm.f1, 3),
            "unit": "F1",
            "baseline": {"name": repr(detector), "value": round(totals[name].f1, 3)},
            "ratio": round(lstm.f1 / totals[name].f1, 2) if totals[name].f1 else None,
            "target": "> 1.0 x baseline",
            "meets_target": lstm.f1 > totals[name].f1,
        }
        for name, (detector, _) in tuned.items()
    ]
    results.append(
        {
            "metric": "training_seconds_max",
            "value": round(max(seconds), 2),
            "unit": "s",
            "baseline": {"name": "acceptance limit", "value": 300.0},
            "ratio": round(max(seconds) / 300.0, 3),
            "target": "< 300 s",
            "meets_target": max(seconds) < 300.0,
        }
    )
    return {
        "benchmark": "anomaly",
        "machine": {"python": platform.python_version()},
        "results": results,
        "detectors": {name: counts.summary() for name, counts in totals.items()},
        "baseline_parameters": {name: repr(d) for name, (d, _) in tuned.items()},
        "false_alarm_rate": false_alarm_rate,
        "lstm_training_seconds_mean": round(float(np.mean(seconds)), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
