"""The demo's campaign: one newsletter to every consenting contact, made and sent over the
API (or queued directly), delivered by a worker per region to the simulator's providers on
loopback, with outcomes back through the inbound listener and the tracking endpoints; and
its messages by route and outcome."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from delivery.retry import RetryPolicy
from warehouse.db import Cells
from warehouse.model_outputs import active_pauses, resume_sender

from .console import echo, table
from .demo_api import (
    PlannedSend,
    issue_campaign_key,
    release_schedule,
    resume_paused,
    send_campaign_through_api,
)
from .settings import Settings
from .stack import api_process, outside_world

if TYPE_CHECKING:
    from delivery.worker import Worker, WorkerOptions
    from simulator.engagement_http import SendContext
    from simulator.world import Recipient

log = logging.getLogger(__name__)


class DemoError(RuntimeError):
    """The demo could not complete a step."""


# ---------------------------------------------------------------------------------------
# A campaign through the whole path: queue, workers, simulated providers, reports to the
# inbound listener, recipients on the tracking endpoints, and the outcome read back from
# the warehouse.

CAMPAIGN_TEMPLATE = "demo-campaign"
TERMINAL = ("delivered", "bounced", "failed", "suppressed", "cancelled")
HELD_PROGRESS = 2  # messages finished per window that still count as held back
# Demo time is compressed: retries after seconds instead of hours, Yahoo's batch windows
# ten seconds of every thirty instead of ten minutes of every thirty.
DEMO_RETRY = RetryPolicy(
    first_delay=timedelta(seconds=2),
    min_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=6),
    fallback_after=2,
    max_attempts=3,
)
DEMO_YAHOO_WINDOW = (timedelta(seconds=10), timedelta(seconds=30))


@dataclass(frozen=True)
class CampaignOptions:
    """One campaign to every consenting contact of the simulated organization."""

    contacts: int  # the simulated history's size, seed and days: its world is the truth
    days: int
    seed: int = 7
    org_slug: str = "acme"
    limit_per_region: int | None = None  # fewer messages (tests)
    human_delay_seconds: float = 11.0
    deadline_seconds: float = 240.0
    held_after_seconds: float = 30.0  # (almost) no progress this long: throttled
    concurrency: int = 16
    progress_every_seconds: float = 5.0
    after_accept_bounce_rate: float = 0.005  # DSNs beyond the world's disabled mailboxes
    extra_complaint_rate: float = 0.0  # complaints beyond the world's latent truth
    through_api: bool = False  # made and sent over the API, send-time optimized
    holdout_share: float = 0.2  # the send-time control arm (through the API)


@dataclass(frozen=True)
class RouteRow:
    """What happened on one route, read from ``email_events``."""

    route: str
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    bounce_reasons: tuple[tuple[str, int], ...] = ()
    failed: int = 0
    suppressed: int = 0  # not sent: suppression list, consent, contact status
    opened: int = 0  # messages with a human open
    clicked: int = 0  # messages with a human click
    complained: int = 0
    unsubscribed: int = 0


@dataclass
class CampaignResult:
    campaign_id: uuid.UUID
    org_id: uuid.UUID
    messages: int
    statuses: Counter[str]
    routes: list[RouteRow]
    reports: dict[str, int]
    seconds: float
    plan: list[PlannedSend] = field(default_factory=list)  # through the API: the schedule
    api_report: dict[str, object] = field(default_factory=dict)


def run_campaign(
    settings: Settings,
    cells: Cells,
    database_url: str,
    redis_url: str,
    options: CampaignOptions,
    say: Callable[[str], None] = echo,
) -> CampaignResult:
    """Send one campaign through the whole path and read its outcome back (see above)."""
    from delivery.worker.wiring import worker_options
    from simulator.catalog import org_id_for
    from simulator.dns import DnsServer, sender_records
    from simulator.esp import free_port
    from simulator.outside import history_world, recipients_by_address

    began = time.monotonic()
    org_id = org_id_for(options.org_slug)
    world = history_world(options.seed, options.contacts, options.days)
    recipients = recipients_by_address(world)
    ports = {name: free_port() for name in settings.delivery_routes}
    dns_server = DnsServer()  # the sender's SPF and DMARC, for the API's prechecks
    sender_records(
        dns_server, [f"news.{options.org_slug}.example", f"mail.{options.org_slug}.example"]
    )
    run_settings = settings.model_copy(
        update={
            "simulated_esp_ports": ports,
            "worker_poll_seconds": 0.5,
            "dns_resolver_address": dns_server.address,
            "dns_resolver_port": dns_server.port,
        }
    )
    started_at = datetime.now(UTC) - timedelta(minutes=1)
    log_path = settings.home / "logs" / "demo-api.log"
    with (
        dns_server,
        api_process(run_settings, database_url, redis_url, free_port(), log_path) as api_url,
        outside_world(
            run_settings, cells, redis_url, recipients, listener_port=free_port(),
            seed=options.seed, report_delay_seconds=None, ports=ports,
            after_accept_bounce_rate=options.after_accept_bounce_rate,
            extra_complaint_rate=options.extra_complaint_rate,
        ) as outside,
        _compressed_yahoo_windows(),
    ):  # fmt: skip
        say(
            f"campaign    API {api_url}, providers on ports "
            + ", ".join(f"{n} {p}" for n, p in ports.items())
            + f", inbound listener on {outside.listener_port}"
        )
        if options.through_api:
            campaign_id, queued, plan, api_report = _queue_through_api(
                cells, api_url, org_id, options, settings, say
            )
        else:
            campaign_id, queued = _queue_directly(cells, org_id, options, settings, say)
            plan, api_report = [], {}
        total = sum(queued.values())
        if total == 0:
            raise DemoError(f"organization {options.org_slug!r} has no consenting contacts")
        say(
            f"campaign    {total:,} messages queued ("
            + ", ".join(f"{r} {n:,}" for r, n in queued.items())
            + f") in {time.monotonic() - began:.1f} s"
        )
        run_settings = run_settings.model_copy(update={"tracking_base_url": api_url})
        worker_runs = [
            _WorkerThread(
                run_settings,
                replace(
                    worker_options(run_settings, region=region, concurrency=options.concurrency),
                    retry=DEMO_RETRY,
                    unavailable_delay_seconds=5.0,
                    lease_seconds=30.0,
                ),
                database_url,
                redis_url,
            )
            for region in queued
        ]
        for run in worker_runs:
            run.start()
        try:
            statuses = _wait_for_campaign(cells, campaign_id, total, options, say)
        finally:
            for run in worker_runs:
                run.stop()
        sent_at = time.monotonic()
        flushed = outside.providers.flush_reports()
        say(
            f"reports     {flushed:,} sent to the inbound listener "
            f"({_counts(outside.providers.reports_sent())}); recorded: "
            f"{_counts(outside.recorder.stats)}"
        )
        say(
            f"engagement  recipients of {outside.providers.accepted():,} accepted messages act "
            f"on the tracking endpoints (people after {options.human_delay_seconds:g} s)"
        )
        report = outside.providers.engage(
            human_delay_seconds=options.human_delay_seconds,
            context=send_contexts(plan, world.recipients()),
        )
        say(
            f"engagement  {len(report.outcomes):,} requests in {time.monotonic() - sent_at:.0f} s:"
            f" {report.count('open'):,} opens, {report.count('click'):,} clicks, "
            f"{report.count('unsubscribe'):,} unsubscribes, {len(report.failures):,} failed"
        )
        reports = dict(outside.providers.reports_sent())
    if not options.through_api:
        with cells.connection("control") as conn:
            conn.execute(
                "UPDATE campaigns SET status = 'sent' WHERE campaign_id = %s", (campaign_id,)
            )
    routes = campaign_routes(cells, campaign_id, started_at)
    return CampaignResult(
        campaign_id, org_id, total, statuses, routes, reports, time.monotonic() - began,
        plan, api_report,
    )  # fmt: skip


def _queue_directly(
    cells: Cells,
    org_id: uuid.UUID,
    options: CampaignOptions,
    settings: Settings,
    say: Callable[[str], None],
) -> tuple[uuid.UUID, dict[str, int]]:
    """The campaign written straight into the control database and queued in each cell,
    variants in turn (what `postwise simulate campaign` does)."""
    from simulator.catalog import VARIANTS

    campaign_id = uuid.uuid4()
    with cells.connection("control") as conn:
        template_id = campaign_template(conn, org_id, VARIANTS)
        conn.execute(
            "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, template_id, "
            "template_version, send_strategy, status, scheduled_at) "
            "VALUES (%s, %s, %s, 'marketing', %s, 1, 'immediate', 'sending', now())",
            (campaign_id, org_id, f"Demo campaign {datetime.now(UTC):%Y-%m-%d %H:%M}",
             template_id),
        )  # fmt: skip
    queued = _enqueue_campaign(
        cells, org_id, campaign_id, template_id, options, settings.warmup_days, say
    )
    return campaign_id, queued


def _queue_through_api(
    cells: Cells,
    api_url: str,
    org_id: uuid.UUID,
    options: CampaignOptions,
    settings: Settings,
    say: Callable[[str], None],
) -> tuple[uuid.UUID, dict[str, int], list[PlannedSend], dict[str, object]]:
    """The campaign made and sent over the API (see :mod:`.demo_api`), then released on
    the compressed clock."""
    from serving.client import PostwiseClient
    from simulator.catalog import NEWSLETTER_HTML, VARIANTS

    capped: dict[str, str] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            capped.update(_capped_domains(conn, options.org_slug, settings.warmup_days))
    candidates = [f"news.{options.org_slug}.example", f"mail.{options.org_slug}.example"]
    free = [d for d in candidates if d not in capped]
    # One campaign has one sending domain: the first that no cell's throttle caps.
    domain = free[0] if free else candidates[0]
    for reason in capped.values():
        say(f"campaign    {reason}" + ("" if free else ": the throttle will hold messages"))
    for resumed in resume_paused(cells, org_id, domain):
        log.warning("resumed %s (paused in %s)", domain, resumed)
    api_key, private_pem = issue_campaign_key(cells, options.org_slug, settings.regions)
    client = PostwiseClient(api_url, api_key, private_pem, timeout=600.0)
    try:
        sent = send_campaign_through_api(
            client, domain, VARIANTS, NEWSLETTER_HTML, options.holdout_share, say
        )
    finally:
        client.close()
    plan = release_schedule(cells, sent.campaign_id)
    later = sum(1 for p in plan if p.scheduled_at > datetime.now(UTC))
    say(
        f"clock       {later:,} messages scheduled over the next 24 h released now; each "
        "recipient reads theirs as if it arrived at its scheduled time"
    )
    return sent.campaign_id, sent.queued_by_region, plan, sent.report


def send_contexts(
    plan: Sequence[PlannedSend], recipients: Iterable[Recipient]
) -> dict[str, SendContext]:
    """Each planned recipient's send time and variant, by lower-case address."""
    from simulator.engagement_http import SendContext

    by_contact = {p.contact_id: p for p in plan}
    return {
        r.email.lower(): SendContext(
            by_contact[r.contact_id].scheduled_at, by_contact[r.contact_id].variant
        )
        for r in recipients
        if r.contact_id in by_contact
    }


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in sorted(counts.items())) or "none"


def campaign_template(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    variants: Sequence[Mapping[str, object]],
    name: str = CAMPAIGN_TEMPLATE,
) -> uuid.UUID:
    """The newsletter template ``name`` (version 1, with ``variants``), created once per
    organization."""
    from simulator.catalog import NEWSLETTER_HTML, ensure_template

    return ensure_template(conn, org_id, name, "{{headline}}", NEWSLETTER_HTML, variants)


def _sending_domain(conn: psycopg.Connection, org_slug: str, warmup_days: int) -> tuple[str, str]:
    """The organization's sending domain for the campaign in this cell: its marketing
    domain, unless the throttle would cap it (still warming up, or a reputation under the
    floor, which allows 100 messages an hour); then its other domain if that one is free."""
    capped = _capped_domains(conn, org_slug, warmup_days)
    candidates = [f"news.{org_slug}.example", f"mail.{org_slug}.example"]
    why = "; ".join(capped.values())
    for domain in candidates:
        if domain not in capped:
            return domain, why
    return candidates[0], why + ": the throttle will hold messages back"


def _capped_domains(conn: psycopg.Connection, org_slug: str, warmup_days: int) -> dict[str, str]:
    """The organization's sending domains the throttle caps in this cell, and why."""
    from delivery.throttle import ThrottlePolicy
    from delivery.worker.store import domain_facts

    floor = ThrottlePolicy().reputation_floor
    candidates = [f"news.{org_slug}.example", f"mail.{org_slug}.example"]
    facts = domain_facts(conn, candidates)
    capped = {}
    for domain in candidates:
        fact = facts[domain]
        if fact.age_days < warmup_days:
            capped[domain] = f"{domain} is {fact.age_days:.0f} days into its warm-up"
        elif fact.reputation is not None and fact.reputation < floor:
            capped[domain] = f"{domain} has reputation {fact.reputation:.2f} < {floor:g}"
    return capped


def _enqueue_campaign(
    cells: Cells,
    org_id: uuid.UUID,
    campaign_id: uuid.UUID,
    template_id: uuid.UUID,
    options: CampaignOptions,
    warmup_days: int,
    say: Callable[[str], None],
) -> dict[str, int]:
    """One message per contact with granted marketing consent, in the contact's own cell;
    the idempotency key names the campaign and the contact."""
    from delivery.queue import NewMessage, enqueue

    queued: dict[str, int] = {}
    variables = {
        "headline": "Autumn picks, chosen for you",
        "shop_url": f"https://shop.{options.org_slug}.example/autumn",
    }
    for region in cells.regions:
        with cells.connection(region) as conn:
            domain, why = _sending_domain(conn, options.org_slug, warmup_days)
            if why:
                say(f"campaign    {region} sends from {domain}: {why}")
            contacts = conn.execute(
                "SELECT c.contact_id FROM contacts c JOIN consents k "
                "ON k.contact_id = c.contact_id AND k.channel = 'email' "
                "AND k.purpose = 'marketing' AND k.status = 'granted' "
                "WHERE c.org_id = %s ORDER BY c.contact_id LIMIT %s",
                (org_id, options.limit_per_region),
            ).fetchall()
            for index, (contact_id,) in enumerate(contacts):
                enqueue(
                    conn,
                    NewMessage(
                        org_id, contact_id, "marketing", domain, variables=variables,
                        campaign_id=campaign_id, template_id=template_id, template_version=1,
                        variant="ABC"[index % 3], variant_probability=1 / 3,
                        idempotency_key=f"{campaign_id}:{contact_id}",
                    ),
                )  # fmt: skip
            paused = [
                p for p in active_pauses(conn) if (p.org_id, p.sending_domain) == (org_id, domain)
            ]
            for pause in paused:
                # An earlier run's complaints or the anomaly sensor may have paused the
                # sender; the demo, as its operator, resumes it for this campaign.
                resume_sender(conn, org_id, domain)
                log.warning("resumed %s in %s (paused: %s)", domain, region, pause.reason)
        if contacts:
            queued[region] = len(contacts)
    return queued


class _WorkerThread:
    """One delivery worker of one region, running in a thread of this process."""

    def __init__(
        self, settings: Settings, options: WorkerOptions, database_url: str, redis_url: str
    ) -> None:
        self.options = options
        self._args = (settings, options, database_url, redis_url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"worker-{options.region}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        from delivery.worker.wiring import open_worker

        try:
            with open_worker(*self._args) as worker:

                async def run() -> None:
                    self._loop, self._worker = asyncio.get_running_loop(), worker
                    await worker.run()

                asyncio.run(run())
        except Exception as exc:  # reported by stop(); the campaign wait sees the queue
            log.exception("the %s worker failed", self.options.region)
            self.error = exc

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the worker (in-flight sends finish) and wait for its thread."""
        deadline = time.monotonic() + timeout
        asked = False
        while self._thread.is_alive() and time.monotonic() < deadline:
            if not asked and self._loop is not None and self._worker is not None:
                asked = True  # once: the worker then finishes its in-flight sends
                try:
                    self._loop.call_soon_threadsafe(self._worker.stop)
                except RuntimeError:  # its loop closed already: the worker is ending
                    pass
            self._thread.join(timeout=0.5)
        if self._thread.is_alive():
            raise DemoError(f"the {self.options.region} worker did not stop within {timeout:g} s")


def _wait_for_campaign(
    cells: Cells,
    campaign_id: uuid.UUID,
    total: int,
    options: CampaignOptions,
    say: Callable[[str], None],
) -> Counter[str]:
    """Poll the cells until every message of the campaign is in a terminal state, or the
    rest barely moves for ``held_after_seconds`` (the throttle holds it back: a domain
    warming up or under the reputation floor sends 100 messages an hour, one every 36 s),
    or the deadline passes; progress lines with counts and rates."""
    started = time.monotonic()
    deadline = started + options.deadline_seconds
    last_report = started
    history: deque[tuple[float, int]] = deque()  # (time, finished) over the last window
    while True:
        statuses: Counter[str] = Counter()
        for region in cells.regions:
            with cells.connection(region) as conn:
                statuses.update(
                    dict(
                        conn.execute(
                            "SELECT status, count(*) FROM messages WHERE campaign_id = %s "
                            "GROUP BY status",
                            (campaign_id,),
                        ).fetchall()
                    )
                )
        done = sum(statuses[s] for s in TERMINAL)
        now = time.monotonic()
        if done >= total or now > deadline or now - last_report >= options.progress_every_seconds:
            last_report = now
            say(
                f"sending     {done:,} of {total:,} finished in {now - started:.0f} s "
                f"({done / max(now - started, 1e-9):.0f} msg/s): {_counts(statuses)}"
            )
        history.append((now, done))
        while history and now - history[0][0] > options.held_after_seconds:
            history.popleft()
        if done >= total:
            return statuses
        waiting = statuses["queued"] + statuses["deferred"] + statuses["sending"]
        window_full = now - started >= 2 * options.held_after_seconds
        if window_full and done - history[0][1] <= HELD_PROGRESS:
            say(
                f"throttle    {waiting:,} messages held back (their sending domain is capped; "
                "they go out at the capped rate while workers run)"
            )
            return statuses
        if now > deadline:
            raise DemoError(
                f"the campaign did not finish within {options.deadline_seconds:g} s: "
                f"{_counts(statuses)}"
            )
        time.sleep(0.5)


@contextmanager
def _compressed_yahoo_windows() -> Iterator[None]:
    """Yahoo's batch-window policy on the demo's compressed clock, for this block."""
    from delivery.providers import POLICIES, YahooPolicy

    saved = POLICIES["yahoo"]
    POLICIES["yahoo"] = YahooPolicy(window=DEMO_YAHOO_WINDOW[0], period=DEMO_YAHOO_WINDOW[1])
    try:
        yield
    finally:
        POLICIES["yahoo"] = saved


def campaign_routes(cells: Cells, campaign_id: uuid.UUID, since: datetime) -> list[RouteRow]:
    """The campaign's outcome by route, from ``email_events`` of every cell (an event
    without a route, such as an open, counts on its message's route)."""
    counts: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT coalesce(e.route, m.route, '-'), e.type, e.details->>'reason', "
                "count(*), count(DISTINCT e.message_id) "
                "FROM email_events e JOIN messages m ON m.message_id = e.message_id "
                "WHERE m.campaign_id = %s AND e.event_time >= %s AND NOT e.is_bot "
                "GROUP BY 1, 2, 3",
                (campaign_id, since),
            ).fetchall()
        for route, kind, reason, events, messages in rows:
            per_route = counts.setdefault(route, Counter())
            # Opens and clicks count messages (people open twice); the rest count events.
            per_route[kind] += messages if kind in ("opened", "clicked") else events
            if kind == "bounced":
                reasons.setdefault(route, Counter())[reason or "undefined"] += events
    return [
        RouteRow(
            route,
            delivered=c["delivered"],
            deferred=c["deferred"],
            bounced=c["bounced"],
            bounce_reasons=tuple(reasons.get(route, Counter()).most_common()),
            failed=c["failed"],
            suppressed=c["suppressed"],
            opened=c["opened"],
            clicked=c["clicked"],
            complained=c["complained"],
            unsubscribed=c["unsubscribed"],
        )
        for route, c in sorted(counts.items())
    ]


def campaign_table(routes: list[RouteRow]) -> str:
    """The by-route outcome as a text table, with a total row."""
    headers = ["route", "delivered", "deferred", "bounced", "bounce reasons", "failed",
               "suppressed", "opened", "clicked", "complained", "unsubscribed"]  # fmt: skip
    rows: list[list[object]] = []
    total: Counter[str] = Counter()
    all_reasons: Counter[str] = Counter()
    for row in routes:
        numbers = [row.delivered, row.deferred, row.bounced, row.failed, row.suppressed,
                   row.opened, row.clicked, row.complained, row.unsubscribed]  # fmt: skip
        keys = ["delivered", "deferred", "bounced", "failed", "suppressed", "opened",
                "clicked", "complained", "unsubscribed"]  # fmt: skip
        total.update(dict(zip(keys, numbers, strict=True)))
        all_reasons.update(dict(row.bounce_reasons))
        rows.append([row.route, *(f"{n:,}" for n in numbers[:3]),
                     _reasons(row.bounce_reasons), *(f"{n:,}" for n in numbers[3:])])  # fmt: skip
    rows.append(
        ["total", *(f"{total[k]:,}" for k in ("delivered", "deferred", "bounced")),
         _reasons(tuple(all_reasons.most_common())),
         *(f"{total[k]:,}" for k in ("failed", "suppressed", "opened", "clicked",
                                     "complained", "unsubscribed"))]
    )  # fmt: skip
    return table(headers, rows)


def _reasons(reasons: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{reason} {n:,}" for reason, n in reasons) or "-"
