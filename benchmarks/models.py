"""Model quality and speed: send-time, personalization and anomaly, each beside its baselines.

One simulated history (``--contacts`` recipients over ``--days`` days, fixed seed) is
written into a fresh database set (``pwmodels_<hex>_*``, dropped afterwards) and built into
marts by ``dbt build`` in every region cell. Then, per region cell as the product does:

- send-time: ``models.send_time.train`` on the marts' rows of 70% of the contacts (Cox PH
  and a Weibull AFT compared by holdout concordance); its best hours for the other 30% are
  scored against the simulator's true 24-hour open probabilities on two days after the
  history: (a) the model, (b) the best fixed local hour (and the best fixed UTC hour),
  (c) each recipient's most frequent past open hour, (d) a random hour, (e) the oracle.
  Targets: (a) captures at least 60% of the oracle's uplift over (b), and (a) > (c);
- personalization: the contextual bandit trained on ``variant_exposures``, its policy's true
  click rate against uniform random, the best fixed variant and the oracle (the simulator's
  true click rates), and the off-policy (IPS, doubly robust) estimates from the logs;
- send-time scoring speed: ``--scoring-rows`` recipients (the marts' rows, repeated) x 24
  slots through the vectorised scorer; target under 5 minutes for 1M.

The anomaly model is measured against a rolling z-score and an EWMA chart, by
``models.anomaly.benchmark``, twice: on synthetic sender histories with planted incidents
(volume burst, bounce spike, country shift, attachment-type shift), and on the simulated
history's own senders (their hourly ``send_volume_timeseries``, the same four incidents
planted four times per sender after a four-week warm-up, where the sender sends mail).
Training time must stay under 5 minutes.

    python -m benchmarks.models                 # 4,000 contacts over 180 days, 1M scoring rows
    python -m benchmarks.models --quick         # 1,200 contacts over 60 days, 200k rows
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import REPO_ROOT, emit, human_count, machine_info, server_url, setup_logging
from models import personalization, send_time
from models.anomaly.benchmark import run as run_anomaly_benchmark
from models.anomaly.benchmark import run_cases as run_anomaly_cases
from models.anomaly.features import hourly_counts, split_senders
from models.anomaly.synthetic import planted_case
from models.send_time.recipients import population_histogram
from postwise.dbt_env import build_all_regions
from postwise.settings import Settings
from simulator.ground_truth import fresh_open_probability_24h, true_click_rate
from simulator.history import HistoryOptions, simulate_history
from simulator.world import World
from warehouse.db import Cells
from warehouse.frames import read_table
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.models")

END = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday: the evaluation days follow the history
SEED = 53
HELD_OUT_SHARE = 3  # in tenths: 30% of contacts never seen in training
ORACLE_SHARE_TARGET = 0.60
SCORING_LIMIT_SECONDS = 300.0
TRAINING_LIMIT_SECONDS = 300.0
VARIANTS = ("A", "B", "C")
SIMULATOR_WARMUP_STEPS = 28 * 24
PLANTINGS_PER_SENDER = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.models", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small history, fewer rows")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--scoring-rows", type=int, default=None)
    parser.add_argument("--anomaly-seeds", type=int, default=None)
    args = parser.parse_args(argv)
    contacts = args.contacts or (1_200 if args.quick else 4_000)
    days = args.days or (60 if args.quick else 180)
    scoring_rows = args.scoring_rows or (200_000 if args.quick else 1_000_000)
    anomaly_seeds = args.anomaly_seeds or (3 if args.quick else 8)
    setup_logging()
    server = server_url()
    options = HistoryOptions(contacts=contacts, days=days, seed=SEED, org_slug="bench", end=END)
    results: list[dict[str, Any]] = []
    with _history_cells(server) as (settings, cells):
        started = time.perf_counter()
        history = simulate_history(cells, settings, options, progress=True)
        log.info("history: %s in %.0f s", history.describe(), time.perf_counter() - started)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="pwmodels-dbt-") as workdir:
            build_all_regions(
                settings, server, REPO_ROOT / "dbt", Path(workdir), {"as_of": END.isoformat()}
            )
        log.info("dbt build of every region: %.0f s", time.perf_counter() - started)
        marts = {region: _read_marts(cells, region) for region in cells.regions}
        with cells.connection(cells.regions[0]) as conn:
            machine = machine_info(conn)
    world = World(SEED, contacts, history.start, days)
    recipients = {r.contact_id: r for r in world.recipients()}
    trained, figures = _send_time_quality(marts, recipients)
    results += figures
    results.append(_scoring_speed(trained, marts, scoring_rows))
    results += _personalization_quality(marts, recipients)
    results += _anomaly_quality(anomaly_seeds)
    results += _anomaly_on_simulator(marts)
    machine["history"] = {"contacts": contacts, "days": days, "messages": history.messages}
    emit("models", machine, results)
    return 0


# ---------------------------------------------------------------------------------------
# The history


@contextmanager
def _history_cells(server: str) -> Iterator[tuple[Settings, Cells]]:
    settings = Settings(
        _env_file=None, database_url=server, database_prefix=f"pwmodels_{secrets.token_hex(4)}"
    )
    with temporary_cells(settings, server) as cells:
        yield settings, cells


def _read_marts(cells: Cells, region: str) -> dict[str, pd.DataFrame]:
    with cells.connection(region) as conn:
        return {
            name: read_table(conn, "marts", name)
            for name in (
                "send_time_training",
                "recipient_engagement_features",
                "variant_exposures",
                "send_volume_timeseries",
            )
        }


def _held_out(contact_id: Any) -> bool:
    digest = hashlib.sha1(str(contact_id).encode()).hexdigest()
    return int(digest, 16) % 10 < HELD_OUT_SHARE


# ---------------------------------------------------------------------------------------
# Send time


def _send_time_quality(
    marts: dict[str, dict[str, pd.DataFrame]], recipients: dict[uuid.UUID, Any]
) -> tuple[send_time.SendTimeModel, list[dict[str, Any]]]:
    truth = fresh_open_probability_24h(recipients.values())
    days = (END.date() + timedelta(days=1), END.date() + timedelta(days=4))  # Tue, Fri
    evaluations: list[send_time.SendTimeEvaluation] = []
    training: dict[str, float] = {"training_seconds": 0.0, "rows": 0.0}
    concordance: dict[str, list[tuple[float, float]]] = {"cox": [], "aft": []}
    model = None
    for region, frames in marts.items():
        features = frames["recipient_engagement_features"]
        rows = frames["send_time_training"]
        held = features["contact_id"].map(_held_out).to_numpy(bool)
        result = send_time.train(rows.loc[~rows["contact_id"].map(_held_out)])
        model = result.python_model.model
        m = result.metrics
        log.info("send-time %s: %s", region, {k: round(v, 4) for k, v in m.items()})
        training["training_seconds"] += m["training_seconds"]
        training["rows"] += m["n_train"] + m["n_holdout"]
        concordance["cox"].append((m["concordance_cox"], m["n_holdout"]))
        concordance["aft"].append((m["concordance_aft"], m["n_holdout"]))
        population = population_histogram(features)
        for day in days:
            evaluations.append(_evaluate_day(model, features, held, population, day, truth, region))
    assert model is not None
    total = sum(e.n_recipients for e in evaluations)

    def mean(name: str) -> float:
        return sum(getattr(e, name) * e.n_recipients for e in evaluations) / total

    rates = {
        name: mean(name)
        for name in ("model", "fixed_local", "fixed_utc", "modal_hour", "random_hour", "oracle")
    }
    share = (rates["model"] - rates["fixed_local"]) / (rates["oracle"] - rates["fixed_local"])
    share_utc = (rates["model"] - rates["fixed_utc"]) / (rates["oracle"] - rates["fixed_utc"])
    detail = {
        "true_open_rate_24h": {k: round(v, 5) for k, v in rates.items()},
        "uplift_over_fixed_local": {
            k: round(rates[k] - rates["fixed_local"], 5)
            for k in ("model", "modal_hour", "random_hour", "oracle")
        },
        "share_of_oracle_uplift_vs_fixed_utc": round(share_utc, 3),
        "held_out_recipients": total // len(days),
        "days": [d.isoformat() for d in days],
    }

    def weighted(pairs: list[tuple[float, float]]) -> float:
        return sum(c * n for c, n in pairs) / sum(n for _, n in pairs)

    figures = [
        _figure(
            "send_time_share_of_oracle_uplift",
            share,
            "share",
            "acceptance target",
            ORACLE_SHARE_TARGET,
            f">= {ORACLE_SHARE_TARGET}",
            share >= ORACLE_SHARE_TARGET,
            **detail,
        ),
        _figure(
            "send_time_true_open_rate_vs_most_frequent_hour",
            rates["model"],
            "open rate",
            "(c) most frequent past open hour",
            rates["modal_hour"],
            "> 1.0 x baseline",
            rates["model"] > rates["modal_hour"],
        ),
        _figure(
            "send_time_true_open_rate_vs_fixed_local_hour",
            rates["model"],
            "open rate",
            "(b) best fixed local hour",
            rates["fixed_local"],
            "> 1.0 x baseline",
            rates["model"] > rates["fixed_local"],
        ),
        _figure(
            "send_time_holdout_concordance_cox_vs_aft",
            weighted(concordance["cox"]),
            "C-index",
            "Weibull AFT",
            weighted(concordance["aft"]),
            "reported (the better one is the champion candidate)",
            None,
        ),
        _figure(
            "send_time_training_seconds",
            training["training_seconds"],
            "s",
            "acceptance limit",
            TRAINING_LIMIT_SECONDS,
            f"< {TRAINING_LIMIT_SECONDS:g} s",
            training["training_seconds"] < TRAINING_LIMIT_SECONDS,
            rows=int(training["rows"]),
            regions=len(marts),
        ),
    ]
    return model, figures


def _evaluate_day(
    model: send_time.SendTimeModel,
    features: pd.DataFrame,
    held: np.ndarray,
    population: np.ndarray | None,
    day: date,
    truth: Callable[[Any, datetime], float],
    region: str,
) -> send_time.SendTimeEvaluation:
    train_truth = send_time.true_slot_probabilities(
        features["contact_id"][~held], features["time_zone"][~held], day, truth
    )
    mine = features.loc[held]
    evaluation = send_time.evaluate_send_times(
        send_time.score(model, mine, day),
        truth,
        recipients=send_time.evaluation_recipients(mine, population),
        day=day,
        fixed_local_hour=send_time.best_fixed_local_hour(train_truth),
        fixed_utc_hour=send_time.best_fixed_utc_hour(
            train_truth, features["time_zone"][~held], day
        ),
    )
    log.info("send-time truth %s %s: %s", region, day, evaluation.as_metrics())
    return evaluation


def _scoring_speed(
    model: send_time.SendTimeModel, marts: dict[str, dict[str, pd.DataFrame]], rows: int
) -> dict[str, Any]:
    features = pd.concat(
        [frames["recipient_engagement_features"] for frames in marts.values()], ignore_index=True
    )
    repeated = features.iloc[np.arange(rows) % len(features)].reset_index(drop=True)
    repeated["contact_id"] = [uuid.UUID(int=i + 1) for i in range(rows)]
    started = time.perf_counter()
    scores = send_time.score(model, repeated, END.date() + timedelta(days=1))
    seconds = time.perf_counter() - started
    log.info("scored %d recipients x 24 slots in %.1f s", len(scores), seconds)
    return _figure(
        f"send_time_scoring_seconds_{human_count(rows)}_x_24",
        seconds,
        "s",
        "acceptance limit",
        SCORING_LIMIT_SECONDS * rows / 1_000_000,
        f"< {SCORING_LIMIT_SECONDS:g} s per 1M recipients",
        seconds < SCORING_LIMIT_SECONDS * rows / 1_000_000,
        recipients_per_second=round(rows / seconds),
    )


# ---------------------------------------------------------------------------------------
# Personalization


def _personalization_quality(
    marts: dict[str, dict[str, pd.DataFrame]], recipients: dict[uuid.UUID, Any]
) -> list[dict[str, Any]]:
    totals = {"policy": 0.0, "greedy": 0.0, "uniform": 0.0, "best_fixed": 0.0, "oracle": 0.0}
    off_policy: dict[str, float] = {}
    n_total = 0
    seconds = 0.0
    for region, frames in marts.items():
        exposures, features = frames["variant_exposures"], frames["recipient_engagement_features"]
        started = time.perf_counter()
        result = personalization.train(exposures, features, seed=0)
        seconds += time.perf_counter() - started
        bandit = result.python_model.bandit
        propensities = bandit.propensities(features, VARIANTS, np.random.default_rng(0))
        comparison = personalization.evaluate_against_truth(
            features["contact_id"].tolist(),
            propensities,
            lambda contact, variant: true_click_rate(recipients[uuid.UUID(str(contact))], variant),
            greedy=bandit.greedy_propensities(features, VARIANTS),
        )
        log.info("personalization %s: %s", region, comparison.as_dict())
        for key in totals:
            totals[key] += getattr(comparison, key) * comparison.n
        n_total += comparison.n
        for key in ("logged_policy_value", "ips_policy_value", "dr_policy_value", "prob_best"):
            off_policy[f"{region}_{key}"] = round(result.metrics[key], 5)
        off_policy[f"{region}_expected_loss"] = round(result.metrics["expected_loss"], 6)
    rates = {k: v / n_total for k, v in totals.items()}
    detail = {
        # policy: Thompson sampling as served (it keeps exploring); greedy: its best guess.
        "true_click_rate": {k: round(v, 5) for k, v in rates.items()},
        "off_policy": off_policy,
        "recipients": n_total,
    }
    room = rates["oracle"] - rates["uniform"]
    return [
        _figure(
            "personalization_true_click_rate_vs_uniform",
            rates["policy"],
            "click rate",
            "uniform random variant",
            rates["uniform"],
            "> 1.0 x baseline",
            rates["policy"] > rates["uniform"],
            share_of_oracle_lift=round((rates["policy"] - rates["uniform"]) / room, 3),
            **detail,
        ),
        _figure(
            "personalization_true_click_rate_vs_oracle",
            rates["policy"],
            "click rate",
            "oracle (true best variant per recipient)",
            rates["oracle"],
            "<= 1.0 x baseline (the ceiling)",
            rates["policy"] <= rates["oracle"],
        ),
        _figure(
            "personalization_training_seconds",
            seconds,
            "s",
            "acceptance limit",
            TRAINING_LIMIT_SECONDS,
            f"< {TRAINING_LIMIT_SECONDS:g} s",
            seconds < TRAINING_LIMIT_SECONDS,
        ),
    ]


# ---------------------------------------------------------------------------------------
# Anomaly


def _anomaly_quality(seeds: int) -> list[dict[str, Any]]:
    report = run_anomaly_benchmark(range(seeds))
    detectors = report["detectors"]
    log.info("anomaly detectors: %s", detectors)
    out = []
    for entry in report["results"]:
        entry = {**entry, "metric": f"anomaly_{entry['metric']}"}
        if entry["metric"].startswith("anomaly_event_f1_vs_"):
            entry["detectors"] = detectors
        out.append(entry)
    return out


def _anomaly_on_simulator(marts: dict[str, dict[str, pd.DataFrame]]) -> list[dict[str, Any]]:
    """The same comparison on the simulated history's own senders: each sender's hourly
    series from ``marts.send_volume_timeseries``, ``PLANTINGS_PER_SENDER`` times with one
    incident of each kind planted at other times after a four-week warm-up (a handful of
    senders alone would give too few incidents to compare F1 on)."""
    cases = []
    for frames in marts.values():
        for part in split_senders(frames["send_volume_timeseries"]).values():
            counts = hourly_counts(part)
            if len(counts) >= SIMULATOR_WARMUP_STEPS + 7 * 24:
                for _ in range(PLANTINGS_PER_SENDER):
                    seed = len(cases)
                    case = planted_case(counts, SIMULATOR_WARMUP_STEPS, seed=seed)
                    cases.append((seed, case))
    if not cases:
        return []
    report = run_anomaly_cases(cases)
    log.info("anomaly on simulator senders: %s", report["detectors"])
    out = []
    for entry in report["results"]:
        if entry["metric"].startswith("event_f1_vs_"):
            out.append(
                {
                    **entry,
                    "metric": f"anomaly_simulator_{entry['metric']}",
                    "senders": len(cases),
                    "detectors": report["detectors"],
                }
            )
    return out


def _figure(
    metric: str,
    value: float,
    unit: str,
    baseline_name: str,
    baseline_value: float,
    target: str,
    meets: bool | None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": round(value, 5),
        "unit": unit,
        "baseline": {"name": baseline_name, "value": round(baseline_value, 5)},
        "ratio": round(value / baseline_value, 3) if baseline_value else None,
        "target": target,
        "meets_target": meets,
        **extra,
    }


if __name__ == "__main__":
    sys.exit(main())
