"""Event ingest: Postwise's bulk writer against psql's raw COPY, events per second.

Postwise side: :class:`warehouse.events.EventWriter` writes the events in batches of
``--batch-size`` (default 50,000) into the daily-partitioned ``email_events``, one
transaction per batch, idempotent by ``(event_id, event_time)``. The timer runs only around
``EventWriter.write`` calls, so it counts everything the product does per batch (row and
JSON encoding of ``details`` dicts, partition checks and creation, the COPY, commit) but
not the benchmark's own row generation.

Baseline, the issue's ceiling: ``psql -c "COPY email_events_flat (...) FROM STDIN" < file``,
the same rows as COPY text into an unpartitioned copy of the table with the same primary
key, indexes, defaults and check constraint: raw COPY with no idempotency and no partition
routing. It is not a hard ceiling at millions of rows: its indexes span the whole table
while each daily partition's stay small and cached, so the writer can overtake it.

Both sides load the same deterministic rows: ~3.4 events per message (queued, sent, then
delivered / deferred / bounced / failed, opens, bot opens, clicks, rare complaints and
unsubscribes) for messages sent over 30 days, so the stream walks through the daily
partitions in time order and late opens land up to five days later (a 50k batch touches
about ten partitions). Each size starts from empty tables (no partitions) and a checkpoint.
After each Postwise load the benchmark checks the row count and that re-writing the first
batch adds nothing (that re-write takes the writer's fallback, merging path).

    python -m benchmarks.ingest                 # 1M and 5M events
    python -m benchmarks.ingest --quick         # 100k events
    python -m benchmarks.ingest --sizes 200000 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.copy import Copy, FileWriter

from benchmarks._common import (
    Stopwatch,
    emit,
    find_psql,
    human_count,
    machine_info,
    result,
    scratch_database,
    server_url,
    setup_logging,
)
from warehouse.db import connect
from warehouse.events import EVENT_COLUMNS, EmailEvent, EventWriter
from warehouse.migrate import apply_migrations

log = logging.getLogger("benchmarks.ingest")

DEFAULT_SIZES = (1_000_000, 5_000_000)
QUICK_SIZES = (100_000,)
# One transaction per 50k events: big enough that the per-batch costs (partition check,
# staging, merge statement, commit and its WAL flush) are amortized, small enough that a
# failed batch is cheap to resend and a batch of Python objects stays around 40 MB.
DEFAULT_BATCH_SIZE = 50_000
DEFAULT_TIME_BUDGET_SECONDS = 45 * 60
MIN_RATIO = 0.7
SEED = 20300101
BASELINE_NAME = "psql COPY FROM STDIN into an unpartitioned copy"
FLAT_TABLE = "email_events_flat"

START = datetime(2030, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
REGION = "na"
ROUTES = ("primary", "primary", "primary", "secondary", "warmup-1")
MX_HOSTS = ("gmail-smtp-in.l.google.com", "mx.outlook.com", "mx.yahoo.com", "mx.example.net")
USER_AGENTS = ("Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Windows NT 10.0)", "GoogleImageProxy")
BOUNCES = (
    (550, "5.1.1", "user unknown"),
    (550, "5.7.1", "blocked by policy"),
    (552, "5.2.2", "mailbox full"),
)


class BudgetExceeded(Exception):
    """The run would exceed ``--time-budget``."""


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class EventStream:
    """Deterministic, realistic email events: the same ``(n, seed)`` gives the same rows."""

    def __init__(self, n: int, seed: int = SEED) -> None:
        self.n = n
        rng = random.Random(seed)
        self.orgs = [_uuid(rng) for _ in range(5)]
        # (org, campaign or None, campaign type); transactional mail has no campaign.
        self.campaigns: list[tuple[uuid.UUID, uuid.UUID | None, str]] = []
        for i in range(300):
            kind = ("marketing", "marketing", "triggered", "transactional")[i % 4]
            campaign = None if kind == "transactional" else _uuid(rng)
            self.campaigns.append((self.orgs[i % len(self.orgs)], campaign, kind))
        self.contacts = [_uuid(rng) for _ in range(max(1000, n // 20))]
        self.seed = seed

    def __iter__(self) -> Iterator[EmailEvent]:
        rng = random.Random(self.seed + 1)
        emitted = 0
        while emitted < self.n:
            # Send times advance with the stream, so ingest walks the days in order.
            sent = START + SPAN * (emitted / self.n) + timedelta(seconds=rng.random() * 600)
            for event in self._message(rng, sent):
                yield event
                emitted += 1
                if emitted == self.n:
                    return

    def _message(self, rng: random.Random, t0: datetime) -> list[EmailEvent]:
        org, campaign, kind = rng.choice(self.campaigns)
        message = _uuid(rng)
        contact = rng.choice(self.contacts)
        route = rng.choice(ROUTES)

        def event(type_: str, at: datetime, details: dict[str, Any], **fields: Any) -> EmailEvent:
            return EmailEvent(
                event_id=_uuid(rng),
                event_time=at,
                message_id=message,
                contact_id=contact,
                org_id=org,
                campaign_id=campaign,
                campaign_type=kind,
                region=REGION,
                type=type_,
                route=route,
                details=details,
                **fields,
            )

        events = [event("queued", t0, {"priority": rng.randrange(3)})]
        roll = rng.random()
        if roll < 0.005:
            events.append(event("suppressed", t0, {"reason": "hard_bounce"}))
            return events
        t = t0 + timedelta(seconds=rng.uniform(0.2, 30))
        events.append(event("sent", t, {"attempt": 1}))
        if roll < 0.01:
            events.append(event("failed", t, {"error": "connection reset"}))
            return events
        if roll < 0.04:
            code, enhanced, diag = rng.choice(BOUNCES)
            events.append(
                event("bounced", t, {"diag": diag}, smtp_code=code, enhanced_code=enhanced)
            )
            return events
        if roll < 0.07:
            events.append(
                event("deferred", t, {"retry_in": 900}, smtp_code=421, enhanced_code="4.7.0")
            )
            t += timedelta(minutes=15)
        t += timedelta(seconds=rng.uniform(0.5, 5))
        mx = rng.choice(MX_HOSTS)
        events.append(
            event("delivered", t, {"mx": mx, "ms": rng.randrange(50, 900)}, smtp_code=250)
        )
        if rng.random() < 0.06:  # privacy proxies "open" right away
            events.append(
                event(
                    "opened",
                    t + timedelta(seconds=rng.uniform(1, 60)),
                    {"ua": "proxy"},
                    is_bot=True,
                )
            )
        if rng.random() < 0.25:
            # Humans open hours to days later: late events for earlier partitions' messages.
            t += timedelta(seconds=min(rng.expovariate(1 / 21600), 5 * 86400))
            ip = f"203.0.113.{rng.randrange(256)}"
            events.append(event("opened", t, {"ua": rng.choice(USER_AGENTS), "ip": ip}))
            if rng.random() < 0.2:
                t += timedelta(seconds=rng.uniform(2, 600))
                link = rng.randrange(6)
                url = f"https://shop.example.com/p/{rng.randrange(10_000)}"
                events.append(event("clicked", t, {"url": url, "link": link}))
            if rng.random() < 0.01:
                events.append(event("unsubscribed", t, {"source": "list_unsubscribe"}))
            elif rng.random() < 0.003:
                events.append(event("complained", t, {"feedback": "abuse"}))
        return events


def batches(stream: EventStream, size: int) -> Iterator[list[EmailEvent]]:
    """The stream in lists of ``size`` events (the last one may be shorter)."""
    it = iter(stream)
    while batch := list(islice(it, size)):
        yield batch


class _DictAsJsonText(Dumper):
    """Text COPY of a ``details`` dict: its JSON, as the writer encodes it."""

    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return _JSON.encode(obj).encode()


_JSON = json.JSONEncoder(separators=(",", ":"))


def write_copy_file(conn: psycopg.Connection, stream: EventStream, path: Path) -> None:
    """Write the stream as COPY text (tab-separated, ``\\N`` for NULL) for psql.

    psycopg formats the rows (its FileWriter sends COPY data to a file instead of the
    server): its C row formatter is several times faster than doing it in Python here.
    """
    with path.open("wb") as out, conn.cursor() as cur:
        cur.adapters.register_dumper(dict, _DictAsJsonText)
        with Copy(cur, writer=FileWriter(out)) as copy:
            for batch in batches(stream, DEFAULT_BATCH_SIZE):
                for event in batch:
                    copy.write_row(event)


def reset_tables(conn: psycopg.Connection) -> None:
    """Empty ``email_events`` (dropping every daily partition, so the writer creates them as
    it would in production) and recreate the unpartitioned copy."""
    conn.execute("SELECT drop_event_partitions_before('9999-01-01')")
    conn.execute(f"DROP TABLE IF EXISTS {FLAT_TABLE}")
    conn.execute(
        f"CREATE TABLE {FLAT_TABLE} (LIKE email_events "
        "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
    )


def checkpoint(conn: psycopg.Connection) -> None:
    """Flush dirty buffers so one side's writes are not paid for during the other's load."""
    try:
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        log.warning("not allowed to CHECKPOINT; the two loads may disturb each other more")


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def run_baseline(url: str, path: Path, n: int, deadline: float) -> float:
    """Time psql's COPY of ``path`` into the flat table; returns seconds."""
    columns = ", ".join(EVENT_COLUMNS)
    command = [
        find_psql(),
        url,
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        f"COPY {FLAT_TABLE} ({columns}) FROM STDIN",
    ]
    with path.open("rb") as rows:
        started = time.perf_counter()
        try:
            subprocess.run(
                command, stdin=rows, check=True, timeout=max(1.0, deadline - time.monotonic())
            )
        except subprocess.TimeoutExpired as exc:
            raise BudgetExceeded(f"psql COPY of {n} rows ran past the time budget") from exc
        return time.perf_counter() - started


def run_postwise(
    conn: psycopg.Connection, stream: EventStream, batch_size: int, deadline: float
) -> tuple[float, list[EmailEvent]]:
    """Write the stream with one EventWriter; returns seconds inside ``write`` and the
    first batch (for the idempotency check)."""
    writer = EventWriter()
    stopwatch = Stopwatch()
    first: list[EmailEvent] = []
    written = inserted = 0
    for batch in batches(stream, batch_size):
        if not first:
            first = batch
        with stopwatch:
            inserted += writer.write(conn, batch)
        written += len(batch)
        if written % (batch_size * 10) == 0 or written == stream.n:
            log.info("postwise: %d events, %.0f events/s", written, written / stopwatch.seconds)
        if time.monotonic() > deadline:
            raise BudgetExceeded(f"the writer ran past the time budget at {written} events")
    if inserted != stream.n:
        raise AssertionError(f"the writer reported {inserted} new events, expected {stream.n}")
    return stopwatch.seconds, first


def measure(
    url: str, n: int, batch_size: int, workdir: Path, deadline: float, rounds: int = 1
) -> dict[str, Any]:
    """Both loads of ``n`` events, ``rounds`` times in turn; returns the result entry with
    the median rate of each side (one round is a baseline load then a Postwise load)."""
    stream = EventStream(n)
    path = workdir / f"events_{n}.copy"
    generated = time.perf_counter()
    with connect(url) as conn:
        write_copy_file(conn, stream, path)
    log.info(
        "generated %d events in %.1f s (%.0f MB of COPY text)",
        n,
        time.perf_counter() - generated,
        path.stat().st_size / 1e6,
    )

    baseline_rates: list[float] = []
    rates: list[float] = []
    checks: list[tuple[int, int]] = []  # (rows stored, rows added by re-writing batch 1)
    with connect(url, autocommit=True) as conn:
        for _ in range(rounds):
            reset_tables(conn)
            checkpoint(conn)
            baseline_seconds = run_baseline(url, path, n, deadline)
            baseline_rates.append(n / baseline_seconds)
            log.info(
                "baseline: %d events in %.1f s, %.0f events/s",
                n,
                baseline_seconds,
                baseline_rates[-1],
            )
            if count(conn, FLAT_TABLE) != n:
                raise AssertionError(f"{FLAT_TABLE} does not hold {n} rows after psql's COPY")
            # Gone before the other load, so its autovacuum cannot compete with the writer.
            conn.execute(f"DROP TABLE {FLAT_TABLE}")
            checkpoint(conn)

            seconds, first = run_postwise(conn, stream, batch_size, deadline)
            rates.append(n / seconds)
            log.info(
                "postwise: %d events in %.1f s, %.0f events/s (%.2f x baseline)",
                n,
                seconds,
                rates[-1],
                rates[-1] / baseline_rates[-1],
            )
            stored = count(conn, "email_events")
            rewritten = EventWriter().write(conn, first)
            log.info("stored %d rows; re-writing the first batch added %d", stored, rewritten)
            checks.append((stored, rewritten))
    path.unlink()

    return result(
        f"events_per_second_{human_count(n)}",
        statistics.median(rates),
        "events/s",
        BASELINE_NAME,
        statistics.median(baseline_rates),
        MIN_RATIO,
        events=n,
        batch_size=batch_size,
        rounds=rounds,
        round_ratios=[round(r / b, 3) for r, b in zip(rates, baseline_rates, strict=True)],
        rows_stored=checks[-1][0],
        rows_correct=all(stored == n for stored, _ in checks),
        rewrite_first_batch_new_rows=max(rewritten for _, rewritten in checks),
        idempotent=all(rewritten == 0 for _, rewritten in checks),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON; exit status 1 when a check failed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        help="numbers of events to load (default: 1000000 5000000)",
    )
    parser.add_argument("--quick", action="store_true", help="alias for --sizes 100000")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="loads per size and side, alternating; medians are reported (noisy machines)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=DEFAULT_TIME_BUDGET_SECONDS,
        help="seconds; sizes that would run past it are skipped",
    )
    args = parser.parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else args.sizes
    setup_logging()

    started = time.monotonic()
    deadline = started + args.time_budget
    results: list[dict[str, Any]] = []
    seconds_per_event = 0.0  # of a whole size (generation, both loads, checks), once known
    with (
        scratch_database(server_url()) as url,
        tempfile.TemporaryDirectory(prefix="pwbench-") as workdir,
    ):
        apply_migrations(url, "cell")
        with connect(url, autocommit=True) as conn:
            machine = machine_info(conn)
        for n in sizes:
            remaining = deadline - time.monotonic()
            if seconds_per_event * n > remaining:
                log.warning(
                    "skipping %d events: about %.0f s needed, %.0f s left",
                    n,
                    seconds_per_event * n,
                    remaining,
                )
                results.append(_skipped(n, args.batch_size, "time budget"))
                continue
            size_started = time.monotonic()
            try:
                results.append(
                    measure(url, n, args.batch_size, Path(workdir), deadline, args.rounds)
                )
            except BudgetExceeded as exc:
                log.warning("%s", exc)
                results.append(_skipped(n, args.batch_size, str(exc)))
                continue
            seconds_per_event = (time.monotonic() - size_started) / n
    log.info("done in %.0f s", time.monotonic() - started)
    emit("ingest", machine, results)
    ok = all(r.get("rows_correct") and r.get("idempotent") for r in results if "skipped" not in r)
    return 0 if ok else 1


def _skipped(n: int, batch_size: int, reason: str) -> dict[str, Any]:
    return {
        "metric": f"events_per_second_{human_count(n)}",
        "value": None,
        "unit": "events/s",
        "baseline": {"name": BASELINE_NAME, "value": None},
        "ratio": None,
        "target": f">= {MIN_RATIO:g} x baseline",
        "meets_target": False,
        "events": n,
        "batch_size": batch_size,
        "skipped": reason,
    }


if __name__ == "__main__":
    raise SystemExit(main())
