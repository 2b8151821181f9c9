"""The sender API under load: requests per second and p50/p99 latency of signed
``GET /v1/send-time/{contact_id}`` and ``POST /v1/messages``, beside a bare FastAPI app.

Both apps run under uvicorn in their own process, one worker, on a free loopback port, with
the flags ``postwise api`` uses. The bare app answers the same two paths with a small JSON
and nothing else (no auth, no database), so it is the ceiling of FastAPI and uvicorn on this
machine. Both receive byte-identical requests: signed by the organization's P-521 key ahead
of each phase (a unique nonce each), so signing costs the load generator nothing while it
measures.

The load generator is a process of its own (the server keeps its core), a small asyncio
HTTP/1.1 client over keep-alive connections sending pre-built requests, light enough not to
be the bottleneck. Two kinds of run, each bounded in time:

- open loop: requests at a constant arrival rate, whether or not earlier ones were answered;
  latency counts from each request's scheduled time, so time spent queued behind a slow
  answer (client side or server side) is counted, not hidden;
- closed loop: a fixed number of connections each sending its next request as soon as the
  previous one is answered, for the maximum throughput.

The database is a temporary cell set (dropped afterwards) with one organization, contacts
with consent and a ``recipient_send_times`` row each, and an API key. Rate limits stay on,
raised far above the load (a sender at 500 requests per second has a raised limit), so every
request pays for its sliding-window check in Redis.

    python -m benchmarks.serving            # 20 s per measured run
    python -m benchmarks.serving --quick    # 5 s per measured run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import multiprocessing
import os
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import redis

from benchmarks._common import (
    emit,
    http_server,
    machine_info,
    server_url,
    setup_logging,
)

log = logging.getLogger("benchmarks.serving")

TARGET_RATE = 500.0  # requests per second for send-time
TARGET_P99_MS = 20.0
SEND_TIME = "/v1/send-time/{}"
MESSAGES = "/v1/messages"
OPEN_CONNECTIONS = 64  # enough that a request never waits for a connection at 500 rps
CLOSED_CONNECTIONS = 16
BARE = "bare FastAPI endpoint, same uvicorn settings"
TARGET_TEXT = f"{TARGET_P99_MS:g} ms p99 at {TARGET_RATE:g} req/s, one worker"
BARE_POOL = 4000  # the bare app checks no nonce: its requests are reused in turn


# --- the bare app ---------------------------------------------------------------------------


def bare_app() -> Any:
    """The baseline: FastAPI answering the same paths with a small JSON, nothing else
    (``uvicorn --factory benchmarks.serving:bare_app``)."""
    from fastapi import Body, FastAPI

    app = FastAPI(title="bare")

    @app.get("/v1/send-time/{contact_id}")
    async def send_time(contact_id: uuid.UUID) -> dict[str, Any]:
        return {"contact_id": str(contact_id), "best_hour_utc": 17, "source": "bare"}

    @app.post("/v1/messages", status_code=201)
    async def messages(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        return {"message_id": str(uuid.uuid4()), "status": "queued", "fields": len(body)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


# --- what the client is asked to do and answers -------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    port: int
    method: str  # GET (send-time) or POST (messages)
    mode: str  # "open" (constant rate) or "closed" (max throughput)
    seconds: float
    warmup_seconds: float
    rate: float = 0.0  # open loop only
    connections: int = OPEN_CONNECTIONS
    reuse: bool = False  # the bare app: requests may repeat (it checks no nonce)


@dataclass(frozen=True)
class Credentials:
    api_key: str
    private_pem: bytes
    contact_ids: list[str]
    emails: list[str]


@dataclass(frozen=True)
class Measured:
    name: str
    mode: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    client_wait_p99_ms: float  # open loop: scheduled time to sent (inside the latency)
    statuses: dict[str, int]


# --- the load generator (its own process) -----------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection sending pre-built requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        """Send ``request``; the answer's status once its whole body has arrived."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.lower().split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
            elif line.startswith(b"transfer-encoding:"):
                raise RuntimeError("chunked answers are not expected here")
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def _requests(phase: Phase, creds: Credentials, count: int, seed: int) -> list[bytes]:
    """``count`` signed requests of ``phase``'s kind, each with a nonce of its own."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from serving.auth.signing import (
        KEY_HEADER,
        NONCE_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        canonical_request,
    )

    key = serialization.load_pem_private_key(creds.private_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    stamp = str(int(time.time()))
    out = []
    for i in range(count):
        j = (seed + i) % len(creds.contact_ids)
        if phase.method == "GET":
            path, body = SEND_TIME.format(creds.contact_ids[j]), b""
        else:
            path, body = MESSAGES, _message_body(creds.emails[j], seed + i)
        nonce = secrets.token_urlsafe(18)
        signature = key.sign(
            canonical_request(phase.method, path, stamp, nonce, body), ec.ECDSA(hashes.SHA512())
        )
        headers = [
            f"{phase.method} {path} HTTP/1.1",
            f"host: 127.0.0.1:{phase.port}",
            "user-agent: postwise-bench",
            "accept: application/json",
            f"{KEY_HEADER}: {creds.api_key}",
            f"{TIMESTAMP_HEADER}: {stamp}",
            f"{NONCE_HEADER}: {nonce}",
            f"{SIGNATURE_HEADER}: {base64.b64encode(signature).decode()}",
        ]
        if body:
            headers += ["content-type: application/json", f"content-length: {len(body)}"]
        out.append(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
    return out


def _message_body(email: str, n: int) -> bytes:
    """A marketing message to a known contact (consent granted) at its best hour."""
    return json.dumps(
        {
            "recipient": {"email": email},
            "subject": "Your autumn offers, {{name}}",
            "html": "<p>Hello {{name}}, order <b>{{order}}</b> ships today.</p>",
            "variables": {"name": "Ada", "order": f"A-{n}"},
            "campaign_type": "marketing",
            "sending_domain": SENDING_DOMAIN,
            "send_at": "optimal",
        },
        separators=(",", ":"),
    ).encode()


async def _open_loop(
    phase: Phase, requests: list[bytes], seconds: float
) -> tuple[np.ndarray, np.ndarray, list[int], float]:
    """Requests at ``phase.rate`` for ``seconds``: (latencies from the scheduled time,
    client waits, statuses, seconds from the first scheduled time to the last answer)."""
    count = min(len(requests), int(phase.rate * seconds))
    latency = np.zeros(count)
    lag = np.zeros(count)
    statuses = [0] * count
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    connections = [await _Connection.open(phase.port) for _ in range(phase.connections)]
    last_done = 0.0

    async def work(conn: _Connection) -> None:
        nonlocal last_done
        while (item := await queue.get()) is not None:
            i, scheduled = item
            lag[i] = time.perf_counter() - scheduled
            try:
                statuses[i] = await conn.exchange(requests[i])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                conn.close()
                conn = await _Connection.open(phase.port)
            done = time.perf_counter()
            latency[i] = done - scheduled
            last_done = max(last_done, done)

    workers = [asyncio.create_task(work(conn)) for conn in connections]
    start = time.perf_counter() + 0.01
    interval = 1.0 / phase.rate
    sent = 0
    while sent < count:
        now = time.perf_counter()
        due = min(count, int((now - start) / interval) + 1) if now >= start else 0
        for i in range(sent, due):
            queue.put_nowait((i, start + i * interval))
        sent = max(sent, due)
        if sent < count:
            await asyncio.sleep(max(0.0, start + sent * interval - time.perf_counter()))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    for conn in connections:
        conn.close()
    return latency, lag, statuses, last_done - start


async def _closed_loop(
    phase: Phase, requests: list[bytes], seconds: float
) -> tuple[np.ndarray, np.ndarray, list[int], float]:
    """``phase.connections`` connections back to back for ``seconds`` (or until the
    pre-signed requests run out)."""
    latencies: list[float] = []
    statuses: list[int] = []
    feed = iter(requests)
    connections = [await _Connection.open(phase.port) for _ in range(phase.connections)]
    start = time.perf_counter()
    deadline = start + seconds

    async def work(conn: _Connection) -> None:
        for request in feed:
            if time.perf_counter() >= deadline:
                return
            began = time.perf_counter()
            try:
                status = await conn.exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = 0
                conn.close()
                conn = await _Connection.open(phase.port)
            latencies.append(time.perf_counter() - began)
            statuses.append(status)

    await asyncio.gather(*(work(conn) for conn in connections))
    elapsed = time.perf_counter() - start
    for conn in connections:
        conn.close()
    if elapsed < seconds * 0.95:
        log.warning("%s ran out of its %d pre-signed requests", phase.name, len(requests))
    return np.array(latencies), np.zeros(0), statuses, elapsed


def _summary(
    phase: Phase, latency: np.ndarray, lag: np.ndarray, statuses: list[int], seconds: float
) -> Measured:
    ms = latency * 1000.0
    ok = sum(200 <= s < 300 for s in statuses)
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1

    def pct(values: np.ndarray, q: float) -> float:
        return round(float(np.percentile(values, q)), 2) if len(values) else 0.0

    return Measured(
        name=phase.name,
        mode=phase.mode,
        requests=len(statuses),
        errors=len(statuses) - ok,
        seconds=round(seconds, 2),
        rps=round(ok / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=pct(ms, 50),
        p90_ms=pct(ms, 90),
        p99_ms=pct(ms, 99),
        max_ms=round(float(ms.max()), 2) if len(ms) else 0.0,
        client_wait_p99_ms=pct(lag * 1000.0, 99),
        statuses=counts,
    )


async def _run_phases(
    phases: list[Phase], creds: Credentials, closed_rate_cap: dict[str, float]
) -> list[Measured]:
    out = []
    seed = 0
    for phase in phases:
        if phase.mode == "open":
            warm, measured = int(phase.rate * phase.warmup_seconds), int(phase.rate * phase.seconds)
        else:
            cap = closed_rate_cap["bare" if phase.reuse else phase.method]
            warm, measured = int(cap * phase.warmup_seconds), int(cap * phase.seconds)
        began = time.perf_counter()
        if phase.reuse:  # no nonce check: a pool of signed requests in turn
            pool = _requests(phase, creds, min(BARE_POOL, warm + measured), seed)
            warm_requests = [pool[i % len(pool)] for i in range(warm)]
            requests = [pool[i % len(pool)] for i in range(warm, warm + measured)]
        else:
            warm_requests = _requests(phase, creds, warm, seed)
            requests = _requests(phase, creds, measured, seed + warm)
        seed += warm + measured
        log.info("%s: signed requests in %.1f s", phase.name, time.perf_counter() - began)
        run = _open_loop if phase.mode == "open" else _closed_loop
        if warm:
            await run(phase, warm_requests, phase.warmup_seconds)
        result = _summary(phase, *await run(phase, requests, phase.seconds))
        log.info(
            "%s: %d requests, %d errors, %.0f/s, p50 %.2f ms, p99 %.2f ms (client wait p99 "
            "%.2f ms) %s",
            result.name, result.requests, result.errors, result.rps, result.p50_ms,
            result.p99_ms, result.client_wait_p99_ms, result.statuses,
        )  # fmt: skip
        out.append(result)
    return out


def _client_main(
    phases: list[Phase], creds: Credentials, caps: dict[str, float], pipe: Connection
) -> None:
    """The load generator process: runs ``phases`` and sends back their measurements."""
    setup_logging()
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        results = runner.run(_run_phases(phases, creds, caps))
    pipe.send([asdict(r) for r in results])
    pipe.close()


# --- the servers, the data, the runs ------------------------------------------------------------


@contextmanager
def _uvicorn(app: str, env: dict[str, str], name: str) -> Iterator[int]:
    """``app`` (a factory) under uvicorn with ``postwise api``'s flags, one worker, on a
    free loopback port; stopped afterwards."""
    from simulator.esp import free_port

    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--proxy-headers",
        "--forwarded-allow-ips", "127.0.0.1", "--log-level", "warning",
    ]  # fmt: skip
    with http_server(command, env, port, name, timeout=30):
        yield port


SENDING_DOMAIN = "mail.acme.example"
DNSBL_ZONE = "bl.bench.example"


@contextmanager
def _dns_server() -> Iterator[int]:
    """An authoritative DNS server on loopback (UDP) for the sending-domain prechecks: the
    domain's SPF covers loopback, it has a DMARC record, no address is on the DNSBL."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset

    records = {
        (f"{SENDING_DOMAIN}.", dns.rdatatype.TXT): '"v=spf1 ip4:127.0.0.0/8 -all"',
        (f"_dmarc.{SENDING_DOMAIN}.", dns.rdatatype.TXT): '"v=DMARC1; p=none"',
    }
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
                query = dns.message.from_wire(wire)
            except TimeoutError:
                continue
            except (OSError, dns.exception.DNSException):
                return
            answer = dns.message.make_response(query)
            answer.flags |= dns.flags.AA
            question = query.question[0]
            name = question.name.to_text().lower()
            value = records.get((name, question.rdtype))
            if value is not None:
                answer.answer.append(
                    dns.rrset.from_text(name, 60, dns.rdataclass.IN, question.rdtype, value)
                )
            elif not any(known == name for known, _ in records):
                answer.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(answer.to_wire(), peer)

    thread = threading.Thread(target=serve, name="dns", daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


def _seed(cells: Any, settings: Any, contacts: int) -> Credentials:
    """One organization in the eu cell with ``contacts`` sealed contacts, each with
    marketing consent and a send-time score, and an API key of a campaign manager."""
    from compliance.crypto import cipher_for
    from serving.auth import Role, generate_signing_key, issue_key

    cipher = cipher_for(settings)
    org_id = uuid.uuid4()
    private, public = generate_signing_key()
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'eu')",
            (org_id, "Bench Org", f"bench-{org_id.hex[:12]}"),
        )
        issued = issue_key(conn, org_id, "bench", Role.CAMPAIGN_MANAGER, public.decode())
    ids = [uuid.uuid4() for _ in range(contacts)]
    emails = [f"reader{i}@example.org" for i in range(contacts)]
    zones = ("Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw")
    best = datetime(2026, 11, 2, tzinfo=UTC)
    with cells.connection("eu") as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
            "time_zone, locale) FROM STDIN"
        ) as copy:
            for i, (contact_id, email) in enumerate(zip(ids, emails, strict=True)):
                sealed = cipher.seal_contact(contact_id, email, f"Reader {i}")
                copy.write_row((
                    contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                    sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version,
                    "example.org", "DE", "eu", zones[i % len(zones)], "de-DE",
                ))  # fmt: skip
        with cur.copy(
            "COPY consents (contact_id, purpose, status, policy_version) FROM STDIN"
        ) as copy:
            for contact_id in ids:
                copy.write_row((contact_id, "marketing", "granted", "v1"))
        with cur.copy(
            "COPY recipient_send_times (contact_id, org_id, best_hour_utc, best_local_hour, "
            "open_probability_24h, model_name, model_version, fallback) FROM STDIN"
        ) as copy:
            for i, contact_id in enumerate(ids):
                hour = 6 + i % 14
                copy.write_row((contact_id, org_id, best.replace(hour=hour), (hour + 1) % 24,
                                0.1 + (i % 40) / 100, "send_time_eu", "3", False))  # fmt: skip
        cur.execute("ANALYZE contacts; ANALYZE consents; ANALYZE recipient_send_times")
    log.info("seeded %d contacts with consent and send-time scores", contacts)
    return Credentials(issued.api_key, private, [str(i) for i in ids], emails)


def _phases(
    api: int, bare: int, seconds: float, warmup: float, messages_rate: float
) -> list[Phase]:
    """Bare and Postwise back to back for each kind of run (a shared machine drifts)."""
    out = []
    for kind, method, mode, rate in (
        ("send_time", "GET", "open", TARGET_RATE),
        ("send_time", "GET", "closed", 0.0),
        ("messages", "POST", "open", messages_rate),
        ("messages", "POST", "closed", 0.0),
    ):
        connections = OPEN_CONNECTIONS if mode == "open" else CLOSED_CONNECTIONS
        for who, port in (("bare", bare), ("postwise", api)):
            out.append(
                Phase(
                    f"{who}:{kind}:{mode}",
                    port,
                    method,
                    mode,
                    seconds,
                    warmup,
                    rate,
                    connections,
                    reuse=who == "bare",
                )  # fmt: skip
            )
    return out


def _results(measured: dict[str, Measured], messages_rate: float) -> list[dict[str, Any]]:
    """The results entries (``ratio`` is Postwise over the bare app, whatever the unit)."""

    def entry(
        metric: str, run: str, field: str, unit: str, target: str, meets: bool
    ) -> dict[str, Any]:
        ours, bare = measured[f"postwise:{run}"], measured[f"bare:{run}"]
        value, baseline = getattr(ours, field), getattr(bare, field)
        return {
            "metric": metric,
            "value": value,
            "unit": unit,
            "baseline": {"name": BARE, "value": baseline},
            "ratio": round(value / baseline, 3) if baseline else None,
            "target": target,
            "meets_target": meets,
            "run": _brief(ours),
            "baseline_run": _brief(bare),
        }

    st = measured["postwise:send_time:open"]
    at_rate = st.errors == 0 and st.rps >= 0.98 * TARGET_RATE
    top = measured["postwise:send_time:closed"]
    msg_open, msg_top = measured["postwise:messages:open"], measured["postwise:messages:closed"]
    rate, mrate = f"{TARGET_RATE:g}", f"{messages_rate:g}"
    return [
        entry(f"send_time_p99_ms_at_{rate}_rps", "send_time:open", "p99_ms", "ms",
              f"< {TARGET_TEXT}", st.p99_ms < TARGET_P99_MS and at_rate),
        entry(f"send_time_p50_ms_at_{rate}_rps", "send_time:open", "p50_ms", "ms",
              "reported", at_rate),
        entry(f"send_time_achieved_rps_at_{rate}_rps", "send_time:open", "rps", "req/s",
              f">= {0.98 * TARGET_RATE:g} req/s, no errors", at_rate),
        entry("send_time_max_rps", "send_time:closed", "rps", "req/s",
              f">= {rate} req/s", top.rps >= TARGET_RATE and top.errors == 0),
        entry(f"messages_p50_ms_at_{mrate}_rps", "messages:open", "p50_ms", "ms",
              "reported", msg_open.errors == 0),
        entry(f"messages_p99_ms_at_{mrate}_rps", "messages:open", "p99_ms", "ms",
              "reported", msg_open.errors == 0),
        entry("messages_max_rps", "messages:closed", "rps", "req/s",
              "reported", msg_top.errors == 0),
    ]  # fmt: skip


def _brief(m: Measured) -> dict[str, Any]:
    """A run's figures beside the entry's one value."""
    return {k: v for k, v in asdict(m).items() if k not in ("name",)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s per run instead of 20")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measured run")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument(
        "--messages-rate", type=float, default=100.0, help="open-loop rate of POST /v1/messages"
    )
    args = parser.parse_args(argv)
    setup_logging()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    warmup = 1.0 if args.quick else 2.0
    contacts = args.contacts or (2_000 if args.quick else 10_000)

    from postwise.settings import Settings
    from warehouse.db import connect
    from warehouse.migrate import temporary_cells

    server = server_url()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"pwbench_serving_{secrets.token_hex(3)}"
    settings = Settings(database_url=server, redis_url=redis_url, database_prefix=prefix)
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
    env = {
        **os.environ,
        "DATABASE_URL": server,
        "REDIS_URL": redis_url,
        "DATABASE_PREFIX": prefix,
        "RATE_LIMIT_PER_KEY": str(10**9),  # on, far above the load
        "RATE_LIMIT_PER_ORG": str(10**9),
        "DNS_RESOLVER_ADDRESS": "127.0.0.1",
        "DNSBL_ZONES": DNSBL_ZONE,
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # every contact has scores; no registry needed
    try:
        with (
            _dns_server() as dns_port,
            temporary_cells(settings, server) as cells,
            _uvicorn(
                "serving.api.main:create_app",
                {**env, "DNS_RESOLVER_PORT": str(dns_port)},
                "Postwise API",
            ) as api,
            _uvicorn("benchmarks.serving:bare_app", env, "bare FastAPI") as bare,
        ):
            creds = _seed(cells, settings, contacts)
            phases = _phases(api, bare, seconds, warmup, args.messages_rate)
            caps = {"GET": 1500.0, "POST": 800.0, "bare": 20_000.0}  # requests/s at most
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe(duplex=False)
            client = context.Process(target=_client_main, args=(phases, creds, caps, theirs))
            client.start()
            theirs.close()
            measured = {m["name"]: Measured(**m) for m in ours.recv()}
            client.join()
    finally:
        _forget_redis_keys(redis_url, prefix)
    emit("serving", {**machine, "uvicorn_workers": 1}, _results(measured, args.messages_rate))
    return 0


def _forget_redis_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


if __name__ == "__main__":
    raise SystemExit(main())
