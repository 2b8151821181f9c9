"""One claimed message from its recipient to its recorded outcome (see :mod:`.worker`)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg

from compliance.errors import ResidencyViolation
from compliance.residency import CampaignScope, Recipient, validate_residency
from delivery.fallback import FallbackChannel, FallbackResult
from delivery.providers import Pending, policy_for, provider_of
from delivery.routing import CircuitBreaker, NoRouteAvailable, Route, RoutingMatrix, choose_route
from delivery.smtp import SmtpOutcome, SmtpPool
from delivery.switches import SwitchBoard, SwitchWatcher
from delivery.throttle import Grant, Take
from warehouse.events import EmailEvent, EventWriter
from warehouse.model_outputs import pause_sender

from ..outcomes import record_delivered, record_fallback, record_outcome, record_unsent
from ..queue import Claimed, release
from ..retry import RetryPolicy
from .batching import Coalescer
from .content import Composed, Composer
from .errors import MessageFailed
from .store import Database, MessageData, Template, ineligibilities
from .throttling import Throttle

log = logging.getLogger(__name__)
T = TypeVar("T")
ROUTE_FAILURE_REASONS = frozenset({"networkerror", "systemerror"})


@dataclass
class Held:
    """A message this worker holds the lease of."""

    message: Claimed
    task: asyncio.Task[None] | None = None
    committed: bool = False  # in SMTP or recording: finished even when stopping


@dataclass(frozen=True)
class SendOptions:
    region: str
    concurrency: int
    max_throttle_wait_seconds: float
    unavailable_delay_seconds: float
    route_attempts: int
    retry: RetryPolicy
    switch_recheck_seconds: float = 5.0  # a message held by a pause switch is due again after


def is_route_failure(outcome: SmtpOutcome) -> bool:
    """A failure of the route rather than of the recipient (feeds the breaker, fails over)."""
    return outcome.status == "deferred" and (
        outcome.code is None or outcome.code == 421 or outcome.reason in ROUTE_FAILURE_REASONS
    )


class Handback(Exception):
    """The message goes back to the queue unattempted, due again at ``at``."""

    def __init__(self, at: datetime, why: str) -> None:
        super().__init__(why)
        self.at = at


# message, route, fallback route, outcome, sender (org, sending domain)
_Outcome = tuple[Claimed, str, str | None, SmtpOutcome, tuple[Any, str]]


class _EventBuffer:
    """Collects the events of a batch of outcomes for one write."""

    def __init__(self) -> None:
        self.events: list[EmailEvent] = []

    def write(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int:
        self.events.extend(events)
        return len(events)


class MessageSender:
    """Sends claimed messages for one worker; all state is the worker's and in memory."""

    def __init__(
        self,
        worker_id: str,
        options: SendOptions,
        db: Database,
        composer: Composer,
        matrix: RoutingMatrix,
        pools: Mapping[str, SmtpPool],
        throttle: Throttle,
        breakers: Mapping[str, CircuitBreaker],
        executor: Executor,
        stats: Counter[str],
        rng: random.Random,
        *,
        switches: SwitchWatcher | None = None,
        fallback: FallbackChannel | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.options = options
        self.db = db
        self.composer = composer
        self.matrix = matrix
        self.pools = pools
        self.throttle = throttle
        self.breakers = breakers
        self.stats = stats
        self.rng = rng
        # Without a watcher (a sender built on its own), no switch is ever in force.
        self.switches = switches or SwitchWatcher(list, None, "")
        self._unusable_forced: set[Any] = set()  # force_route switches already logged
        self.writer = EventWriter()
        self.fallback = fallback  # the last resort of exhausted messages, for campaigns opting in
        self._executor = executor
        self._slots = {name: asyncio.Semaphore(options.concurrency) for name in pools}
        # Concurrent sends share their eligibility queries and outcome transactions.
        self._eligibility: Coalescer[Claimed, str | None] = Coalescer(
            self._eligibility_batch, self.call
        )
        self._outcomes: Coalescer[_Outcome, str | Exception] = Coalescer(
            self._record_batch, self.call
        )
        # Token takes of concurrent sends go to Redis in one pipeline.
        self._takes: Coalescer[list[Take], Grant] = Coalescer(throttle.buckets.take_many, self.call)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker's threads (database, sandbox, Redis, signing)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def deliver(
        self, held: Held, data: MessageData | None, templates: Mapping[Any, Template]
    ) -> None:
        """Take ``held`` to a recorded outcome, or hand it back to the queue."""
        message = held.message
        try:
            await self._attempt(held, data, templates)
        except MessageFailed as exc:
            await self._unsent(held, "failed", str(exc), {"stage": exc.stage})
        except Handback as exc:
            count = await self.call(self.db.region, release, self.worker_id, [message], exc.at)
            self.stats["handed back"] += count
            log.debug("message %s handed back until %s: %s", message.message_id, exc.at, exc)

    async def _attempt(
        self, held: Held, data: MessageData | None, templates: Mapping[Any, Template]
    ) -> None:
        message = held.message
        if message.attempts > self.options.retry.max_attempts:
            # Claimed again and again without an outcome (say, a worker dying on it).
            raise MessageFailed("attempts", f"no outcome after {message.attempts - 1} claims")
        if data is None:
            raise MessageFailed("contact", "the message row could not be read")
        # A paused sender's mail goes back before any work is spent on it.
        self._check_switches(message, (message.org_id, message.sending_domain or ""), None)
        template = templates.get((data.template_id, data.template_version))
        composed: Composed = await self.call(self.composer.compose, message, data, template)
        assert data.recipient is not None  # compose refuses a message without one
        recipient = data.recipient
        policy = policy_for(recipient.domain)
        pending = Pending(message.message_id, recipient.domain, recipient.engagement,
                          composed.dkim_signed)  # fmt: skip
        refusal = policy.refusal(pending)
        if refusal:
            raise MessageFailed("policy", refusal)
        now = datetime.now(UTC)
        window = policy.next_window(now)
        if window is not None:
            raise Handback(window, f"{policy.name} sends in windows")
        sender = (message.org_id, message.sending_domain or "")
        tried: set[str] = set()
        last: tuple[Route, SmtpOutcome] | None = None
        for _ in range(self.options.route_attempts):
            route = await self._route(message, recipient.region, sender, tried)
            tried.add(route.name)
            _check_route_residency(message, recipient.country, route)
            async with self._slots[route.name]:
                await self._tokens(route, provider_of(recipient.domain), sender[1])
                if self.throttle.is_paused(sender):
                    raise Handback(self._later(), "the sender is paused")
                self._check_switches(message, sender, route.name)  # after the token wait
                reason = await self._eligibility.submit(message)
                if reason:
                    await self._unsent(held, "suppressed", reason, {})
                    return
                breaker = self.breakers[route.name]
                if not breaker.allows(time.monotonic()):
                    continue  # opened while this message waited: the next route
                held.committed = True
                outcome = await self.pools[route.name].send(
                    composed.sender, composed.recipient, composed.data
                )
            if is_route_failure(outcome):
                breaker.record_failure(time.monotonic())
                self.stats["route failures"] += 1
                last = (route, outcome)
                continue
            breaker.record_success()
            await self._record(held, route, outcome, recipient.region, sender, composed)
            return
        if last is None:
            raise Handback(self._later(), "every route's breaker is open")
        await self._record(held, last[0], last[1], recipient.region, sender, composed)

    async def _route(
        self, message: Claimed, region: str, sender: tuple[Any, str], tried: set[str]
    ) -> Route:
        now = time.monotonic()
        board = self.switches.board
        drained = board.drained(message.org_id, sender[1], self.options.region)
        forced = self._forced_route(board, message, region, sender, tried | drained, now)
        if forced is not None:
            return forced
        pinned = self.matrix.routes.get(message.route or "")
        if (
            pinned is not None
            and pinned.name not in tried | drained
            and region in pinned.regions
            and self.breakers[pinned.name].healthy(now)
        ):
            return pinned  # a retry keeps the route (the fallback) it was deferred to
        volume = await self.call(self.throttle.volume_last_hour, sender)
        try:
            decision = choose_route(
                self.matrix, volume, region, self.breakers, now, disabled=frozenset(tried | drained)
            )
        except NoRouteAvailable as exc:
            self.stats["no route"] += 1
            raise Handback(self._later(), str(exc)) from None
        if decision.failed_over:
            self.stats["failovers"] += 1
        return decision.route

    def _check_switches(self, message: Claimed, sender: tuple[Any, str], route: str | None) -> None:
        """Hand the message back while a pause switch holds its sender (or, with a route,
        that route); it is due again soon and goes once the switch is cleared."""
        board = self.switches.board
        pause = board.pause_for(message.org_id, sender[1], self.options.region)
        if pause is None and route is not None:
            pause = board.pause_for(message.org_id, sender[1], self.options.region, route)
        if pause is not None:
            self.stats["held by switch"] += 1
            at = datetime.now(UTC) + timedelta(seconds=self.options.switch_recheck_seconds)
            raise Handback(at, f"paused by switch {pause.switch_id}")

    def _forced_route(
        self,
        board: SwitchBoard,
        message: Claimed,
        region: str,
        sender: tuple[Any, str],
        excluded: set[str] | frozenset[str],
        now: float,
    ) -> Route | None:
        """The route a force_route switch sends this message through, or None (no such
        switch, or its route may not carry the recipient's data or is unusable right now:
        then normal routing decides)."""
        switch = board.forced_route(message.org_id, sender[1], self.options.region)
        if switch is None or switch.route in excluded:
            return None
        route = self.matrix.routes.get(switch.route or "")
        if route is None or region not in route.regions:
            if (switch.switch_id, region) not in self._unusable_forced:
                self._unusable_forced.add((switch.switch_id, region))
                log.warning(
                    "switch %s forces route %s, which %s region %s: routing normally",
                    switch.switch_id, switch.route,
                    "is not configured for" if route is None else "may not carry data of", region,
                )  # fmt: skip
            return None
        if not self.breakers[route.name].healthy(now):
            return None  # a forced route whose breaker is open: the normal failover
        return route

    async def _tokens(self, route: Route, provider: str, domain: str) -> None:
        takes = self.throttle.takes(route, provider, domain)
        while True:
            grant = await self._takes.submit(takes)
            if grant.granted:
                return
            wait = grant.wait_ms / 1000
            if wait > self.options.max_throttle_wait_seconds:
                self.stats["throttled"] += 1
                raise Handback(datetime.now(UTC) + timedelta(seconds=wait), "throttled")
            await asyncio.sleep(wait)

    async def _record(
        self,
        held: Held,
        route: Route,
        outcome: SmtpOutcome,
        region: str,
        sender: tuple[Any, str],
        composed: Composed | None = None,
    ) -> None:
        held.committed = True
        channel = await self._fallback_channel(held.message, outcome)
        if channel is not None and composed is not None:
            recorded: str | Exception = await self._fall_back(
                held.message, route, outcome, composed, channel
            )
        else:
            recorded = await self._outcomes.submit(
                (held.message, route.name, self._fallback(route, region), outcome, sender)
            )
        if isinstance(recorded, Exception):
            raise recorded
        self.stats[recorded] += 1
        stop = self.throttle.note_outcome(route.name, sender, outcome)
        if stop and not self.throttle.is_paused(sender):
            self.throttle.paused.add(sender)
            paused = await self.call(
                self.db.region, pause_sender, sender[0], sender[1], stop, "threshold",
                {"worker": self.worker_id},
            )  # fmt: skip
            if paused:
                log.warning("sender %s/%s paused: %s", sender[0], sender[1], stop)

    async def _fallback_channel(self, message: Claimed, outcome: SmtpOutcome) -> str | None:
        """The fallback channel of a message whose email delivery this outcome exhausts (a
        deferral on its last attempt, every route tried) when its campaign opted in; None
        for any other outcome: bounces, suppressions, consent and residency refusals never
        reach this point or never fall back."""
        if self.fallback is None or message.campaign_id is None:
            return None
        if outcome.status != "deferred" or message.attempts < self.options.retry.max_attempts:
            return None
        return await self.call(self.db.control, self.fallback.channel_for, message.campaign_id)

    async def _fall_back(
        self, message: Claimed, route: Route, outcome: SmtpOutcome, composed: Composed,
        channel: str,
    ) -> str:  # fmt: skip
        """Deliver on the fallback channel and record the one terminal state it leads to."""
        assert self.fallback is not None
        result: FallbackResult = await self.call(
            self.fallback.deliver, self.db.region, message, composed.data, channel,
            self.options.region,
        )  # fmt: skip
        self.stats[f"fallback {'delivered' if result.receipt else 'failed'}"] += 1
        recorded = await self.call(
            self.db.region, record_fallback, self.writer, self.worker_id, message, outcome,
            route.name, self.options.region, result.channel, result.receipt, result.failure,
        )  # fmt: skip
        return recorded.status

    def _eligibility_batch(self, messages: list[Claimed]) -> list[str | None]:
        return self.db.region(ineligibilities, messages)

    def _record_batch(self, outcomes: list[_Outcome]) -> list[str | Exception]:
        recorded = self.db.region(self._record_all, outcomes)
        # The senders' volume for the routing matrix, in one round trip.
        self.throttle.count_sends(
            sender
            for (*_, sender), status in zip(outcomes, recorded, strict=True)
            if not isinstance(status, Exception)
        )
        return recorded

    def _record_all(
        self, conn: psycopg.Connection, outcomes: list[_Outcome]
    ) -> list[str | Exception]:
        """One transaction for a batch of outcomes: the deliveries in one statement, every
        other outcome in a savepoint of its own (one that cannot be recorded fails alone
        and its message stays leased), and the events of all of them in one write."""
        buffer = _EventBuffer()
        recorded: list[str | Exception | None] = [None] * len(outcomes)
        delivered = [i for i, item in enumerate(outcomes) if item[3].status == "delivered"]
        with conn.transaction():  # one commit; each outcome in a savepoint inside
            if delivered:
                try:
                    with conn.transaction():  # the delivered ones (most) in one statement
                        done = record_delivered(
                            conn, buffer, self.worker_id,
                            [(outcomes[i][0], outcomes[i][1], outcomes[i][3]) for i in delivered],
                            region=self.options.region,
                        )  # fmt: skip
                    for i, result in zip(delivered, done, strict=True):
                        recorded[i] = result.status
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise  # the connection is gone: the whole batch is tried again
                except Exception:
                    # Each on its own below, so one bad row does not fail the others.
                    log.exception("could not record %d deliveries together", len(delivered))
                    buffer.events.clear()
            for index, (message, route, fallback, outcome, _) in enumerate(outcomes):
                if recorded[index] is not None:
                    continue
                kept = len(buffer.events)
                try:
                    with conn.transaction():
                        recorded[index] = record_outcome(
                            conn, buffer, self.worker_id, message, outcome, route=route,
                            fallback_route=fallback, region=self.options.region,
                            policy=self.options.retry, rng=self.rng,
                        ).status  # fmt: skip
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise  # the connection is gone: the whole batch is tried again
                except Exception as exc:
                    del buffer.events[kept:]
                    log.exception("could not record the outcome of message %s", message.message_id)
                    recorded[index] = exc
            self.writer.write(conn, buffer.events)
        return [
            status if status is not None else RuntimeError("not recorded") for status in recorded
        ]

    async def _unsent(
        self, held: Held, status: str, reason: str, details: dict[str, object]
    ) -> None:
        held.committed = True
        recorded = await self.call(self._unsent_in_db, held.message, status, reason, details)
        self.stats[recorded] += 1
        log.info("message %s %s: %s", held.message.message_id, recorded, reason)

    def _unsent_in_db(
        self, message: Claimed, status: str, reason: str, details: dict[str, object]
    ) -> str:
        return self.db.region(
            record_unsent, self.writer, self.worker_id, message, status,
            region=self.options.region, reason=reason, details=details,
        ).status  # fmt: skip

    def _fallback(self, route: Route, region: str) -> str | None:
        for name in self.matrix.fallback_order:
            if name != route.name and region in self.matrix.routes[name].regions:
                return name
        return None

    def _later(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.options.unavailable_delay_seconds)


def _check_route_residency(message: Claimed, country: str, route: Route) -> None:
    """The last guard before SMTP: the chosen route may carry this recipient's data. The
    router only offers such routes, so a violation is a configuration fault and the message
    fails rather than leave its region."""
    scope = CampaignScope(
        campaign=str(message.campaign_id or message.message_id),
        route=route.name,
        route_regions=route.regions,
    )
    try:
        validate_residency(Recipient(country), scope)
    except ResidencyViolation as exc:
        raise MessageFailed("residency", f"{exc.code}: {exc.reason}") from None
