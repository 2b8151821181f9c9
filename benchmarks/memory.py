"""Memory stays flat: a delivery worker over a 100,000-message campaign, and an API worker
under sustained load; each process's resident memory (with its children) sampled every
second.

1. Delivery worker: one ``postwise worker`` process (the real command) delivers a campaign
   of 100,000 messages, queued as the delivery benchmark queues them (sealed contacts with
   consent, a template with two variants, temporary cells), to an SMTP sink on loopback
   (Postfix's ``smtp-sink`` when installed, else aiosmtpd's ``Sink`` handler in a process
   of its own). Warm-up ends when 10% of the messages are done.
2. API worker: ``postwise api`` (uvicorn, one worker) under closed-loop load from a client
   process: a few keep-alive connections, half sending signed ``POST /v1/messages``, half
   ``GET /v1/send-time/{id}`` (the serving benchmark's requests, signed in small batches
   just in time), for a bounded time and number of requests. Warm-up is the first sixth of the run.

Growth is (the largest sample after warm-up minus the sample at the end of warm-up) over the
sample at the end of warm-up; the target is under 10%. The baseline column is the memory at
the end of warm-up and the ratio the largest sample after it over that.

    python -m benchmarks.memory                     # 100,000 messages; 180 s of API load
    python -m benchmarks.memory --quick             # 20,000 messages; 60 s of API load
    python -m benchmarks.memory --part api --api-seconds 300
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from benchmarks import delivery, serving
from benchmarks._common import (
    ServerDidNotStart,
    emit,
    http_server,
    machine_info,
    server_url,
    setup_logging,
)
from benchmarks._postfix import PostfixError, Sink, find_tool, free_port, wait_for_port
from benchmarks._rss import MIB, growth, sampling, trace
from postwise.settings import Settings
from postwise.stack import stop_process
from warehouse.db import Cells, connect
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.memory")

GROWTH_LIMIT_PERCENT = 10.0
WARMUP_SHARE = 0.10  # of the campaign's messages
API_WARMUP_SHARE = 1 / 6  # of the API run's time
BATCH = 50  # requests signed at a time
API_CONNECTIONS = 4
API_MAX_REQUESTS = 60_000
TERMINAL = ("delivered", "bounced", "failed", "suppressed", "cancelled")


class MemoryBenchmarkFailed(RuntimeError):
    """A run could not be completed (the message says which and why)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="20,000 messages, 60 s of API load")
    parser.add_argument("--part", choices=["worker", "api", "both"], default="both")
    parser.add_argument("--messages", type=int, help="default 100,000")
    parser.add_argument("--concurrency", type=int, default=32, help="the worker's SMTP sends")
    parser.add_argument("--api-seconds", type=float, help="default 180")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args(argv)
    setup_logging()
    messages = args.messages or (20_000 if args.quick else 100_000)
    api_seconds = args.api_seconds or (60.0 if args.quick else 180.0)

    server = server_url()
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
    results: list[dict[str, Any]] = []
    failed = False
    with delivery._redis_url() as redis_url:
        if args.part in ("worker", "both"):
            try:
                results.append(_worker_run(server, redis_url, messages, args))
            except (MemoryBenchmarkFailed, delivery.BenchmarkFailed, PostfixError) as exc:
                log.error("delivery worker: %s", exc)
                results.append(_failed("delivery_worker_rss_growth_percent", str(exc)))
                failed = True
        if args.part in ("api", "both"):
            try:
                results.append(_api_run(server, redis_url, api_seconds, args.timeout))
            except MemoryBenchmarkFailed as exc:
                log.error("API worker: %s", exc)
                results.append(_failed("api_worker_rss_growth_percent", str(exc)))
                failed = True
    emit("memory", machine, results)
    return 1 if failed or not all(r["meets_target"] for r in results) else 0


def _entry(metric: str, figures: dict[str, Any], **extra: Any) -> dict[str, Any]:
    pct = figures["growth_percent"]
    return {
        "metric": metric,
        "value": pct,
        "unit": "%",
        "baseline": {"name": "RSS at end of warm-up (MiB)", "value": figures["warm_rss_mib"]},
        "ratio": round(figures["max_after_warmup_mib"] / figures["warm_rss_mib"], 3),
        "target": f"< {GROWTH_LIMIT_PERCENT:g}% growth after warm-up",
        "meets_target": pct is not None and pct < GROWTH_LIMIT_PERCENT,
        **figures,
        **extra,
    }


def _failed(metric: str, reason: str) -> dict[str, Any]:
    return {"metric": metric, "value": None, "unit": "%", "baseline": None, "ratio": None,
            "target": f"< {GROWTH_LIMIT_PERCENT:g}% growth after warm-up",
            "meets_target": False, "error": reason}  # fmt: skip


# --- the delivery worker --------------------------------------------------------------------


@contextmanager
def _smtp_sink() -> Iterator[tuple[int, str]]:
    """A loopback SMTP server that accepts and discards everything: (port, what it is)."""
    try:
        find_tool("smtp-sink")
    except PostfixError as exc:
        log.info("%s; using aiosmtpd's Sink handler", exc)
    else:
        with Sink() as sink:
            yield sink.port, "postfix smtp-sink"
        return
    port = free_port()
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
               "-c", "aiosmtpd.handlers.Sink"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, 30.0)
        yield port, "aiosmtpd Sink"
    finally:
        stop_process(process, grace=10.0)


def _worker_run(
    server: str, redis_url: str, messages: int, args: argparse.Namespace
) -> dict[str, Any]:
    prefix = f"pwbench_mem_{secrets.token_hex(3)}"
    options = argparse.Namespace(
        workers=1, concurrency=args.concurrency, batch_size=100, timeout=args.timeout
    )
    with ExitStack() as stack:
        settings = delivery._settings(prefix)
        cells = stack.enter_context(temporary_cells(settings, server))
        stack.callback(delivery._clear_redis, redis_url, prefix)
        campaign = delivery._queue_campaign(cells, settings, messages)
        port, sink_name = stack.enter_context(_smtp_sink())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pwbench-mem-")))
        environment = delivery._worker_environment(prefix, server, redis_url, port, options)
        logs = stack.enter_context(delivery._workers(options, environment, folder))
        delivery._wait_ready(logs, args.timeout)
        worker = _worker_pid()
        log.info("worker %d ready; %d messages become due", worker, messages)
        with sampling(lambda: [worker], 1.0) as sampler:
            with cells.connection(delivery.REGION) as conn:
                conn.execute(
                    "UPDATE messages SET scheduled_at = now(), next_attempt_at = now() "
                    "WHERE org_id = %s",
                    (campaign.org_id,),
                )
            warm_until, done_at, states = _wait_done(cells, campaign.org_id, messages, args)
            time.sleep(1.5)  # one more sample after the last message
        samples = sampler.samples
    started = samples[0].at if samples else done_at
    figures = growth(samples, warm_until)
    own = growth(samples, warm_until, field="root_rss")
    log.info("delivery worker: %s (the worker process alone: %s)", figures, own)
    return _entry(
        "delivery_worker_rss_growth_percent", figures,
        messages=messages, states=dict(states), seconds=round(done_at - started, 1),
        warmup=f"first {WARMUP_SHARE:.0%} of the messages",
        worker_process_alone=own, sink=sink_name, concurrency=args.concurrency,
        rss_trace_s_mib=trace(samples),
    )  # fmt: skip


def _worker_pid() -> int:
    """The ``postwise worker`` process that ``delivery._workers`` started from here."""
    for child in psutil.Process().children():
        try:
            if "worker" in child.cmdline():
                return int(child.pid)
        except psutil.NoSuchProcess:
            continue
    raise MemoryBenchmarkFailed("no worker process among this process's children")


def _wait_done(
    cells: Cells, org_id: Any, messages: int, args: argparse.Namespace
) -> tuple[float, float, Counter[str]]:
    """Poll until every message of the campaign is done: (epoch time at which the warm-up
    share was done, epoch time at which all were, the final states)."""
    deadline = time.monotonic() + args.timeout
    warm_until = 0.0
    last_log = 0.0
    with connect(cells.url(delivery.REGION), autocommit=True) as conn:
        while True:
            states: Counter[str] = Counter(
                dict(conn.execute(
                    "SELECT status, count(*) FROM messages WHERE org_id = %s GROUP BY status",
                    (org_id,),
                ).fetchall())
            )  # fmt: skip
            done = sum(states[s] for s in TERMINAL)
            now = time.time()
            if not warm_until and done >= WARMUP_SHARE * messages:
                warm_until = now
                log.info("warm-up over: %d of %d done", done, messages)
            if done >= messages:
                return warm_until, now, states
            if time.monotonic() > deadline:
                raise MemoryBenchmarkFailed(
                    f"{done} of {messages} messages done after {args.timeout:g} s: {dict(states)}"
                )
            if now - last_log > 10:
                last_log = now
                log.info("%d of %d done", done, messages)
            time.sleep(1.0)


# --- the API worker ---------------------------------------------------------------------------


def _api_run(server: str, redis_url: str, seconds: float, timeout: float) -> dict[str, Any]:
    prefix = f"pwbench_memapi_{secrets.token_hex(3)}"
    settings = Settings(
        _env_file=None,
        database_url=server, redis_url=redis_url, database_prefix=prefix,
    )  # fmt: skip
    port = free_port()
    with ExitStack() as stack:
        cells = stack.enter_context(temporary_cells(settings, server))
        stack.callback(serving._forget_redis_keys, redis_url, prefix)
        creds = serving._seed(cells, settings, 2_000)
        dns_port = stack.enter_context(serving._dns_server())
        env = {
            **{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
            "DATABASE_URL": server, "REDIS_URL": redis_url, "DATABASE_PREFIX": prefix,
            "POSTWISE_ENV": "development",
            "RATE_LIMIT_PER_KEY": str(10**9), "RATE_LIMIT_PER_ORG": str(10**9),
            "DNS_RESOLVER_ADDRESS": "127.0.0.1", "DNS_RESOLVER_PORT": str(dns_port),
            "DNSBL_ZONES": serving.DNSBL_ZONE,
        }  # fmt: skip
        api = stack.enter_context(_api_process(env, port))
        with sampling(lambda: [api], 1.0) as sampler:
            time.sleep(2.0)  # a few samples of the idle server
            started = time.time()
            counts = _load(port, creds, seconds, timeout)
            ended = time.time()
            time.sleep(1.5)
        samples = [s for s in sampler.samples if s.at <= ended + 1.0]
    load = [s for s in samples if s.at >= started]
    figures = growth(load, started + API_WARMUP_SHARE * (ended - started))
    total = sum(counts.values())
    ok = sum(n for status, n in counts.items() if status.startswith("2"))
    log.info("API worker: %d requests (%d ok) in %.0f s: %s", total, ok, ended - started, figures)
    entry = _entry(
        "api_worker_rss_growth_percent", figures,
        requests=total, ok=ok, statuses=dict(counts), seconds=round(ended - started, 1),
        requests_per_second=round(total / (ended - started), 1),
        idle_rss_mib=round(samples[0].rss / MIB, 1) if samples else None,
        warmup=f"first {API_WARMUP_SHARE:.0%} of the run", connections=API_CONNECTIONS,
        rss_trace_s_mib=trace(load),
    )  # fmt: skip
    if ok < 0.99 * total:
        entry["meets_target"] = False
        entry["error"] = f"only {ok} of {total} requests answered 2xx"
    return entry


@contextmanager
def _api_process(env: dict[str, str], port: int) -> Iterator[int]:
    """``postwise api`` on 127.0.0.1:``port`` (one uvicorn worker); yields its pid."""
    command = [sys.executable, "-m", "postwise.cli", "api", "--port", str(port), "--workers", "1"]
    # Its banner goes to stderr: stdout carries only this benchmark's JSON.
    try:
        with http_server(command, env, port, "postwise api", stdout=sys.stderr) as process:
            yield process.pid
    except ServerDidNotStart as exc:
        raise MemoryBenchmarkFailed(str(exc)) from exc


def _load(port: int, creds: serving.Credentials, seconds: float, timeout: float) -> Counter[str]:
    """Run the load generator in a process of its own; the statuses it saw, counted."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    client = context.Process(target=_client_main, args=(port, creds, seconds, theirs))
    client.start()
    theirs.close()
    try:
        if not ours.poll(seconds + timeout):
            raise MemoryBenchmarkFailed("the load generator did not answer")
        counts: Counter[str] = Counter(ours.recv())
    finally:
        client.join(timeout=30)
        if client.is_alive():
            client.terminate()
    return counts


def _client_main(port: int, creds: serving.Credentials, seconds: float, pipe: Connection) -> None:
    """The load generator: closed loop over a few connections until ``seconds`` pass or
    ``API_MAX_REQUESTS`` were sent; sends back the count of each status."""
    setup_logging()
    counts = asyncio.run(_closed_loop(port, creds, seconds))
    pipe.send(dict(counts))
    pipe.close()


async def _closed_loop(port: int, creds: serving.Credentials, seconds: float) -> Counter[str]:
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    sent = 0
    kinds = [
        serving.Phase(f"memory:{method}", port, method, "closed", seconds, 0.0)
        for method in ("POST", "GET")
    ]

    async def work(index: int) -> None:
        nonlocal sent
        conn = await serving._Connection.open(port)
        seed = index * API_MAX_REQUESTS
        while time.monotonic() < deadline and sent < API_MAX_REQUESTS:
            # Signed just in time: the timestamp must be fresh and each nonce unused.
            requests = serving._requests(kinds[index % 2], creds, BATCH, seed)
            seed += BATCH
            for request in requests:
                if time.monotonic() >= deadline:
                    break
                try:
                    status = await conn.exchange(request)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0
                    conn.close()
                    conn = await serving._Connection.open(port)
                counts[str(status)] += 1
                sent += 1
        conn.close()

    await asyncio.gather(*(work(i) for i in range(API_CONNECTIONS)))
    return counts


if __name__ == "__main__":
    sys.exit(main())
