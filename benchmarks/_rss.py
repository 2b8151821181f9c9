"""Resident memory of process trees, sampled in the background, for the scale and memory
benchmarks.

:class:`RssSampler` adds up the RSS of some root processes and all their descendants every
``interval`` seconds on a thread of its own. The roots are asked for at each sample (a
callable), because some of them appear later: the embedded PostgreSQL and Redis daemonize,
so they are not descendants of the process that started them and are found by their pid
files instead. RSS counts a shared page once in every process that maps it, so the RSS of
a tree overstates its memory, much so for PostgreSQL, whose every backend maps the shared
buffers it touched; on request the sampler also adds up PSS (each shared page divided
among the processes sharing it), which sums to the memory the tree really occupies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("benchmarks.rss")

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    rss: int  # bytes, the whole tree
    processes: int
    root_rss: int  # bytes, the first root alone (0 when it is gone)
    pss: int = 0  # bytes, the whole tree (0 unless asked for)


def tree_rss(roots: Iterable[int], pss: bool = False) -> tuple[int, int, int, int]:
    """(RSS of every process under ``roots`` and the roots themselves, how many processes,
    RSS of the first root alone, their PSS when ``pss`` else 0); processes that vanish
    meanwhile are skipped."""
    seen: set[int] = set()
    total = first = proportional = 0
    for index, pid in enumerate(roots):
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
            continue
        for process in family:
            if process.pid in seen:
                continue
            seen.add(process.pid)
            try:
                if pss:
                    full = process.memory_full_info()
                    rss = int(full.rss)
                    proportional += int(full.pss)
                else:
                    rss = int(process.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            if index == 0 and process.pid == pid:
                first = rss
    return total, len(seen), first, proportional


def pid_from_file(path: Path) -> int | None:
    """The pid on the first line of a pid file (PostgreSQL's postmaster.pid, Redis's pid
    file), or None when there is none yet. A negative pid in postmaster.pid is a
    single-user backend (initdb's) that is a child of the caller's tree anyway."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 else None


class RssSampler:
    """Samples the RSS (and PSS, when ``pss``) of the trees under ``roots()`` every
    ``interval`` seconds."""

    def __init__(self, roots: Callable[[], list[int]], interval: float, pss: bool = False) -> None:
        self._roots = roots
        self._interval = interval
        self._pss = pss
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @property
    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def _run(self) -> None:
        while True:
            now = time.time()
            rss, count, root, pss = tree_rss(self._roots(), self._pss)
            if count:
                with self._lock:
                    self._samples.append(Sample(now, rss, count, root, pss))
            if self._stop.wait(max(0.0, now + self._interval - time.time())):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@contextmanager
def sampling(
    roots: Callable[[], list[int]], interval: float, pss: bool = False
) -> Iterator[RssSampler]:
    """An :class:`RssSampler` running for the duration of the block."""
    sampler = RssSampler(roots, interval, pss)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()


def growth(samples: list[Sample], warm_until: float, field: str = "rss") -> dict[str, Any]:
    """Memory growth after warm-up: (the largest sample after ``warm_until`` minus the last
    sample of the warm-up) over the last sample of the warm-up, in percent, with the
    figures it comes from (MiB)."""
    warm = [s for s in samples if s.at <= warm_until]
    after = [s for s in samples if s.at > warm_until]
    if not warm or not after:
        raise ValueError(
            f"need samples on both sides of the warm-up ({len(warm)} before, {len(after)} after)"
        )
    base = getattr(warm[-1], field)
    peak = max(getattr(s, field) for s in after)
    end = getattr(after[-1], field)
    return {
        "warm_rss_mib": round(base / MIB, 1),
        "max_after_warmup_mib": round(peak / MIB, 1),
        "end_rss_mib": round(end / MIB, 1),
        "growth_percent": round((peak - base) / base * 100.0, 2) if base else None,
        "samples_after_warmup": len(after),
    }


def trace(samples: list[Sample], points: int = 40, field: str = "rss") -> list[list[float]]:
    """About ``points`` evenly spaced [seconds from the first sample, MiB] pairs, so a JSON
    report can show the curve without every sample."""
    if not samples:
        return []
    step = max(1, len(samples) // points)
    picked = samples[::step]
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    start = samples[0].at
    return [[round(s.at - start, 1), round(getattr(s, field) / MIB, 1)] for s in picked]
