"""Run every benchmark and summarize: ``python -m benchmarks [--quick] [name ...]``.

Each ``benchmarks/<name>.py`` that defines ``main`` runs as its own process
(``python -m benchmarks.<name>``), so one benchmark's memory, threads and database
connections cannot disturb the next. Their progress goes to this process's stderr as it
happens; their JSON is written to ``benchmarks/results/<name>.json`` and gathered in
``benchmarks/results/summary.md``, which is also printed.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO_ROOT, setup_logging

log = logging.getLogger("benchmarks")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_TIMEOUT = 2 * 3600.0
COLUMNS = ("benchmark", "metric", "value", "baseline", "ratio", "target", "meets")


def discover() -> list[str]:
    """Names of the benchmark modules: public ``*.py`` files here with a top-level main."""
    names = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            names.append(path.stem)
    return names


def own_timeout(name: str) -> float | None:
    """The ``RUN_TIMEOUT_SECONDS = <number>`` a benchmark module declares (one that runs
    longer than the runner's default by design, with deadlines of its own), else None."""
    tree = ast.parse((HERE / f"{name}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "RUN_TIMEOUT_SECONDS" for t in node.targets
        ):
            try:
                return float(ast.literal_eval(node.value))
            except ValueError:
                return None
    return None


def run_one(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one benchmark; returns its JSON, or a stand-in with ``error`` when it failed."""
    command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])]
    log.info("running %s", " ".join(command[1:]))
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"benchmark": name, "error": f"timed out after {timeout:.0f} s", "results": []}
    log.info(
        "%s finished in %.0f s (exit status %d)", name, time.monotonic() - started, done.returncode
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {
            "benchmark": name,
            "error": f"exit status {done.returncode}, no JSON on stdout",
            "results": [],
        }
    if done.returncode != 0:
        report["error"] = f"exit status {done.returncode}"
    return report


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and abs(value) >= 100:
        return f"{value:,.0f}"  # rates: decimals would be noise on shared machines
    return f"{value:g}" if isinstance(value, float) else str(value)


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """Summary rows of one benchmark's report (one per result, or one for its error)."""
    name = str(report.get("benchmark", "?"))
    if not report.get("results"):
        return [(name, "—", "—", "—", "—", "—", f"error: {report.get('error', 'no results')}")]
    rows: list[tuple[str, ...]] = []
    for res in report["results"]:
        baseline = res.get("baseline") or {}
        meets = "yes" if res.get("meets_target") else "no"
        if res.get("skipped"):
            meets = f"skipped: {res['skipped']}"
        elif report.get("error"):
            meets = f"{meets} ({report['error']})"
        rows.append(
            (
                name,
                str(res.get("metric", "?")),
                f"{_number(res.get('value'))} {res.get('unit', '')}".strip(),
                f"{_number(baseline.get('value'))} ({baseline.get('name', '?')})",
                _number(res.get("ratio")),
                str(res.get("target", "—")),
                meets,
            )
        )
    return rows


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    """A GitHub-flavoured markdown table of ``rows`` under :data:`COLUMNS`."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, write their results and the summary; 1 if any failed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds one benchmark may take before it is stopped (default 2 h, or the "
        "RUN_TIMEOUT_SECONDS the benchmark declares)",
    )
    args = parser.parse_args(argv)
    setup_logging()

    available = discover()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; have {', '.join(available)}")
    RESULTS.mkdir(exist_ok=True)
    rows: list[tuple[str, ...]] = []
    failed = False
    for name in args.names or available:
        timeout = args.timeout or own_timeout(name) or DEFAULT_TIMEOUT
        report = run_one(name, args.quick, timeout)
        failed = failed or "error" in report
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        rows += table_rows(report)

    table = markdown_table(rows)
    mode = " (--quick)" if args.quick else ""
    (RESULTS / "summary.md").write_text(f"# Benchmark summary{mode}\n\n{table}")
    print(table, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
