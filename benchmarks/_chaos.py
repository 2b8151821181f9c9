"""The chaos suite (`make chaos`): a 20,000-message campaign under faults, then the books.

``python -m benchmarks._chaos [--messages N] [--deadline-minutes M] ...``

On services of its own (a private PostgreSQL and Redis in a temporary home, the API under
uvicorn, the simulated ESPs and the inbound listener on loopback), it simulates a short
history, queues one campaign and runs `postwise worker` processes (``--workers-per-region``
in every region) while, until 90% of the campaign is done:

- a random worker is killed with SIGKILL every ``--kill-every`` seconds and replaced;
- PostgreSQL is restarted (``pg_ctl restart -m fast``: connections cut, a clean shutdown
  and a start with the same options) once 40% of the campaign is done;
- from 15% done, for ``--fault-seconds``, one route answers every RCPT with 451 (``virginia``,
  the preferred route of na and apac above the primary's volume) and another answers DATA
  slowly (``frankfurt``, the EU's);
- bad requests go to the API all along.

When every message is terminal (or the deadline passes) the held DSNs and complaints go to
the inbound listener, and one JSON object is printed on stdout (progress goes to stderr):
the campaign by state, what the sinks received, kills, the restart, the fault windows, the
API's answers and the audit chains, with a ``checks`` block. Exit status 0 only when every
check holds. Not part of `make bench` (the leading underscore keeps it out): it measures
correctness under faults, not speed against a baseline.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from benchmarks._common import REPO_ROOT, setup_logging

log = logging.getLogger("benchmarks.chaos")


class ChaosDeadline(Exception):
    """The run's hard deadline passed."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks._chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--messages", type=int, default=20_000, help="campaign size")
    add("--contacts", type=int, default=0, help="simulated contacts (default: 1.4 x messages)")
    add("--days", type=int, default=2, help="days of simulated history")
    add("--deadline-minutes", type=float, default=20.0, help="hard deadline of the whole run")
    add("--workers-per-region", type=int, default=2)
    add("--concurrency", type=int, default=8, help="SMTP sends in flight per route per worker")
    add("--batch-size", type=int, default=50)
    add("--kill-every", type=float, default=6.0, help="seconds between kill -9s")
    add("--fault-seconds", type=float, default=45.0, help="route fault window")
    add("--slow-seconds", type=float, default=2.0, help="the slow route's delay per DATA")
    add("--bad-requests-per-second", type=float, default=8.0)
    add("--seed", type=int, default=7)
    add("--keep", action="store_true", help="keep the run's home (logs, data) afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chaos suite; print its JSON; 0 when every check holds."""
    setup_logging()
    for noisy in ("httpx", "mail.log"):  # a line per bad request and per SMTP session
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="postwise-chaos-"))

    def expire(signum: int, frame: FrameType | None) -> None:
        raise ChaosDeadline(f"the run passed its {args.deadline_minutes:g}-minute deadline")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(args.deadline_minutes * 60))
    began = time.monotonic()
    from benchmarks._chaos_fleet import FleetBroken
    from benchmarks._chaos_run import ChaosRun

    try:
        with ExitStack() as stack:
            run = ChaosRun(args, home, stack)
            report = run.execute()
    except (ChaosDeadline, FleetBroken) as exc:
        log.error("%s", exc)
        report = {"error": str(exc)}
    finally:
        signal.alarm(0)
        log.info("run home %s %s", home, "kept" if args.keep else "removed")
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    report["wall_seconds"] = round(time.monotonic() - began, 1)
    checks = report.get("checks") or {"completed": False}
    report["passed"] = all(checks.values())
    sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(main())
