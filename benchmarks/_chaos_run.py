"""One chaos run, step by step (see ``benchmarks._chaos`` for what it does and prints).

Every process and server it starts is registered on the caller's ``ExitStack`` as soon as
it runs, so a failure or the hard deadline still tears everything down: workers (SIGTERM,
then SIGKILL), the bad-request thread, the API, the simulated ESPs and listener, Redis and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._chaos_campaign import (
    database_ready,
    final_states,
    in_flight,
    queue_campaign,
    settings_for,
    statuses,
)
from benchmarks._chaos_checks import TERMINAL, checks, tally_answers, tally_queue, tally_sinks
from benchmarks._chaos_faults import BadRequests, RouteFault
from benchmarks._chaos_fleet import Restart, WorkerFleet, restart_postgres
from benchmarks._common import REPO_ROOT
from postwise.demo_api import issue_campaign_key
from postwise.settings import Settings
from postwise.stack import (
    EmbeddedPostgres,
    EmbeddedRedis,
    api_process,
    outside_world,
    settings_environment,
)
from simulator.esp import free_port
from warehouse.db import Cells

log = logging.getLogger("benchmarks.chaos")

FAIL_ROUTE, SLOW_ROUTE = "virginia", "frankfurt"
FAULTS_AT, RESTART_AT, CHAOS_UNTIL = 0.15, 0.40, 0.90  # shares of the campaign finished
OUTAGE_GRACE_SECONDS = 5.0  # after PostgreSQL answers again its clients still reconnect
PROGRESS_SECONDS = 5.0
ORG = "acme"
DOMAIN = f"news.{ORG}.example"
# The workers' compressed clock: retries after 2, 4, 8 ... s; a dead worker's leases
# expire after 10 s; claims every 0.5 s.
WORKER_ENVIRONMENT = {
    "RETRY_FIRST_DELAY_SECONDS": "2",
    "WORKER_LEASE_SECONDS": "10",
    "WORKER_POLL_SECONDS": "0.5",
    "WARMUP_DAYS": "0",
    "SMTP_TIMEOUT_SECONDS": "15",
    "INGEST_MAX_REQUEST_BYTES": str(64 * 1024),  # oversize bad requests stay cheap
}


class ChaosRun:
    """One run: ``execute`` sets up, drives the chaos, and returns the report."""

    def __init__(self, args: argparse.Namespace, home: Path, stack: ExitStack) -> None:
        self.args = args
        self.home = home
        self.stack = stack
        self.rng = random.Random(args.seed)
        self.restarts: list[Restart] = []
        self.outage_until = 0.0  # monotonic time the PostgreSQL outage (with grace) ends
        self.outage_from = float("inf")
        self.seconds: dict[str, float] = {}
        self.settings: Settings | None = None  # with the API's address, once it runs

    def in_outage(self) -> bool:
        return self.outage_from <= time.monotonic() <= self.outage_until

    def execute(self) -> dict[str, Any]:
        args, stack = self.args, self.stack
        step = time.monotonic()
        pg = EmbeddedPostgres(self.home)
        server_url = pg.start()
        stack.callback(pg.stop)
        redis_service = EmbeddedRedis(self.home)
        redis_url = redis_service.start()
        stack.callback(redis_service.stop)
        log.info("postgresql %s, redis %s", server_url, redis_url)

        ports = {name: free_port() for name in ("primary", "frankfurt", "virginia")}
        os.environ.update(WORKER_ENVIRONMENT)  # read by this process's settings and children
        settings = settings_for(str(self.home), ports)
        cells = stack.enter_context(Cells.from_settings(settings, server_url))
        self._prepare(settings, cells)
        self.seconds["setup"] = round(time.monotonic() - step, 1)

        step = time.monotonic()
        campaign_id, accepted = queue_campaign(cells, ORG, args.messages, DOMAIN)
        total = sum(len(ids) for ids in accepted.values())
        log.info("campaign %s: %d messages accepted (%s) in %.1f s", campaign_id, total,
                 ", ".join(f"{r} {len(i):,}" for r, i in accepted.items()),
                 time.monotonic() - step)  # fmt: skip

        api_port = free_port()
        api_url = stack.enter_context(
            api_process(settings, server_url, redis_url, api_port, self.home / "logs/api.log")
        )
        settings = settings.model_copy(update={"tracking_base_url": api_url})
        self.settings = settings
        outside = stack.enter_context(self._outside(settings, cells, redis_url, ports))
        env = {
            **settings_environment(settings, server_url, redis_url),
            **WORKER_ENVIRONMENT,
            "SIMULATED_ESP_PORTS": json.dumps(ports),
            "PYTHONPATH": str(REPO_ROOT),  # the workers start in the run's home
        }
        fleet = WorkerFleet(env, tuple(accepted), args.workers_per_region, args.concurrency,
                            args.batch_size, self.home / "logs", self.home)  # fmt: skip
        stack.callback(fleet.stop)
        bad = self._bad_requests(cells, api_url)
        stack.callback(bad.stop)

        faults = [RouteFault(FAIL_ROUTE, "fail"),
                  RouteFault(SLOW_ROUTE, "slow", slow_seconds=args.slow_seconds)]  # fmt: skip
        self._checkpoint(settings, cells)
        step = time.monotonic()
        fleet.start()
        bad.start()
        final = self._drive(pg, cells, campaign_id, total, fleet, faults, outside)
        self.seconds["campaign"] = round(time.monotonic() - step, 1)
        for fault in faults:  # never leave a fault on, even when the deadline cut the window
            if fault.began is not None and fault.ended is None:
                fault.apply(outside.providers.esps[fault.route].behaviour, False, 0.0)
        bad.stop()
        fleet.stop()
        reports = outside.providers.flush_reports()
        log.info("%d held reports sent to the inbound listener", reports)
        return self._report(settings, cells, campaign_id, accepted, final, fleet, faults,
                            bad, outside, reports)  # fmt: skip

    def _prepare(self, settings: Settings, cells: Cells) -> None:
        """Migrate, simulate the history, sign audit checkpoints of the chains before."""
        from simulator.history import HistoryOptions, simulate_history
        from warehouse.migrate import migrate_all

        migrate_all(cells)
        contacts = self.args.contacts or int(self.args.messages * 1.4)
        options = HistoryOptions(contacts=contacts, days=self.args.days, seed=self.args.seed,
                                 org_slug=ORG)  # fmt: skip
        began = time.monotonic()
        result = simulate_history(cells, settings, options, progress=False)
        log.info("history: %s (%.0f s)", result.describe(), time.monotonic() - began)

    def _checkpoint(self, settings: Settings, cells: Cells) -> None:
        """Sign a checkpoint of every audit chain's head (before the chaos and after the
        restart): the end verifies each chain against them."""
        from compliance.audit.cells import checkpoint_cells
        from compliance.audit.checkpoints import load_signing_key

        key = load_signing_key(settings.checkpoint_key_file, create=True)
        checkpoint_cells(cells, settings.checkpoint_directory, key)

    def _outside(self, settings: Settings, cells: Cells, redis_url: str,
                 ports: dict[str, int]) -> Any:  # fmt: skip
        from simulator.outside import history_world, recipients_by_address

        world = history_world(self.args.seed, self.args.contacts or int(self.args.messages * 1.4),
                              self.args.days)  # fmt: skip
        return outside_world(
            settings, cells, redis_url, recipients_by_address(world),
            listener_port=free_port(), seed=self.args.seed, report_delay_seconds=None,
            ports=ports,
        )  # fmt: skip

    def _bad_requests(self, cells: Cells, api_url: str) -> BadRequests:
        from serving.auth import generate_signing_key
        from serving.client import PostwiseClient

        key, private = issue_campaign_key(cells, ORG, cells.regions, "chaos")
        client = PostwiseClient(api_url, key, private)
        self.stack.callback(client.close)
        stranger = PostwiseClient(api_url, f"pw_{uuid.uuid4().hex}", generate_signing_key()[0])
        self.stack.callback(stranger.close)
        return BadRequests(client, stranger, api_url, self.in_outage,
                           per_second=self.args.bad_requests_per_second)  # fmt: skip

    def _drive(self, pg: EmbeddedPostgres, cells: Cells,
               campaign_id: uuid.UUID, total: int, fleet: WorkerFleet,
               faults: list[RouteFault], outside: Any) -> Counter[str]:  # fmt: skip
        """Run the chaos until every message is terminal; returns the last status counts."""
        args = self.args
        started = last_kill = last_progress = time.monotonic()
        counts: Counter[str] = Counter()
        restarted = False
        while True:
            now = time.monotonic()
            elapsed = now - started
            try:
                counts = statuses(cells, campaign_id)
            except psycopg.Error:
                time.sleep(0.5)
                continue
            done = sum(counts[s] for s in TERMINAL)
            share = done / total
            if now - last_progress >= PROGRESS_SECONDS or done == total:
                last_progress = now
                log.info("%5.0f s  %d of %d terminal (%.0f msg/s)  %s  kills %d, exits %d",
                         elapsed, done, total, done / max(elapsed, 1e-9),
                         ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
                         len(fleet.kills), len(fleet.unexpected_exits))  # fmt: skip
            if done == total:
                return counts
            fleet.replace_dead(elapsed, self.in_outage())
            chaos = share < CHAOS_UNTIL
            for fault in faults:
                behaviour = outside.providers.esps[fault.route].behaviour
                if fault.began is None and share >= FAULTS_AT:
                    fault.apply(behaviour, True, elapsed)
                    log.info("route %s: %s from %.0f s", fault.route, fault.fault, elapsed)
                elif (
                    fault.ended is None
                    and fault.began is not None
                    and (elapsed - fault.began >= args.fault_seconds)
                ):
                    fault.apply(behaviour, False, elapsed)
                    log.info("route %s: healthy again at %.0f s", fault.route, elapsed)
            if chaos and now - last_kill >= args.kill_every:
                last_kill = now
                self._kill(fleet, cells, elapsed)
            if not restarted and share >= RESTART_AT:
                restarted = True
                self._restart(pg, cells, elapsed)
            time.sleep(0.5)

    def _kill(self, fleet: WorkerFleet, cells: Cells, elapsed: float) -> None:
        def held(region: str, owner: str) -> int:
            try:
                return in_flight(cells, region, owner)
            except psycopg.Error:  # unreadable: the most a worker can hold
                return max(self.args.batch_size, self.args.concurrency * 3)

        kill = fleet.kill_one(self.rng, elapsed, held)
        log.info("kill -9 worker %d (%s) holding %d messages", kill.pid, kill.region,
                 kill.in_flight)  # fmt: skip

    def _restart(self, pg: EmbeddedPostgres, cells: Cells, elapsed: float) -> None:
        self.outage_from, self.outage_until = time.monotonic(), float("inf")
        restart = restart_postgres(
            pg, elapsed, lambda: in_flight(cells),
            lambda: database_ready(cells.url(cells.regions[0])),
        )  # fmt: skip
        self.outage_until = time.monotonic() + OUTAGE_GRACE_SECONDS
        cells.close()  # its pools hold connections the restart cut; new ones open on use
        self.restarts.append(restart)
        try:  # the chains written so far, through the restart, anchored for the end's check
            if self.settings is not None:
                self._checkpoint(self.settings, cells)
        except psycopg.Error as exc:
            log.warning("no audit checkpoint after the restart: %s", exc)
        log.info("postgresql restarted: down %.1f s with %d messages in flight",
                 restart.downtime_seconds, restart.in_flight)  # fmt: skip

    def _report(self, settings: Settings, cells: Cells, campaign_id: uuid.UUID,
                accepted: dict[str, list[uuid.UUID]], final: Counter[str],
                fleet: WorkerFleet, faults: list[RouteFault], bad: BadRequests,
                outside: Any, reports: int) -> dict[str, Any]:  # fmt: skip
        from compliance.audit.cells import verify_cells
        from compliance.audit.checkpoints import load_signing_key

        received = [data for esp in outside.providers.esps.values()
                    for _, data in list(esp.counters.delivered)]  # fmt: skip
        sinks = tally_sinks(received)
        ids = [i for region_ids in accepted.values() for i in region_ids]
        queue = tally_queue(ids, final_states(cells, campaign_id), sinks.ids)
        at_kills = sum(k.in_flight for k in fleet.kills)
        at_restarts = sum(r.in_flight for r in self.restarts)
        answers = tally_answers(bad.answers)
        key = load_signing_key(settings.checkpoint_key_file)
        audits = verify_cells(cells, settings.checkpoint_directory, key.public_key())
        intact = sum(1 for a in audits if a.problem is None)
        verdict = checks(queue, sinks, at_kills + at_restarts, answers, len(audits), intact,
                         self.args.messages)  # fmt: skip
        verdict["postgresql_restarted"] = len(self.restarts) == 1
        verdict["workers_killed"] = len(fleet.kills) > 0
        crashes = [e for e in fleet.unexpected_exits if not e.during_outage]
        verdict["no_worker_crashed"] = not crashes
        verdict["route_faults_applied"] = all(f.began is not None for f in faults)
        return {
            "benchmark": "chaos",
            "machine": {"cpus": os.cpu_count()},
            "campaign": {"id": str(campaign_id), "accepted": queue.accepted,
                         "by_region": {r: len(i) for r, i in accepted.items()},
                         "by_state": queue.by_state, "non_terminal": queue.non_terminal,
                         "lost": queue.lost, "delivered_not_received": queue.delivered_not_received,
                         "received_not_delivered": queue.received_not_delivered,
                         "reports_after_drain": reports},
            "sinks": {"received": sinks.received, "distinct": sinks.distinct,
                      "duplicates": sinks.duplicates, "without_message_id": sinks.without_id,
                      "in_flight_bound": at_kills + at_restarts,
                      "in_flight_at_kills": at_kills, "in_flight_at_restarts": at_restarts,
                      "by_route": {n: len(e.counters.delivered)
                                   for n, e in outside.providers.esps.items()}},
            "workers": {"per_region": self.args.workers_per_region, "started": fleet.started,
                        "killed": len(fleet.kills),
                        "kills": [asdict(k) for k in fleet.kills],
                        "exits_while_postgresql_down": len(fleet.unexpected_exits) - len(crashes),
                        "crashes": [asdict(e) for e in crashes]},
            "postgresql": {"restarts": len(self.restarts),
                           "restart": [asdict(r) for r in self.restarts],
                           "downtime_seconds": sum(r.downtime_seconds for r in self.restarts)},
            "route_faults": [f.describe() for f in faults],
            "bad_requests": answers,
            "audit": {"chains": len(audits), "verified": intact,
                      "entries": {a.database: a.entries for a in audits},
                      "checkpoints_matched": {a.database: a.checkpoints_matched
                                              for a in audits}},
            "seconds": self.seconds,
            "checks": verdict,
        }  # fmt: skip
