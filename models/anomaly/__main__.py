"""Command line: score a CSV with a model trained on its own warm-up, or run the benchmark.

    python -m models.anomaly score --input IN.csv --output OUT.csv [--warmup N] [--epochs N]
    python -m models.anomaly evaluate [--seeds N] [--epochs N]

``score`` reads a CSV whose first column is a timestamp and whose other columns are
numeric (one row per time step, any cadence). It has no other data, so it trains on the
first ``--warmup`` rows (default: half the rows, at most four weeks of hourly steps), then
scores every row in streaming order and writes ``timestamp,anomaly_score`` (warm-up rows
score 0); the summary line on stdout counts the steps above the calibrated alert threshold.
A CSV with the mart's count columns gets the sender features. Bad input exits with status 2
and a one-line reason on stderr.

``evaluate`` prints the benchmark of the LSTM against a rolling z-score and an EWMA chart
on synthetic sender histories with planted incidents, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .config import MIN_WARMUP, default_warmup, make_config
from .features import (
    InputError,
    is_sender_frame,
    numeric_frame,
    parse_timestamps,
    sender_features,
)
from .model import AnomalyModel

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.anomaly", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a CSV time series")
    score.add_argument("--input", required=True, type=Path, help="CSV: timestamp, numbers...")
    score.add_argument("--output", required=True, type=Path, help="CSV to write")
    score.add_argument("--warmup", type=int, help="rows to learn from before scoring")
    score.add_argument("--epochs", type=int, default=60, help="training epochs (at most)")
    score.add_argument("--false-alarm-rate", type=float, default=None)
    score.add_argument("--seed", type=int, default=0)
    evaluate = commands.add_parser("evaluate", help="benchmark against the baselines (JSON)")
    evaluate.add_argument("--seeds", type=int, default=8, help="synthetic histories")
    evaluate.add_argument("--first-seed", type=int, default=0, help="seed of the first one")
    evaluate.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)
    if args.command == "score":
        try:
            return _score(args)
        except InputError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_BAD_INPUT
    return _evaluate(args)


def _score(args: argparse.Namespace) -> int:
    table = _read(args.input)
    index = parse_timestamps(table.iloc[:, 0])
    frame = numeric_frame(table.iloc[:, 1:].set_axis(index, axis=0))
    features = sender_features(frame) if is_sender_frame(frame) else frame
    mode = "sender" if is_sender_frame(frame) else "raw"
    warmup = args.warmup if args.warmup is not None else default_warmup(len(features))
    if warmup < MIN_WARMUP:
        raise InputError(f"--warmup must be at least {MIN_WARMUP} rows")
    if len(features) <= warmup:
        raise InputError(
            f"too few rows: {len(features)}; need more than the warm-up of {warmup} "
            f"(at least {2 * MIN_WARMUP} rows with the default warm-up)"
        )
    options: dict[str, object] = {"epochs": args.epochs, "seed": args.seed}
    if args.false_alarm_rate is not None:
        options["false_alarm_rate"] = args.false_alarm_rate
    config = make_config([features], mode, warmup_steps=warmup, **options)
    model = AnomalyModel.fit([features], config)
    scored = model.scorer().score_frame(features)
    # Rows come back in time order, one per input row, with the input's own timestamp text.
    order = index.argsort(kind="stable")
    scored = scored.reindex(frame.index)
    out = pd.DataFrame(
        {
            "timestamp": table.iloc[:, 0].astype(str).iloc[order].to_numpy(),
            "anomaly_score": scored["anomaly_score"].round(6).to_numpy(),
        }
    )
    out.to_csv(args.output, index=False)
    alerts = int(scored["is_alert"].sum())
    sys.stdout.write(
        f"scored {len(out)} rows ({warmup} warm-up) in {model.training_seconds:.1f} s of "
        f"training; {alerts} alert steps -> {args.output}\n"
    )
    return 0


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    try:
        table = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as CSV: {exc}") from None
    if table.shape[1] < 2:
        raise InputError("the CSV needs a timestamp column and at least one numeric column")
    if table.empty:
        raise InputError("too few rows: the CSV has a header but no data")
    return table


def _evaluate(args: argparse.Namespace) -> int:
    from .benchmark import run

    result = run(range(args.first_seed, args.first_seed + args.seeds), epochs=args.epochs)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
