"""`postwise worker` as a process: killed with SIGKILL in the middle of a campaign another
worker takes its messages over once their leases expire (every message one terminal state,
none lost, duplicates at the ESP no more than the messages in flight at the kill); SIGTERM
lets in-flight sends finish, hands the other claimed messages back and exits 0."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from worker_kit import WORKER_REGION, CampaignMaker, Person, wait_for

from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from warehouse.db import Cells

StartEsp = Callable[..., SimulatedEsp]
ROOT = Path(__file__).resolve().parents[2]


def _environment(settings: Settings, database_url: str, redis_url: str, port: int) -> dict:
    route = {"host": "127.0.0.1", "port": port, "regions": ["na", "eu", "apac"], "tls": "none",
             "rate_per_second": 2000}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(
        POSTWISE_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DATABASE_PREFIX=settings.database_prefix,
        KEY_ENCRYPTION_KEY=settings.key_encryption_key,
        BLIND_INDEX_KEY=settings.blind_index_key,
        SECRET_KEY=settings.secret_key,
        ROUTES=json.dumps({"relay": route}),
        ROUTE_PRIMARY="relay",
        ROUTE_SECONDARY_EU="relay",
        ROUTE_SECONDARY_OTHER="relay",
        ROUTE_FALLBACK_ORDER="relay",
        WARMUP_DAYS="0",
        WORKER_LEASE_SECONDS="3",
        WORKER_POLL_SECONDS="0.2",
    )
    return env


def _start(env: dict, tmp_path: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "postwise.cli", "worker", "--region", WORKER_REGION,
             "--concurrency", "4", "--batch-size", "20", *args],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group: a kill takes its render processes too
        )  # fmt: skip


def _in_flight(cells: Cells, owner_prefix: str) -> int:
    with cells.connection(WORKER_REGION) as conn:
        row = conn.execute(
            "SELECT count(*) FROM messages WHERE status = 'sending' AND lease_owner LIKE %s",
            (owner_prefix + "%",),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_killed_worker_loses_nothing_and_duplicates_at_most_its_in_flight_messages(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
    worker_cells: Cells,
    tmp_path: Path,
) -> None:
    esp = esps("relay", slow_reply_seconds=0.05)
    ids = make_campaign([Person(f"k{i}@mail.example") for i in range(300)])
    env = _environment(worker_settings, database_server_url, redis_url, esp.port)

    first = _start(env, tmp_path, "first")
    wait_for(lambda: len(esp.counters.delivered) >= 60, 60, "the first deliveries")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    at_kill = len(esp.counters.delivered)
    in_flight = _in_flight(worker_cells, f"{os.uname().nodename}:{first.pid}:")
    assert in_flight > 0, "the kill should catch the worker with messages in flight"

    second = _start(env, tmp_path, "second", "--until-idle")
    started = time.monotonic()
    assert second.wait(120) == 0, (tmp_path / "second.log").read_text()
    took = time.monotonic() - started

    states = make_campaign.statuses()
    assert {states[i][0] for i in ids} == {"delivered"}
    events = make_campaign.events()
    assert all(events[i] == ["sent", "delivered"] for i in ids)
    received = Counter(
        email.message_from_bytes(data)["Message-ID"] for _, data in esp.counters.delivered
    )
    assert len(received) == 300  # none lost
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= in_flight
    print(  # noqa: T201
        f"killed after {at_kill} deliveries with {in_flight} in flight; "
        f"{duplicates} duplicates; the second worker finished in {took:.1f} s"
    )


def test_sigterm_finishes_in_flight_sends_and_releases_the_other_leases(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
    worker_cells: Cells,
    tmp_path: Path,
) -> None:
    esp = esps("relay", slow_reply_seconds=0.2)
    ids = make_campaign([Person(f"t{i}@mail.example") for i in range(120)])
    env = _environment(worker_settings, database_server_url, redis_url, esp.port)

    worker = _start(env, tmp_path, "worker")
    owner = f"{os.uname().nodename}:{worker.pid}:"
    wait_for(lambda: len(esp.counters.delivered) >= 10, 60, "the first deliveries")
    held = _in_flight(worker_cells, owner)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0, (tmp_path / "worker.log").read_text()

    states = make_campaign.statuses()
    assert _in_flight(worker_cells, owner) == 0  # no lease left behind
    delivered = [i for i in ids if states[i][0] == "delivered"]
    released = [i for i in ids if states[i][0] == "queued"]
    assert len(delivered) + len(released) == len(ids)
    assert all(states[i][1] == 0 and states[i][4] is None for i in released)  # not an attempt
    assert len(released) > 0 and held > 0
    # Everything the ESP accepted was recorded: in-flight sends finished before exit.
    assert len(esp.counters.delivered) == len(delivered)
    log = (tmp_path / "worker.log").read_text()
    assert "stopped" in log and "released" in log
    print(f"SIGTERM with {held} held: {len(delivered)} delivered, {len(released)} released")  # noqa: T201
