"""End-to-end delivery: messages per second from queued to accepted by Postfix's
``smtp-sink``, beside Postfix relaying the same number of messages of the same size to the
same kind of sink, and beside the machine's ceiling (``smtp-source`` straight to the sink).

Three measurements in one run, each against an ``smtp-sink`` of its own on loopback:

1. ceiling: ``smtp-source`` to ``smtp-sink``, N messages over parallel sessions; the rate
   is N over the time until the sink has all N;
2. Postfix: a private Postfix instance (its own configuration and queue in a temporary
   directory, every message relayed to the sink over as many connections as the
   Postwise workers have together, no DNS, limits lifted) fed by ``smtp-source``; N over
   the time from the first submission until the sink has all N;
3. Postwise: N messages of a campaign (sealed contacts with consent, a template with two
   variants) queued in fresh temporary cells, delivered by ``postwise worker`` processes
   (one per core by default) whose every route points at the sink. The workers start
   and report ready first, as deployed workers are; the messages then become due at once,
   and the rate is N over the time from then until every message is recorded delivered
   in the warehouse and the sink has accepted all N. Each message is rendered in the
   sandbox, assembled with tracking and DKIM, routed, throttled, checked for suppression
   and consent, sent and recorded with its events, as in production.

The size of the messages ``smtp-source`` sends is the size of a message Postwise builds
from the campaign. The machine is shared, so the three measurements alternate over a few
rounds (a fresh campaign each) and each reports its best round; every round is listed.
The target is at least Postfix's rate. Needs Postfix's programs and root for the private
instance (``make bench`` installs the Debian package when it is missing), PostgreSQL
(``DATABASE_URL`` or 127.0.0.1:5432) and Redis (``REDIS_URL`` or 127.0.0.1:6379, else
embedded ones).

    python -m benchmarks.delivery                    # 5,000 messages, 2 rounds
    python -m benchmarks.delivery --quick            # 1,000 messages, 1 round
    python -m benchmarks.delivery --messages 20000 --workers 2 --concurrency 32
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from psycopg.types.json import Jsonb

from benchmarks._common import emit, machine_info, result, server_url, setup_logging
from benchmarks._postfix import PostfixError, PostfixInstance, Sink, find_tool, smtp_source
from compliance.crypto import cipher_for
from delivery.message import Tracking, TrackingSigner, TrackingUrls
from delivery.queue import Claimed, NewMessage, enqueue
from delivery.rendering import RenderSandbox
from delivery.worker.content import Composer, DkimKeyring
from delivery.worker.store import MessageData, Recipient, Template
from postwise.settings import RouteSettings, Settings
from warehouse.db import Cells, connect
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.delivery")

REGION = "na"
ROUTE = "sink"
SENDING_DOMAIN = "news.bench.example"
RECIPIENT_DOMAIN = "inbox.bench.example"  # no provider policy: the default order
SESSIONS = 20  # smtp-source's parallel sessions
SUBJECT = "{{first_name}}, this week's picks"
HTML = (
    "<html><head><style>p { color: #333; font-family: Georgia, serif; } "
    ".cta { background: #0a7; color: #fff; padding: 8px 14px; }</style></head><body>"
    "<h1>Hello {{first_name}},</h1>{{> variant_block}}"
    + "".join(
        f"<h2>Pick {i}</h2><p>Our editors chose this one for readers in {{{{country}}}}: a "
        f"story worth the five minutes, with notes from the people who made it and a "
        f"short list of what to read next.</p>"
        f'<p><a class="cta" href="https://shop.example/picks/{i}?c={{{{code}}}}">Read pick '
        f"{i}</a></p>"
        for i in range(1, 7)
    )
    + '<p>You get this because you subscribed. <a href="{{unsubscribe_url}}">Unsubscribe'
    "</a></p></body></html>"
)
VARIANTS = [
    {"key": "A", "blocks": {"variant_block": "<p>Variant A: the long read, {{first_name}}</p>"}},
    {"key": "B", "blocks": {"variant_block": "<p>Variant B: the quick list, {{first_name}}</p>"}},
]


class BenchmarkFailed(RuntimeError):
    """A measurement could not be completed (the message says which and why)."""


@dataclass(frozen=True)
class Campaign:
    org_id: uuid.UUID
    template: Template
    sample_contact: uuid.UUID


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.delivery",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="1,000 messages")
    parser.add_argument("--messages", type=int, default=None, help="default 5,000")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--concurrency", type=int, default=32, help="SMTP sends per worker")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    parser.add_argument("--skip-postfix", action="store_true", help="Postwise and ceiling only")
    parser.add_argument(
        "--rounds", type=int, default=None, help="alternating rounds, best of each (default 2)"
    )
    args = parser.parse_args(argv)
    messages = args.messages or (1_000 if args.quick else 5_000)
    rounds = args.rounds or (1 if args.quick else 2)
    setup_logging()
    try:
        for tool in ("smtp-sink", "smtp-source", *(() if args.skip_postfix else ("postfix",))):
            find_tool(tool)
        if not args.skip_postfix and os.geteuid() != 0:
            raise PostfixError("the private Postfix instance needs root")
    except PostfixError as exc:
        log.error("%s; run make bench-tools, or --skip-postfix", exc)
        emit("delivery", {"cpus": os.cpu_count()}, [])
        return 1

    server = server_url()
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
    prefix = f"pwbench_dlv_{secrets.token_hex(3)}"
    with ExitStack() as stack:
        redis_url = stack.enter_context(_redis_url())
        settings = _settings(prefix)
        cells = stack.enter_context(temporary_cells(settings, server))
        stack.callback(_clear_redis, redis_url, prefix)
        size = 0
        measured: list[dict[str, float | None]] = []
        outcomes: list[dict[str, Any]] = []
        # The machine is shared: the three measurements alternate, and each keeps its best
        # round, so a burst of someone else's work does not decide the ratio.
        for round_number in range(1, rounds + 1):
            log.info("round %d of %d", round_number, rounds)
            campaign = _queue_campaign(cells, settings, messages)
            size = size or _message_size(settings, campaign)
            log.info("%d messages queued; one message is %d bytes", messages, size)
            ceiling = _ceiling(messages, size, args.timeout)
            # Postfix may open as many connections to the sink as all the workers together.
            connections = max(SESSIONS, args.workers * args.concurrency)
            postfix = (
                None if args.skip_postfix
                else _postfix(messages, size, connections, args.timeout)
            )  # fmt: skip
            ours, outcome = _postwise(
                cells, prefix, campaign, server, redis_url, messages, args, settings
            )
            measured.append({"postwise": round(ours, 1), "postfix": postfix and round(postfix, 1),
                             "ceiling": round(ceiling, 1)})  # fmt: skip
            outcomes.append(outcome)

    ours = max(float(r["postwise"] or 0) for r in measured)
    ceiling = max(float(r["ceiling"] or 0) for r in measured)
    baseline = max(float(r["postfix"] or 0) for r in measured)
    entry = result(
        "messages_per_second", ours, "msg/s", "postfix relay to smtp-sink", baseline, 1.0,
        messages=messages, message_bytes=size, workers=args.workers, rounds=measured,
        ceiling={"name": "smtp-source to smtp-sink", "value": round(ceiling, 1)},
        share_of_ceiling=round(ours / ceiling, 3), **_total(outcomes),
    )  # fmt: skip
    if args.skip_postfix:
        entry["skipped"] = "postfix not measured (--skip-postfix)"
    machine["postfix"] = _postfix_version()
    emit("delivery", machine, [entry])
    complete = entry["lost"] == 0 and entry["delivered"] == messages * rounds
    return 0 if complete else 1


def _total(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The outcome counts of every round added up (CPU per 1,000: the rounds' mean)."""
    total: dict[str, Any] = {}
    for outcome in outcomes:
        for key, value in outcome.items():
            if isinstance(value, dict):
                total[key] = dict(Counter(total.get(key, {})) + Counter(value))
            else:
                total[key] = total.get(key, 0) + value
    if outcomes:
        total["worker_cpu_seconds_per_1k"] = round(
            total["worker_cpu_seconds_per_1k"] / len(outcomes), 2
        )
    return total


# --- the baselines -------------------------------------------------------------------------
def _ceiling(messages: int, size: int, timeout: float) -> float:
    with Sink() as sink:
        started = time.monotonic()
        smtp_source(sink.port, messages, size, SESSIONS, timeout)
        done = sink.wait_for(messages, timeout)
    rate = messages / (done - started)
    log.info("ceiling: smtp-source to smtp-sink, %d messages at %.0f/s", messages, rate)
    return rate


def _postfix(messages: int, size: int, connections: int, timeout: float) -> float:
    with Sink() as sink, PostfixInstance(sink.port, concurrency=connections) as instance:
        started = time.monotonic()
        smtp_source(instance.port, messages, size, SESSIONS, timeout)
        submitted = time.monotonic()
        try:
            done = sink.wait_for(messages, timeout)
        except PostfixError as exc:
            raise BenchmarkFailed(
                f"postfix relay: {exc}; {instance.queued()} still queued\n{instance.log_tail()}"
            ) from None
    rate = messages / (done - started)
    log.info(
        "postfix: %d messages submitted in %.1f s, all at the sink after %.1f s: %.0f/s",
        messages, submitted - started, done - started, rate,
    )  # fmt: skip
    return rate


def _postfix_version() -> str | None:
    try:
        done = subprocess.run(
            ["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


# --- Postwise --------------------------------------------------------------------------------
def _settings(prefix: str) -> Settings:
    """The workers' settings (also passed to them as environment variables)."""
    return Settings(
        _env_file=None,
        database_prefix=prefix,
        postwise_env="development",
    )


def _worker_environment(
    prefix: str, server: str, redis_url: str, sink_port: int, args: argparse.Namespace
) -> dict[str, str]:
    route = RouteSettings(
        host="127.0.0.1", port=sink_port, regions=("na", "eu", "apac"), tls="none",
        max_connections=args.concurrency, rate_per_second=1_000_000,
    )  # fmt: skip
    return {
        **os.environ,
        "POSTWISE_ENV": "development",
        "DATABASE_URL": server,
        "REDIS_URL": redis_url,
        "DATABASE_PREFIX": prefix,
        "ROUTES": json.dumps({ROUTE: route.model_dump()}),
        "ROUTE_PRIMARY": ROUTE,
        "ROUTE_SECONDARY_EU": ROUTE,
        "ROUTE_SECONDARY_OTHER": ROUTE,
        "ROUTE_FALLBACK_ORDER": ROUTE,
        # A new sending domain would start its 14-day warm-up at 50 an hour; the sink is
        # not a mailbox provider, so neither warm-up nor provider buckets hold it back.
        "WARMUP_DAYS": "0",
        "PROVIDER_RATE_PER_SECOND": "1000000",
        "WORKER_POLL_SECONDS": "0.1",
    }


def _queue_campaign(cells: Cells, settings: Settings, messages: int) -> Campaign:
    """An organization, a template with two variants, and ``messages`` sealed contacts with
    marketing consent, each with one message queued for an hour from now (the benchmark
    makes them due once the workers are ready)."""
    org_id, template_id, campaign_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, %s)",
            (org_id, "Delivery Benchmark", f"bench-{org_id.hex[:12]}", REGION),
        )
        conn.execute(
            "INSERT INTO templates (template_id, org_id, name) VALUES (%s, %s, 'weekly')",
            (template_id, org_id),
        )
        conn.execute(
            "INSERT INTO template_versions (template_id, version, subject, content, variants) "
            "VALUES (%s, 1, %s, %s, %s)",
            (template_id, SUBJECT, Jsonb({"html": HTML}), Jsonb(VARIANTS)),
        )
    cipher = cipher_for(settings)
    later = datetime.now(UTC) + timedelta(hours=1)
    contacts, consents, queued = [], [], []
    for index in range(messages):
        contact_id = uuid.uuid4()
        sealed = cipher.seal_contact(
            contact_id, f"reader{index}@{RECIPIENT_DOMAIN}", f"Reader{index} Example"
        )
        contacts.append(
            (
                contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version,
                RECIPIENT_DOMAIN, "US", REGION, Jsonb({"code": f"C{index}"}),
            )
        )  # fmt: skip
        consents.append((contact_id,))
        queued.append(
            NewMessage(
                org_id, contact_id, "marketing", SENDING_DOMAIN, campaign_id=campaign_id,
                template_id=template_id, template_version=1, variant="AB"[index % 2],
                scheduled_at=later, idempotency_key=f"bench-{index}",
            )
        )  # fmt: skip
    started = time.monotonic()
    with cells.connection(REGION) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, "
                "email_blind_index, name_ciphertext, wrapped_data_key, kek_version, "
                "email_domain, country, region, time_zone, attributes) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'UTC', %s)",
                contacts,
            )
            cur.executemany(
                "INSERT INTO consents (contact_id, purpose, status, policy_version) "
                "VALUES (%s, 'marketing', 'granted', 'v1')",
                consents,
            )
        for message in queued:
            enqueue(conn, message)
    log.info("queued %d messages in %.1f s", messages, time.monotonic() - started)
    template = Template(template_id, 1, SUBJECT, {"html": HTML}, VARIANTS)
    return Campaign(org_id, template, contacts[0][0])


def _message_size(settings: Settings, campaign: Campaign) -> int:
    """The size of one message of the campaign as the workers build it."""
    tracking = Tracking(
        TrackingSigner(settings.tracking_secret),
        TrackingUrls(settings.tracking_base_url),
        unsubscribe_mailbox=f"unsubscribe@{settings.bounce_domain}",
    )
    with RenderSandbox(workers=1) as sandbox:
        composer = Composer(
            sandbox, tracking, DkimKeyring({}, generate_missing=True), settings.bounce_domain
        )
        message = Claimed(
            uuid.uuid4(), "marketing", campaign.org_id, campaign.sample_contact, None,
            SENDING_DOMAIN, 1, 5, None, datetime.now(UTC),
        )  # fmt: skip
        recipient = Recipient(
            campaign.sample_contact, f"reader0@{RECIPIENT_DOMAIN}", "Reader0 Example",
            RECIPIENT_DOMAIN, "US", REGION, "UTC", "en", {"code": "C0"}, 0.0,
        )  # fmt: skip
        data = MessageData(message.message_id, campaign.template.template_id, 1, "A", {},
                           recipient)  # fmt: skip
        return len(composer.compose(message, data, campaign.template).data)


def _postwise(
    cells: Cells,
    prefix: str,
    campaign: Campaign,
    server: str,
    redis_url: str,
    messages: int,
    args: argparse.Namespace,
    settings: Settings,
) -> tuple[float, dict[str, Any]]:
    with Sink() as sink, tempfile.TemporaryDirectory(prefix="pwbench-workers-") as folder:
        environment = _worker_environment(prefix, server, redis_url, sink.port, args)
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with _workers(args, environment, Path(folder)) as logs:
            _wait_ready(logs, args.timeout)
            started = time.monotonic()
            with cells.connection(REGION) as conn:
                conn.execute(
                    "UPDATE messages SET scheduled_at = now(), next_attempt_at = now() "
                    "WHERE org_id = %s",
                    (campaign.org_id,),
                )
            delivered_at = _wait_delivered(cells, campaign.org_id, messages, started, args)
            sunk_at = sink.wait_for(messages, max(1.0, started + args.timeout - time.monotonic()))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        accepted = sink.accepted
        worker_lines = [_last_line(path) for path in logs]
    finished = max(delivered_at, sunk_at)
    rate = messages / (finished - started)
    states, events = _outcomes(cells, campaign.org_id)
    cpu = (usage.ru_utime + usage.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    outcome: dict[str, Any] = {
        "delivered": states.get("delivered", 0),
        "states": dict(states),
        "events": dict(events),
        "sink_accepted": accepted,
        "duplicates_at_sink": max(0, accepted - messages),
        "lost": messages - sum(states.get(s, 0) for s in ("delivered", "bounced", "failed")),
        "worker_cpu_seconds_per_1k": round(cpu / messages * 1000, 2),
    }
    log.info(
        "postwise: %d workers delivered %d messages in %.1f s: %.0f/s; states %s; "
        "sink %d; %.2f worker CPU s per 1,000",
        args.workers, outcome["delivered"], finished - started, rate, dict(states), accepted,
        outcome["worker_cpu_seconds_per_1k"],
    )  # fmt: skip
    for line in worker_lines:
        log.info("  %s", line)
    return rate, outcome


@contextmanager
def _workers(
    args: argparse.Namespace, environment: dict[str, str], folder: Path
) -> Iterator[list[Path]]:
    """``args.workers`` worker processes, logging to files in ``folder``; stopped with
    SIGTERM (SIGKILL after a grace period) when the block ends."""
    command = [
        sys.executable, "-c", "import sys; from postwise.cli import main; sys.exit(main())",
        "worker", "--region", REGION, "--concurrency", str(args.concurrency),
        "--batch-size", str(args.batch_size),
    ]  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    logs = [folder / f"worker{i}.log" for i in range(args.workers)]
    try:
        for path in logs:
            with path.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command, env=environment, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )  # fmt: skip
        yield logs
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, path in zip(processes, logs, strict=True):
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log.warning("worker %d ignored SIGTERM; killing it", process.pid)
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait(timeout=10)
            if code not in (0, -signal.SIGTERM):
                log.warning("worker %d exited with %s:\n%s", process.pid, code, _tail(path))


def _wait_ready(logs: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = sum("claims for region" in path.read_text(errors="replace") for path in logs)
        if ready == len(logs):
            log.info("%d workers ready", ready)
            return
        if time.monotonic() > deadline:
            raise BenchmarkFailed(
                f"{ready} of {len(logs)} workers ready after {timeout:g} s:\n{_tail(logs[0])}"
            )
        time.sleep(0.1)


def _wait_delivered(
    cells: Cells, org_id: uuid.UUID, messages: int, started: float, args: argparse.Namespace
) -> float:
    """The time at which every message of the campaign was recorded delivered."""
    deadline = started + args.timeout
    last_log = started
    with connect(cells.url(REGION), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'delivered'), "
                "count(*) FILTER (WHERE status IN ('bounced', 'failed', 'suppressed')) "
                "FROM messages WHERE org_id = %s",
                (org_id,),
            ).fetchone()
            now = time.monotonic()
            delivered, other = row if row else (0, 0)
            if delivered + other >= messages:
                if other:
                    raise BenchmarkFailed(f"{other} messages did not end delivered")
                return now
            if now > deadline:
                raise BenchmarkFailed(
                    f"{delivered} of {messages} messages delivered after {args.timeout:g} s"
                )
            if now - last_log > 5:
                last_log = now
                log.info("%d of %d delivered (%.0f/s)", delivered, messages,
                         delivered / (now - started))  # fmt: skip
            time.sleep(0.05)


def _outcomes(cells: Cells, org_id: uuid.UUID) -> tuple[Counter[str], Counter[str]]:
    with cells.connection(REGION) as conn:
        states: Counter[str] = Counter()
        for status, count in conn.execute(
            "SELECT status, count(*) FROM messages WHERE org_id = %s GROUP BY status", (org_id,)
        ):
            states[status] = count
        events: Counter[str] = Counter()
        for kind, count in conn.execute(
            "SELECT type, count(*) FROM email_events WHERE org_id = %s GROUP BY type", (org_id,)
        ):
            events[kind] = count
    return states, events


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if "worker" in line]
    return lines[-1] if lines else f"{path.name}: no output"


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def _redis_url() -> Iterator[str]:
    """``REDIS_URL``, else the development server, else an embedded one for the run."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
        answers = True
    except redis.ConnectionError:
        answers = False
        log.info("no Redis at %s; starting an embedded one", url)
    finally:
        client.close()
    if answers:
        yield url
        return
    from postwise.stack import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="pwbench-redis-") as folder:
        embedded = EmbeddedRedis(Path(folder))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


def _clear_redis(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
