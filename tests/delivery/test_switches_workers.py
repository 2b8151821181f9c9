"""Switches across two `postwise worker` processes sending one campaign: a pause of
everything, of the region, of the primary route and of the sender each stops the sends at
the simulated ESPs within seconds; a drain of the primary route moves the rest to the next
route; once cleared, every message ends delivered exactly once, none lost. Every change is
in the control audit log."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from worker_kit import WORKER_REGION, CampaignMaker, Person, routes_to, wait_for

from delivery.switches import SwitchRequest, announce, clear, set_switch, topology_of
from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from warehouse.db import Cells

StartEsp = Callable[..., SimulatedEsp]
SENDING_DOMAIN = "news.worker-test.example"  # what worker_kit's campaigns send from
STOP_BOUND_SECONDS = 5.0
QUIET_SECONDS = 2.0  # no delivery for this long: the sends have stopped


def _environment(settings: Settings, database_url: str, redis_url: str, ports: dict) -> dict:
    routes = {
        name: {"host": "127.0.0.1", "port": port, "regions": regions, "tls": "none",
               "rate_per_second": 2000}
        for name, (port, regions) in ports.items()
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(
        POSTWISE_ENV="test", DATABASE_URL=database_url, REDIS_URL=redis_url,
        DATABASE_PREFIX=settings.database_prefix, KEY_ENCRYPTION_KEY=settings.key_encryption_key,
        BLIND_INDEX_KEY=settings.blind_index_key, SECRET_KEY=settings.secret_key,
        ROUTES=json.dumps(routes), ROUTE_PRIMARY="alpha", ROUTE_SECONDARY_EU="alpha",
        ROUTE_SECONDARY_OTHER="beta", ROUTE_FALLBACK_ORDER="alpha,beta", WARMUP_DAYS="0",
        WORKER_LEASE_SECONDS="3", WORKER_POLL_SECONDS="0.2", SWITCH_RECHECK_SECONDS="1",
    )  # fmt: skip
    return env


def _start(env: dict, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "postwise.cli", "-v", "worker", "--region", WORKER_REGION,
             "--concurrency", "2", "--batch-size", "10"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _stop_latency(count: Callable[[], int], set_at: float, timeout: float = 20.0) -> float:
    """Seconds from ``set_at`` to the last send counted before the sends went quiet."""
    last, changed = count(), set_at
    while True:
        time.sleep(0.05)
        now, seen = time.monotonic(), count()
        if seen != last:
            last, changed = seen, now
        elif now - changed >= QUIET_SECONDS:
            return changed - set_at
        if now - set_at > timeout:
            raise AssertionError("the sends never stopped")


class Operator:
    """Sets and clears switches on the workers' control database, as the CLI does."""

    def __init__(self, cells: Cells, settings: Settings, redis_url: str) -> None:
        self.cells, self.settings = cells, settings
        self.client = redis.Redis.from_url(redis_url)
        self.made: list[uuid.UUID] = []

    def set(self, kind: str, **scope: object) -> uuid.UUID:
        request = SwitchRequest(kind, f"test {kind}", **scope)  # type: ignore[arg-type]
        with self.cells.connection("control") as conn:
            switch = set_switch(conn, request, actor="operator:test",
                                topology=topology_of(self.settings))  # fmt: skip
        self.made.append(switch.switch_id)
        announce(self.client, self.settings.database_prefix)
        return switch.switch_id

    def clear(self, switch_id: uuid.UUID) -> None:
        with self.cells.connection("control") as conn:
            clear(conn, switch_id, actor="operator:test")
        announce(self.client, self.settings.database_prefix)

    def audited(self) -> Counter[str]:
        with self.cells.connection("control") as conn:
            rows = conn.execute(
                "SELECT action FROM audit_log WHERE subject = ANY(%s)",
                ([f"switch:{s}" for s in self.made],),
            ).fetchall()
        return Counter(row[0] for row in rows)

    def remove(self) -> None:
        with self.cells.connection("control") as conn:
            conn.execute("DELETE FROM operator_switches WHERE switch_id = ANY(%s)", (self.made,))
        self.client.close()


@pytest.fixture
def operator(worker_cells: Cells, worker_settings: Settings, redis_url: str) -> Iterator[Operator]:
    made = Operator(worker_cells, worker_settings, redis_url)
    yield made
    made.remove()


def test_pauses_stop_two_workers_within_seconds_and_resuming_loses_nothing(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
    operator: Operator,
    tmp_path: Path,
) -> None:
    alpha = esps("alpha", slow_reply_seconds=0.1)
    beta = esps("beta", slow_reply_seconds=0.1)
    ids = make_campaign([Person(f"s{i}@mail.example") for i in range(500)])
    org = make_campaign.orgs[0]
    ports = {"alpha": (alpha.port, ["na", "eu", "apac"]), "beta": (beta.port, ["na", "apac"])}
    env = _environment(worker_settings, database_server_url, redis_url, ports)
    operator.settings = _with_routes(worker_settings, ports)

    def sent() -> int:
        return len(alpha.counters.delivered) + len(beta.counters.delivered)

    workers = [_start(env, tmp_path, f"worker{i}") for i in range(2)]
    latencies: dict[str, float] = {}
    try:
        for name, scope in [
            ("everything", {}),
            ("region", {"region": WORKER_REGION}),
            ("route", {"route": "alpha"}),
            ("sender", {"org_id": org, "sending_domain": SENDING_DOMAIN}),
        ]:
            before = sent()
            wait_for(lambda b=before: sent() >= b + 20, 60, f"sends before the {name} pause")  # type: ignore[misc]
            set_at = time.monotonic()
            switch_id = operator.set("pause", **scope)
            latencies[name] = _stop_latency(sent, set_at)
            assert sent() < len(ids), "the campaign ended before the pause could be seen"
            operator.clear(switch_id)

        # Drain: the primary route takes no new message, the next route takes the rest.
        before = sent()
        wait_for(lambda: sent() >= before + 20, 60, "sends before the drain")
        set_at = time.monotonic()
        operator.set("drain", route="alpha")
        latencies["drain"] = _stop_latency(lambda: len(alpha.counters.delivered), set_at)
        on_beta = len(beta.counters.delivered)
        wait_for(lambda: sent() >= len(ids), 120, "the rest of the campaign")
        wait_for(
            lambda: {s[0] for s in make_campaign.statuses().values()} == {"delivered"},
            30, "every outcome recorded",
        )  # fmt: skip
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(30) for worker in workers]
    assert codes == [0, 0], [(tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2)]

    assert all(latency < STOP_BOUND_SECONDS for latency in latencies.values()), latencies
    assert len(beta.counters.delivered) > on_beta  # the drained route's mail went on beta
    states = make_campaign.statuses()
    events = make_campaign.events()
    assert {states[i][0] for i in ids} == {"delivered"}
    assert all(events[i] == ["sent", "delivered"] for i in ids)
    received = Counter(
        email.message_from_bytes(data)["Message-ID"]
        for esp in (alpha, beta)
        for _, data in esp.counters.delivered
    )
    assert len(received) == len(ids) and max(received.values()) == 1  # none lost, none twice
    assert operator.audited() == {"switch.set": 5, "switch.cleared": 4}
    logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
    assert "holds region apac" in logs and "switches in force" in logs
    print(  # noqa: T201
        "stopped after: " + ", ".join(f"{k} {v:.2f} s" for k, v in latencies.items())
    )


def _with_routes(settings: Settings, ports: dict) -> Settings:
    return routes_to(
        settings,
        {name: (port, tuple(regions)) for name, (port, regions) in ports.items()},
        route_primary="alpha", route_secondary_eu="alpha", route_secondary_other="beta",
        route_fallback_order=("alpha", "beta"),
    )  # fmt: skip
