"""Rendering in separate worker processes under CPU-time, memory, wall-clock and output-size
limits: a template that explodes fails its own message with a clear error, never the caller.

Each worker process caps its address space (``RLIMIT_AS``) once, and before every render
moves its CPU-time soft limit (``RLIMIT_CPU``, whole seconds) to "now plus the budget"; the
kernel's SIGXCPU is turned into an exception inside the render. A render that outlives the
wall-clock limit (blocked, or too slow to reach its CPU limit) gets its worker processes
killed and the pool rebuilt. Errors cross the process boundary as plain tuples.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import Any

from .errors import RenderError, RenderLimitExceeded, TemplateError
from .mustache import check_input, render_template


@dataclass(frozen=True)
class RenderLimits:
    """Per-render limits of the sandbox."""

    cpu_seconds: float = 2.0
    memory_bytes: int = 512 * 2**20
    wall_seconds: float = 10.0
    max_output_chars: int = 2_000_000


class RenderSandbox:
    """A pool of ``workers`` processes rendering Mustache templates under ``limits``.

    Thread-safe; use as a context manager or call :meth:`close`.
    """

    def __init__(self, limits: RenderLimits | None = None, workers: int = 2) -> None:
        self.limits = limits or RenderLimits()
        self.workers = workers
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        partials: Mapping[str, str] | None = None,
    ) -> str:
        """``template`` rendered with ``context``; :class:`RenderError` when it cannot be."""
        return self.render_many((template,), context, partials)[0]

    def render_many(
        self,
        templates: Sequence[str],
        context: Mapping[str, Any],
        partials: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Each of ``templates`` rendered with the same ``context`` and ``partials`` in one
        trip to a worker process (a message's subject and body); the limits hold for each
        template, the CPU time and wall clock for the whole call. :class:`RenderError` when
        any of them cannot be rendered."""
        for template in templates:  # here too: a lambda cannot even be sent
            check_input(template, context, partials)
        pool = self._ensure_pool()
        future = pool.submit(
            _render_in_worker,
            tuple(templates),
            context,
            partials,
            self.limits.max_output_chars,
            self.limits.cpu_seconds,
        )
        try:
            outcome = future.result(timeout=self.limits.wall_seconds)
        except FutureTimeout:
            self._restart(pool)
            raise RenderLimitExceeded(
                "wall-clock", f"no result after {self.limits.wall_seconds:g} s"
            ) from None
        except BrokenProcessPool:
            self._restart(pool)
            raise RenderLimitExceeded("memory", "the render process was killed") from None
        kind, value, limit = outcome
        if kind == "ok":
            return list(value)
        if kind == "limit":
            raise RenderLimitExceeded(str(limit), str(value))
        raise TemplateError(str(value))

    def warm_up(self) -> None:
        """Start the worker processes now instead of at the first render: starting a fresh
        interpreter takes a good part of a second, which the first messages would wait."""
        pool = self._ensure_pool()
        started = [pool.submit(_ready) for _ in range(self.workers)]
        for future in started:
            future.result(timeout=self.limits.wall_seconds)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> RenderSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    # spawn: a fresh interpreter, never a fork of a process holding threads,
                    # sockets and locks.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.limits.memory_bytes,),
                )
            return self._pool

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken:
                return  # another thread already replaced it
            self._pool = None
        # The executor has no public way to stop a busy worker: kill its processes.
        for process in list(getattr(broken, "_processes", {}).values()):
            process.kill()
        broken.shutdown(wait=False, cancel_futures=True)


class _CpuTimeExceeded(Exception):
    pass


def _on_sigxcpu(signum: int, frame: FrameType | None) -> None:
    raise _CpuTimeExceeded


def _ready() -> bool:
    return True


def _init_worker(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGXCPU, _on_sigxcpu)


def _render_in_worker(
    templates: tuple[str, ...],
    context: Mapping[str, Any],
    partials: Mapping[str, str] | None,
    max_output_chars: int,
    cpu_seconds: float,
) -> tuple[str, list[str] | str, str | None]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        out = [
            render_template(template, context, partials, max_output_chars=max_output_chars)
            for template in templates
        ]
        return ("ok", out, None)
    except _CpuTimeExceeded:
        return ("limit", f"more than {cpu_seconds:g} s of CPU time", "CPU-time")
    except MemoryError:
        return ("limit", "the render needed more memory than allowed", "memory")
    except RenderLimitExceeded as exc:
        return ("limit", str(exc).split(": ", 1)[-1], exc.limit)
    except RenderError as exc:
        return ("error", str(exc), None)
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
