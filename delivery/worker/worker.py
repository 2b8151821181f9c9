"""The delivery worker of one region: claims due messages in batches under a lease, keeps
the leases of its work alive, and sends each message with bounded concurrency per route.

For each message (:mod:`.sending`): the recipient (decrypted), the template version and the
message's variables are turned into MIME bytes (a template that blows up fails that message
alone); the provider policy may refuse it or hold it for its window; a route is chosen
(sender volume over the last hour, breakers, residency); throttle tokens are taken (a short
wait, or the message goes back to the queue for later); suppression and consent are
checked once more; then SMTP, and the outcome is recorded (queue state, events,
suppression) in one transaction. A route that fails (refused or dropped connections,
timeouts, 421, system errors) counts against its breaker and the message tries the next
route that may carry its data, within the same claim.

Manual override switches (:mod:`delivery.switches`, refreshed within about a second): a
pause hands the message back (checked before composing and again right before SMTP), a
pause of the whole region stops claiming, a drain takes routes out of the choice, and a
forced route is taken when it may carry the recipient's data.

The breakers are published to Redis (:mod:`.health`) on every state change and every few
seconds, for the dashboards' route health; a stopping worker withdraws its report.

Stopping (:meth:`Worker.stop`, on SIGTERM or SIGINT): no new claims, messages already in
SMTP finish and are recorded, the rest are handed back to the queue at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from compliance.crypto import PiiCipher
from delivery.fallback import FallbackChannel
from delivery.providers import Pending, policy_for, provider_of
from delivery.routing import CircuitBreaker, RoutingMatrix
from delivery.smtp import SmtpPool
from delivery.switches import SwitchWatcher
from warehouse.model_outputs import active_pauses
from warehouse.switches import active_switches

from ..queue import Claimed, claim_due, release, renew
from .content import Composer
from .health import BreakerReporter
from .options import WorkerOptions
from .sending import Held, MessageSender, SendOptions
from .store import Database, MessageData, Template, domain_facts, load_batch, load_templates
from .throttling import Throttle

log = logging.getLogger(__name__)
T = TypeVar("T")
PAUSES_REFRESH_SECONDS = 5.0
EXECUTOR_THREADS = 8  # plus 4 (see Worker.__init__)
OUTCOMES = ("delivered", "bounced", "deferred", "failed", "suppressed", "lost")


class Worker:
    """One worker for one region cell; its dependencies are wired by the caller."""

    def __init__(
        self,
        options: WorkerOptions,
        db: Database,
        cipher: PiiCipher,
        composer: Composer,
        matrix: RoutingMatrix,
        pools: Mapping[str, SmtpPool],
        throttle: Throttle,
        *,
        breakers: Mapping[str, CircuitBreaker] | None = None,
        rng: random.Random | None = None,
        switches: SwitchWatcher | None = None,
        fallback: FallbackChannel | None = None,
    ) -> None:
        self.options = options
        self.id = options.worker_id
        self.region = options.region
        self.db = db
        self.cipher = cipher
        self.throttle = throttle
        self.breakers = dict(breakers or {name: CircuitBreaker() for name in matrix.routes})
        self.stats: Counter[str] = Counter()
        serving = [r for r in matrix.routes.values() if options.region in r.regions]
        self.capacity = max(options.batch_size, options.concurrency * max(1, len(serving)))
        # A few threads keep the database pool, Redis and composing busy; one per held
        # message would only fight over the GIL (it cost a fifth of the CPU per message).
        self._executor = ThreadPoolExecutor(
            max_workers=min(self.capacity, EXECUTOR_THREADS) + 4,
            thread_name_prefix="delivery-worker",
        )
        # Claims and lease renewals get threads of their own: busy message work (renders,
        # signing) must never delay a heartbeat past the lease.
        self._queue_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="queue")
        send_options = SendOptions(
            options.region, options.concurrency, options.max_throttle_wait_seconds,
            options.unavailable_delay_seconds, options.route_attempts, options.retry,
            options.switch_recheck_seconds,
        )  # fmt: skip
        self._pools = dict(pools)
        # Manual override switches (pause, force_route, drain), from the control database.
        self.switches = switches or SwitchWatcher(
            partial(db.control, active_switches), throttle.client, throttle.prefix,
            db_poll_seconds=options.switch_db_poll_seconds,
        )  # fmt: skip
        self._region_hold: uuid.UUID | None = None
        self._sender_args = (
            self.id, send_options, db, composer, matrix, self._pools, throttle,
            self.breakers, self._executor, self.stats, rng or random.Random(),
        )  # fmt: skip
        self._fallback = fallback
        # Breaker states for the dashboards (warehouse.route_health), through the Redis
        # client the throttle already holds.
        self.health = BreakerReporter(
            self.id, self.region, self.breakers, throttle.client, throttle.prefix,
            every=options.route_health_seconds,
        )  # fmt: skip
        self._templates: dict[tuple[uuid.UUID, int | None], Template] = {}
        self._held: dict[uuid.UUID, Held] = {}
        self._to_release: list[Claimed] = []
        self._reclaimed: dict[uuid.UUID, Claimed] = {}
        self._stopping: asyncio.Event | None = None
        self._room: asyncio.Event | None = None
        self._pauses_at = -1e9

    # --- lifecycle ----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming; sends in SMTP finish, the rest of the claimed work is released."""
        if self._stopping is None or self._stopping.is_set():
            return
        log.info("worker %s stopping with %d messages held", self.id, len(self._held))
        self._stopping.set()
        for held in self._held.values():
            if not held.committed and held.task is not None:
                held.task.cancel()

    @property
    def held(self) -> int:
        """Messages claimed and not yet finished (the in-flight count)."""
        return len(self._held)

    async def run(self) -> Counter[str]:
        """Claim and send until stopped (or idle, with ``exit_when_idle``)."""
        self._stopping, self._room = asyncio.Event(), asyncio.Event()
        self._sender = MessageSender(
            *self._sender_args, switches=self.switches, fallback=self._fallback
        )
        started = time.monotonic()
        await asyncio.to_thread(self.switches.refresh)  # in force before the first claim
        background = [
            asyncio.create_task(self._renew_leases()),
            asyncio.create_task(self._report(started)),
            asyncio.create_task(self._watch_switches()),
            asyncio.create_task(self._publish_health()),
        ]
        log.info(
            "worker %s claims for region %s: batches of %d, %d sends per route, lease %g s",
            self.id, self.region, self.options.batch_size, self.options.concurrency,
            self.options.lease_seconds,
        )  # fmt: skip
        try:
            await self._claim_loop()
        finally:
            self.stop()
            await asyncio.gather(
                *(h.task for h in list(self._held.values()) if h.task), return_exceptions=True
            )
            # Still held once every task has ended: claimed but never started (stopped while
            # the batch was loading, or its task cancelled before it first ran, so its own
            # clean-up never ran either). Released, as unstarted work is.
            self._to_release += [h.message for h in self._held.values()]
            self._held.clear()
            if self._to_release:
                unstarted, self._to_release = self._to_release, []
                self.stats["released"] += await self._queue_call(
                    self.db.region, release, self.id, unstarted
                )
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.to_thread(self.health.withdraw)
            for pool in self._pools.values():
                await pool.close()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._queue_executor.shutdown(wait=False, cancel_futures=True)
            self._log_progress(started, "stopped")
        return self.stats

    async def _claim_loop(self) -> None:
        assert self._stopping is not None and self._room is not None
        while not self._stopping.is_set():
            if self._held_by_switch():
                await _wait(self._stopping, self.options.poll_seconds)
                continue
            room = self.capacity - len(self._held)
            if room < max(1, min(self.options.batch_size, self.capacity) // 2):
                self._room.clear()
                await _wait(self._room, self.options.poll_seconds)
                continue
            batch: list[Claimed] = []
            try:
                batch = await self._queue_call(
                    self.db.region, claim_due, self.id,
                    min(room, self.options.batch_size), self.options.lease_seconds,
                )  # fmt: skip
                # A message still held here came back: its task deferred it for an
                # immediate retry just now, or its lease ran out under load. The task that
                # has it goes on; the new claim is handed back when that task ends.
                for message in batch:
                    if message.message_id in self._held:
                        self._reclaimed[message.message_id] = message
                batch = [m for m in batch if m.message_id not in self._held]
                if batch:
                    self.stats["claimed"] += len(batch)
                    self._held.update({m.message_id: Held(m) for m in batch})
                    data = await self._prepare(batch)
            except Exception:
                # Not renewed, the batch's leases expire and its messages come back.
                log.exception("worker %s could not claim or load a batch", self.id)
                for message in batch:
                    self._held.pop(message.message_id, None)
                await _wait(self._stopping, self.options.poll_seconds)
                continue
            if not batch:
                if self.options.exit_when_idle and not self._held:
                    return
                await _wait(self._stopping, self.options.poll_seconds)
                continue
            if self._stopping.is_set():
                break
            for message in self._order(batch, data):
                held = self._held[message.message_id]
                held.task = asyncio.create_task(self._deliver(held, data.get(message.message_id)))

    async def _deliver(self, held: Held, data: MessageData | None) -> None:
        try:
            await self._sender.deliver(held, data, self._templates)
        except asyncio.CancelledError:
            self._to_release.append(held.message)  # stopping before it reached SMTP
        except Exception:
            # Left leased: the lease expires and the message is claimed again.
            log.exception("worker %s failed on message %s", self.id, held.message.message_id)
            self.stats["errors"] += 1
        finally:
            self._held.pop(held.message.message_id, None)
            again = self._reclaimed.pop(held.message.message_id, None)
            if again is not None:
                await self._hand_back(again)
            assert self._room is not None
            self._room.set()

    async def _hand_back(self, message: Claimed) -> None:
        """Release a claim of a message whose earlier task just ended (fenced: a no-op when
        that task left it in another state)."""
        try:
            await self._queue_call(self.db.region, release, self.id, [message])
        except Exception:
            log.exception("worker %s could not hand back %s", self.id, message.message_id)

    async def _prepare(self, batch: list[Claimed]) -> dict[uuid.UUID, MessageData]:
        """Recipients, templates, domain facts and pauses for a claimed batch."""
        call, db = self._sender.call, self.db
        data = await call(db.region, load_batch, self.cipher, batch)
        missing = {
            (d.template_id, d.template_version)
            for d in data.values()
            if d.template_id is not None
            and (d.template_id, d.template_version) not in self._templates
        }
        if missing:
            self._templates.update(await call(db.control, load_templates, missing))
        stale = self.throttle.stale_domains({m.sending_domain for m in batch if m.sending_domain})
        if stale:
            self.throttle.learn_domains(await call(db.region, domain_facts, stale))
        if time.monotonic() - self._pauses_at > PAUSES_REFRESH_SECONDS:
            pauses = await call(db.region, active_pauses)
            self.throttle.set_paused((p.org_id, p.sending_domain) for p in pauses)
            self._pauses_at = time.monotonic()
        return data

    def _order(self, batch: list[Claimed], data: Mapping[uuid.UUID, MessageData]) -> list[Claimed]:
        """The batch in the order the providers' policies want (Gmail: engaged first)."""
        groups: dict[str, list[Pending]] = {}
        for message in batch:
            found = data.get(message.message_id)
            recipient = found.recipient if found else None
            domain = recipient.domain if recipient else ""
            groups.setdefault(provider_of(domain), []).append(
                Pending(message, domain, recipient.engagement if recipient else 0.0, True)
            )
        ordered: list[Claimed] = []
        for pending in groups.values():
            policy = policy_for(pending[0].recipient_domain)
            ordered += [p.message_id for p in policy.order(pending)]  # type: ignore[misc]
        return ordered

    async def _queue_call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._queue_executor, fn, *args)

    def _held_by_switch(self) -> bool:
        """Whether a pause of every sender of this region is in force: nothing is claimed
        (claimed messages are handed back by the sender's own check)."""
        hold = self.switches.board.holds_region(self.region)
        held_by = hold.switch_id if hold is not None else None
        if held_by != self._region_hold:
            if hold is not None:
                log.warning("worker %s holds region %s: switch %s (%s)", self.id, self.region,
                            hold.switch_id, hold.reason)  # fmt: skip
            else:
                log.warning("worker %s resumes claiming for region %s", self.id, self.region)
            self._region_hold = held_by
        return hold is not None

    # --- background ---------------------------------------------------------------------
    async def _watch_switches(self) -> None:
        """Keep the switches fresh: a cheap version check a couple of times a second."""
        while True:
            await asyncio.sleep(self.options.switch_check_seconds)
            try:
                await asyncio.to_thread(self.switches.refresh)  # off the busy send threads
            except Exception:
                log.exception("worker %s could not refresh its switches", self.id)

    async def _publish_health(self) -> None:
        """Publish the breakers: state changes within a tick, else every few seconds."""
        tick = min(1.0, self.options.route_health_seconds)
        while True:
            try:
                await asyncio.to_thread(self.health.tick)  # Redis I/O off the event loop
            except Exception:
                log.exception("worker %s could not publish route health", self.id)
            await asyncio.sleep(tick)

    async def _renew_leases(self) -> None:
        """Heartbeat: extend the leases of every held message a few times per lease."""
        period = self.options.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            held = [h.message for h in list(self._held.values())]
            if not held:
                continue
            try:
                kept = await self._queue_call(
                    self.db.region, renew, self.id, held, self.options.lease_seconds
                )
            except Exception:
                log.exception("worker %s could not renew its leases", self.id)
                continue
            if kept < len(held):
                # Finished meanwhile, or taken over after a stall; fencing keeps it safe.
                log.debug("worker %s renewed %d of %d leases", self.id, kept, len(held))

    async def _report(self, started: float) -> None:
        while True:
            await asyncio.sleep(self.options.log_every_seconds)
            self._log_progress(started, "progress")

    def _log_progress(self, started: float, what: str) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        done = sum(self.stats[k] for k in OUTCOMES)
        log.info(
            "worker %s %s: %d claimed, %s, %d released, %d route failures, %d failovers, "
            "%d held; %.1f outcomes/s over %.0f s",
            self.id, what, self.stats["claimed"],
            ", ".join(f"{self.stats[k]} {k}" for k in OUTCOMES if self.stats[k]) or "no outcomes",
            self.stats["released"] + self.stats["handed back"], self.stats["route failures"],
            self.stats["failovers"], len(self._held), done / elapsed, elapsed,
        )  # fmt: skip


async def _wait(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass
