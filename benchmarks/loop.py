"""The whole loop at 1x, 5x and 10x the demo's contacts: time and peak memory per stage.

Each scale runs ``postwise demo --contacts N`` (N = 1, 5 and 10 times ``DEMO_CONTACTS``) as a
new user would, in a fresh ``POSTWISE_HOME`` (a temporary folder) with no ``DATABASE_URL``
or ``REDIS_URL``, so Postwise starts its own embedded PostgreSQL and Redis there; they are
stopped with ``postwise services stop`` and the folder removed afterwards. The stages come
from the demo's ``--timings`` file when it has that option, else from the lines it prints
(each stage ends at the line that announces the next). The resident memory of the whole
tree (the demo, its children, the embedded PostgreSQL with its backends and Redis) is
sampled every half second, as the sum of RSS and as the sum of PSS, and each sample is
attributed to the stage it fell in. RSS counts PostgreSQL's shared buffers once per backend
that touched them, so its sum overstates the tree; PSS divides shared pages among their
processes and sums to what the tree occupies, which is what "fits in 4 GiB" is judged on.

Reported per scale: total seconds, seconds and peak tree RSS per stage, and each against
the 1x run (the baseline), so the ratios show how cost grows with the work (5x the
contacts at 5x the time is linear). Also whether the 1x demo fits in 4 GiB. Each scale has
a deadline; a scale that misses it is stopped and reported as timed out, and the larger
ones are not attempted. A demo that fails is reported with its error; the stages it
finished still count, and the larger scales still run.

    python -m benchmarks.loop                 # 1x, 5x, 10x
    python -m benchmarks.loop --quick         # 1x only
    python -m benchmarks.loop --scales 1 2    # any multiples
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import REPO_ROOT, emit, setup_logging
from benchmarks._rss import MIB, Sample, pid_from_file, sampling, trace
from postwise.cli import DEMO_CONTACTS

log = logging.getLogger("benchmarks.loop")

# The runner's limit for this script: the default deadlines together (30 + 90 + 150 min)
# and 15 minutes to clean up.
RUN_TIMEOUT_SECONDS = 17_100
DEADLINE_MINUTES = {1: 30.0, 5: 90.0, 10: 150.0}
MEMORY_BUDGET_GIB = 4.0
SAMPLE_SECONDS = 0.5
POSTWISE = [sys.executable, "-m", "postwise.cli"]
# Settings that would send the demo to services other than its own embedded ones.
FOREIGN = ("DATABASE_URL", "REDIS_URL", "CONTROL_DATABASE_URL", "REGION_DATABASE_URLS",
           "MLFLOW_TRACKING_URI", "DAGSTER_HOME", "DATABASE_PREFIX")  # fmt: skip

# Without --timings: each stage ends at the first line (after the previous stage ended)
# matching its pattern; the time is when the line arrived.
STAGE_ENDS = (
    ("services", re.compile(r"^redis\s")),
    ("migrations", re.compile(r"^migrations\s")),
    ("history", re.compile(r"^assets\s")),
    ("assets", re.compile(r"^(?!assets\s)")),  # the first line after the build's own
    ("summary", re.compile(r"^campaign\s")),
    ("campaign", re.compile(r"^campaign step took")),
    ("audit", re.compile(r"^demo finished")),
)


class LoopFailed(RuntimeError):
    """A demo run could not be completed or measured."""


@dataclass
class Run:
    scale: float
    contacts: int
    seconds: float = 0.0
    exit_status: int | None = None
    timed_out: bool = False
    stages: list[dict[str, Any]] = field(default_factory=list)
    peak_rss: int = 0
    peak_pss: int = 0
    stage_source: str = ""
    trace: list[list[float]] = field(default_factory=list)
    error: str | None = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.loop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="1x only")
    parser.add_argument("--scales", type=float, nargs="+", help="multiples of DEMO_CONTACTS")
    parser.add_argument(
        "--deadline-minutes", type=float, nargs="+",
        help="per scale, one for all or one each (default 30, 90 and 150 for 1x, 5x, 10x)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    setup_logging()
    scales = args.scales or ([1.0] if args.quick else [1.0, 5.0, 10.0])
    timings = _demo_has_timings()
    log.info("stages from %s", "the demo's --timings file" if timings else "its output")

    if args.deadline_minutes and len(args.deadline_minutes) not in (1, len(scales)):
        parser.error("give one --deadline-minutes for all scales or one per scale")
    runs: list[Run] = []
    for index, scale in enumerate(scales):
        contacts = round(DEMO_CONTACTS * scale)
        if runs and runs[-1].timed_out:
            runs.append(
                Run(scale, contacts, error=f"not run: the {runs[-1].scale:g}x run timed out")
            )
            continue
        if args.deadline_minutes:
            minutes = args.deadline_minutes[min(index, len(args.deadline_minutes) - 1)]
        else:
            minutes = DEADLINE_MINUTES.get(int(scale), 15.0 * scale + 15)
        runs.append(_measure(scale, contacts, minutes * 60.0, timings))

    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "memory_gib": round(_total_memory() / 1024**3, 1)}  # fmt: skip
    emit("loop", machine, _results(runs))
    return 0 if all(r.error is None and not r.timed_out for r in runs) else 1


def _demo_has_timings() -> bool:
    done = subprocess.run(
        [*POSTWISE, "demo", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    return "--timings" in done.stdout


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith("POSTWISE")}
    env["POSTWISE_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"  # lines arrive when printed: their times mark the stages
    return env


def _measure(scale: float, contacts: int, deadline: float, timings: bool) -> Run:
    """One demo run at ``contacts`` in a fresh home, stopped after ``deadline`` seconds."""
    run = Run(scale, contacts)
    home = Path(tempfile.mkdtemp(prefix=f"pwbench-loop-{scale:g}x-"))
    env = _environment(home)
    timings_file = home / "timings.json"
    command = [*POSTWISE, "demo", "--contacts", str(contacts)]
    if timings:
        command += ["--timings", str(timings_file)]
    log.info("%gx: %s (POSTWISE_HOME %s, deadline %.0f min)", scale, " ".join(command[1:]),
             home, deadline / 60)  # fmt: skip
    stderr_path = home / "demo-stderr.log"
    lines: list[tuple[float, str]] = []
    try:
        with stderr_path.open("wb") as stderr:
            began = time.time()
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr,
                start_new_session=True,
            )  # fmt: skip
            reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
            reader.start()

            def roots() -> list[int]:
                found = [process.pid]
                for pid_file in (home / "pg" / "postmaster.pid", home / "redis" / "redis.pid"):
                    pid = pid_from_file(pid_file)
                    if pid is not None:
                        found.append(pid)
                return found

            with sampling(roots, SAMPLE_SECONDS, pss=True) as sampler:
                try:
                    run.exit_status = process.wait(timeout=deadline)
                except subprocess.TimeoutExpired:
                    run.timed_out = True
                    log.warning("%gx: no result after %.0f s; stopping the demo", scale, deadline)
                    _stop(process)
                ended = time.time()
            reader.join(timeout=10)
        run.seconds = round(ended - began, 1)
        samples = sampler.samples
        run.peak_rss = max((s.rss for s in samples), default=0)
        run.peak_pss = max((s.pss for s in samples), default=0)
        run.trace = trace(samples, field="pss")
        if timings and timings_file.exists():
            run.stage_source = "--timings"
            spans = [(s["stage"], float(s["started"]), float(s["ended"]))
                     for s in json.loads(timings_file.read_text())]  # fmt: skip
        else:
            run.stage_source = "output lines"
            spans = _spans_from_lines(lines, began, ended)
        run.stages = _stages(spans, samples)
        if run.exit_status not in (0, None):
            run.error = f"demo exit status {run.exit_status}: {_tail(stderr_path, 3)}"
            output = "\n".join(line for _, line in lines[-15:])
            log.error("%gx: the demo failed; its last output:\n%s\n%s", scale, output,
                      _tail(stderr_path, 40, "\n"))  # fmt: skip
        log.info("%gx: %.0f s, peak tree RSS %.0f MiB, PSS %.0f MiB, stages %s", scale,
                 run.seconds, run.peak_rss / MIB, run.peak_pss / MIB,
                 [(s["stage"], s["seconds"]) for s in run.stages])  # fmt: skip
    finally:
        _stop_services(env)
        shutil.rmtree(home, ignore_errors=True)
    return run


def _read_lines(process: subprocess.Popen[bytes], lines: list[tuple[float, str]]) -> None:
    """Collect the demo's output lines with their arrival times (progress bars redraw with
    carriage returns: each redraw counts as a line)."""
    assert process.stdout is not None
    pending = b""
    while chunk := os.read(process.stdout.fileno(), 65536):
        now = time.time()
        pending += chunk
        *complete, pending = re.split(rb"[\r\n]", pending)
        lines.extend((now, line.decode(errors="replace")) for line in complete)
    if pending:
        lines.append((time.time(), pending.decode(errors="replace")))


def _spans_from_lines(
    lines: list[tuple[float, str]], began: float, ended: float
) -> list[tuple[str, float, float]]:
    """Stages from the demo's output (see STAGE_ENDS); an unfinished stage ends at ``ended``."""
    spans = []
    start, index = began, 0
    for stage, pattern in STAGE_ENDS:
        finish = None
        while index < len(lines):
            at, text = lines[index]
            index += 1
            if pattern.match(text):
                finish = at
                break
        spans.append((stage, start, finish if finish is not None else ended))
        if finish is None:
            break
        start = finish
    return spans


def _stages(spans: list[tuple[str, float, float]], samples: list[Sample]) -> list[dict[str, Any]]:
    """Seconds and peak tree RSS and PSS per stage (a stage shorter than the sampling
    interval gets the samples next to it)."""
    out = []
    for stage, started, finished in spans:
        inside = [s for s in samples if started - SAMPLE_SECONDS <= s.at <= finished]
        out.append({
            "stage": stage,
            "seconds": round(finished - started, 1),
            "peak_rss_mib": round(max(s.rss for s in inside) / MIB, 1) if inside else None,
            "peak_pss_mib": round(max(s.pss for s in inside) / MIB, 1) if inside else None,
        })  # fmt: skip
    return out


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the demo's process group, SIGKILL after a grace period."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _stop_services(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*POSTWISE, "services", "stop"], env=env, cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=180, check=False,
    )  # fmt: skip
    log.info("services stop: %s", " / ".join(done.stdout.split("\n")).strip(" /") or done.stderr)


def _tail(path: Path, lines: int, separator: str = " | ") -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return separator.join(text[-lines:])


def _total_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


# --- the report ---------------------------------------------------------------------------------


def _results(runs: list[Run]) -> list[dict[str, Any]]:
    base = runs[0] if runs and runs[0].scale == 1.0 and runs[0].stages else None
    base_stages = {s["stage"]: s for s in base.stages} if base else {}
    out: list[dict[str, Any]] = []
    for run in runs:
        tag = f"{run.scale:g}x"
        detail = {
            "contacts": run.contacts, "work_ratio": run.scale, "stages": run.stages,
            "stage_source": run.stage_source, "pss_trace_s_mib": run.trace,
        }  # fmt: skip
        problem = run.error or (f"timed out after {run.seconds:.0f} s" if run.timed_out else None)
        if problem and not run.stages:
            out.append({"metric": f"loop_{tag}_total_seconds", "value": None, "unit": "s",
                        "baseline": None, "ratio": None, "target": "completes",
                        "meets_target": False, "skipped": problem})  # fmt: skip
            continue
        base_seconds, base_rss, base_pss = (
            (base.seconds, base.peak_rss / MIB, base.peak_pss / MIB) if base else (None,) * 3
        )
        out.append(_entry(f"loop_{tag}_total_seconds", run.seconds, "s", base_seconds,
                          run.scale, problem, **detail))  # fmt: skip
        out.append(_entry(f"loop_{tag}_peak_tree_pss_mib", run.peak_pss / MIB, "MiB", base_pss,
                          run.scale, problem))  # fmt: skip
        out.append(_entry(f"loop_{tag}_peak_tree_rss_mib", run.peak_rss / MIB, "MiB", base_rss,
                          run.scale, problem))  # fmt: skip
        for stage in run.stages:
            before = base_stages.get(stage["stage"], {})
            out.append(_entry(
                f"loop_{tag}_{_slug(stage['stage'])}_seconds", stage["seconds"], "s",
                before.get("seconds"), run.scale, problem,
                peak_pss_mib=stage["peak_pss_mib"], peak_rss_mib=stage["peak_rss_mib"],
                baseline_peak_pss_mib=before.get("peak_pss_mib"),
            ))  # fmt: skip
    if base is not None:
        gib = base.peak_pss / 1024**3
        problem = base.error or ("timed out" if base.timed_out else None)
        fits = gib <= MEMORY_BUDGET_GIB and problem is None
        out.append({
            "metric": "demo_1x_peak_tree_pss_gib", "value": round(gib, 2), "unit": "GiB",
            "baseline": {"name": "memory budget", "value": MEMORY_BUDGET_GIB},
            "ratio": round(gib / MEMORY_BUDGET_GIB, 3),
            "target": f"<= {MEMORY_BUDGET_GIB:g} GiB", "meets_target": fits,
            "peak_tree_rss_gib": round(base.peak_rss / 1024**3, 2),
            **({"error": f"up to the failure only: {problem}"} if problem else {}),
        })  # fmt: skip
    return out


def _slug(stage: str) -> str:
    """A stage's name as part of a metric: "assets (dbt, training)" -> "assets"."""
    return re.sub(r"[^a-z0-9]+", "_", stage.split("(")[0].lower()).strip("_")


def _entry(
    metric: str,
    value: float,
    unit: str,
    baseline: float | None,
    scale: float,
    problem: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """A figure of one scale beside the 1x run's; the target states linear growth
    (ratio against the work ratio) and is reported, not enforced."""
    entry: dict[str, Any] = {
        "metric": metric,
        "value": round(value, 1),
        "unit": unit,
        "baseline": {"name": "1x run", "value": round(baseline, 1)} if baseline else None,
        "ratio": round(value / baseline, 2) if baseline else None,
        "target": f"reported (work x{scale:g})",
        "meets_target": problem is None,
        **extra,
    }
    if problem:
        entry["error"] = problem
    return entry


if __name__ == "__main__":
    sys.exit(main())
