"""The delivery worker end to end, in this process: real PostgreSQL cells, Redis and
simulated ESPs on loopback. A campaign ends every message in one terminal state with its
events; a template bomb or a header injection fails only its own message; a route outage
opens its breaker and fails over, never outside the recipient's residency; connections
terminated by the server are survived."""

from __future__ import annotations

import email
import time
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest
import redis
from worker_kit import WORKER_REGION, CampaignMaker, Person, routes_to, run_until_idle

from delivery.routing import BreakerState
from delivery.throttle import ThrottlePolicy
from delivery.worker import Worker, routing_matrix
from delivery.worker.store import domain_facts
from delivery.worker.throttling import Throttle
from postwise.settings import RouteSettings, Settings
from simulator.esp import SimulatedEsp
from warehouse.db import Cells

StartEsp = Callable[..., SimulatedEsp]
ALL = ("na", "eu", "apac")


def _message_ids(esp: SimulatedEsp) -> Counter[str]:
    return Counter(
        email.message_from_bytes(data)["Message-ID"] for _, data in esp.counters.delivered
    )


def test_routes_come_from_settings_with_three_simulated_esps_by_default(
    worker_settings: Settings,
) -> None:
    default = routing_matrix(worker_settings.model_copy(update={"routes": {}}))
    assert set(default.routes) == {"primary", "frankfurt", "virginia"}
    assert default.routes["frankfurt"].regions == frozenset({"eu"})
    assert "eu" not in default.routes["virginia"].regions
    assert default.primary_volume_limit == 1000
    own = routes_to(
        worker_settings,
        {"relay": (2600, ALL)},
        route_primary="relay",
        route_secondary_eu="relay",
        route_secondary_other="relay",
        route_fallback_order=("relay",),
    )
    assert routing_matrix(own).routes["relay"].port == 2600
    with pytest.raises(ValueError, match="missing from ROUTES"):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            routes={"relay": RouteSettings(host="h", port=25, regions=("eu",))},
        )


def test_a_campaign_ends_every_message_in_one_terminal_state_with_its_events(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
) -> None:
    people = [Person(f"reader{i}@mail.example") for i in range(270)]
    people += [Person(f"gone{i}@mail.example") for i in range(6)]  # unknown: bounce
    people += [Person(f"full{i}@mail.example") for i in range(6)]  # 452: retried, fails
    people += [Person(f"left{i}@mail.example", consent="withdrawn") for i in range(6)]
    people += [Person(f"nocon{i}@mail.example", consent=None) for i in range(6)]
    people += [Person(f"sup{i}@mail.example", suppressed="unsubscribe") for i in range(6)]
    ids = make_campaign(people)
    esp = esps(
        "primary",
        unknown=frozenset(p.email for p in people if p.email.startswith("gone")),
        full=frozenset(p.email for p in people if p.email.startswith("full")),
    )
    settings = routes_to(
        worker_settings,
        {"primary": (esp.port, ALL), "frankfurt": (esp.port, ("eu",)),
         "virginia": (esp.port, ("na", "apac"))},
    )  # fmt: skip

    started = time.monotonic()
    _, stats = run_until_idle(settings, database_server_url, redis_url)
    elapsed = time.monotonic() - started

    states = make_campaign.statuses()
    events = make_campaign.events()
    expected = {"reader": "delivered", "gone": "bounced", "full": "failed", "left": "suppressed",
                "nocon": "suppressed", "sup": "suppressed"}  # fmt: skip
    kinds = {
        "delivered": ["sent", "delivered"],
        "bounced": ["bounced"],
        "failed": ["deferred", "deferred", "failed"],  # two attempts (QUICK_RETRY)
        "suppressed": ["suppressed"],
    }
    for person, message_id in zip(people, ids, strict=True):
        want = next(v for k, v in expected.items() if person.email.startswith(k))
        assert states[message_id][0] == want, (person.email, states[message_id])
        assert states[message_id][4] is None  # no lease left behind
        assert events[message_id] == kinds[want], (person.email, events[message_id])
    # Each delivered message reached the ESP exactly once, signed, with its headers.
    delivered = _message_ids(esp)
    assert sum(delivered.values()) == 270 and max(delivered.values()) == 1
    _, raw = esp.counters.delivered[0]
    sent = email.message_from_bytes(raw)
    assert sent["DKIM-Signature"] and sent["List-Unsubscribe-Post"]
    assert sent["Subject"] == "Hello Ada"
    html = next(p for p in sent.walk() if p.get_content_type() == "text/html").get_payload()
    assert "Variant" in str(html) and "/t/c/" in str(html)
    with make_campaign.cells.connection(WORKER_REGION) as conn:
        row = conn.execute(
            "SELECT count(*) FROM suppressions WHERE org_id = ANY(%s) AND reason = 'hard_bounce'",
            (make_campaign.orgs,),
        ).fetchone()
    assert row is not None and row[0] == 6
    assert stats["delivered"] == 270 and stats["suppressed"] == 18
    print(f"campaign of {len(ids)} messages in {elapsed:.1f} s")  # noqa: T201


def test_a_template_bomb_and_a_header_injection_fail_only_their_own_messages(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
) -> None:
    bomb_html = "<p>{{#x}}{{#x}}{{y}}{{/x}}{{/x}}</p>"  # 90,000 copies of 100 characters
    people = [Person(f"ok{i}@mail.example", variables={"x": [1], "y": "hi"}) for i in range(8)]
    people.append(Person("bomb@mail.example", variables={"x": list(range(300)), "y": "boom " * 20}))
    people.append(Person("inject@mail.example", name="Eve\r\nBcc: everyone@victim.example"))
    people.append(
        Person(
            "header@mail.example",
            variables={"x": [], "headers": {"X-Campaign": "spring\r\nBcc: all@victim.example"}},
        )
    )
    ids = make_campaign(people, html=bomb_html)
    esp = esps("primary")
    settings = routes_to(
        worker_settings,
        {"primary": (esp.port, ALL), "frankfurt": (esp.port, ("eu",)),
         "virginia": (esp.port, ("na", "apac"))},
    )  # fmt: skip
    run_until_idle(settings, database_server_url, redis_url)

    states = make_campaign.statuses()
    assert [states[i][0] for i in ids[:8]] == ["delivered"] * 8
    bomb, inject, header = (states[i] for i in ids[8:])
    assert bomb[0] == "failed" and "output size" in bomb[3]
    assert inject[0] == "failed" and "line break" in inject[3]
    assert header[0] == "failed" and "line break" in header[3]
    events = make_campaign.events()
    assert all(events[i] == ["failed"] for i in ids[8:])
    recipients = {rcpt for rcpt, _ in esp.counters.delivered}
    assert recipients == {f"ok{i}@mail.example" for i in range(8)}
    assert not any(b"victim.example" in data for _, data in esp.counters.delivered)


def test_a_route_outage_opens_its_breaker_and_fails_over_within_residency(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
) -> None:
    primary, frankfurt, virginia = esps("primary"), esps("frankfurt"), esps("virginia")
    primary.stop()  # the outage: connections refused
    settings = routes_to(
        worker_settings,
        {"primary": (primary.port, ALL), "frankfurt": (frankfurt.port, ("eu",)),
         "virginia": (virginia.port, ("na", "apac"))},
    )  # fmt: skip
    eu_ids = make_campaign(
        [Person(f"eu{i}@mail.example", country="DE") for i in range(40)], region="eu"
    )
    apac_ids = make_campaign([Person(f"jp{i}@mail.example") for i in range(40)])

    eu_worker, eu_stats = run_until_idle(settings, database_server_url, redis_url, "eu")
    apac_worker, _ = run_until_idle(settings, database_server_url, redis_url, "apac")

    eu_states = make_campaign.statuses("eu")
    assert all(eu_states[i][0] == "delivered" and eu_states[i][2] == "frankfurt" for i in eu_ids)
    apac_states = make_campaign.statuses("apac")
    assert all(apac_states[i][0] == "delivered" for i in apac_ids)
    assert {apac_states[i][2] for i in apac_ids} == {"virginia"}
    assert {r for r, _ in frankfurt.counters.delivered} == {
        f"eu{i}@mail.example" for i in range(40)
    }
    assert not any(r.startswith("eu") for r, _ in virginia.counters.delivered)
    assert eu_worker.breakers["primary"].state is BreakerState.OPEN
    assert apac_worker.breakers["primary"].state is BreakerState.OPEN
    assert eu_stats["route failures"] >= 5

    # Frankfurt down as well: EU mail waits rather than leave the EU's routes.
    frankfurt.stop()
    waiting = make_campaign(
        [Person(f"wait{i}@mail.example", country="FR") for i in range(10)], region="eu"
    )
    _, stats = run_until_idle(settings, database_server_url, redis_url, "eu")
    states = make_campaign.statuses("eu")
    assert {states[i][0] for i in waiting} == {"queued"}  # handed back, due later
    assert not any(r.startswith("wait") for r, _ in virginia.counters.delivered)
    assert stats["no route"] == 10


def test_connections_terminated_by_the_server_are_survived(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
    worker_cells: Cells,
) -> None:
    esp = esps("primary", slow_reply_seconds=0.01)
    settings = routes_to(
        worker_settings,
        {"primary": (esp.port, ALL), "frankfurt": (esp.port, ("eu",)),
         "virginia": (esp.port, ("na", "apac"))},
    )  # fmt: skip
    ids = make_campaign([Person(f"r{i}@mail.example") for i in range(200)])
    terminated: list[int] = []
    in_flight: list[int] = []

    def drop_connections(worker: Worker) -> None:
        deadline = time.monotonic() + 30
        while len(esp.counters.delivered) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        in_flight.append(worker.held)
        with psycopg.connect(worker_cells.url(WORKER_REGION), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"postwise-worker {worker.id}"[:63],),
            ).fetchall()
        terminated.append(len(rows))

    worker, stats = run_until_idle(
        settings, database_server_url, redis_url, concurrency=4, during=drop_connections
    )

    assert terminated and terminated[0] >= 1
    states = make_campaign.statuses()
    assert {states[i][0] for i in ids} == {"delivered"}
    delivered = _message_ids(esp)
    assert len(delivered) == 200
    duplicates = sum(n - 1 for n in delivered.values())
    assert duplicates <= in_flight[0]
    assert all(make_campaign.events()[i] == ["sent", "delivered"] for i in ids)
    assert stats["errors"] == 0 or stats["delivered"] == 200
    print(  # noqa: T201
        f"terminated {terminated[0]} connections with {in_flight[0]} in flight; "
        f"{duplicates} duplicates; {worker.db.reconnects} retried calls"
    )


def test_throttling_works_without_the_reputation_mart_and_caps_a_low_reputation_domain(
    worker_cells: Cells, redis_url: str, worker_settings: Settings
) -> None:
    client = redis.Redis.from_url(redis_url)
    throttle = Throttle(client, worker_settings.database_prefix, ThrottlePolicy(warmup_days=0))
    route = routing_matrix(worker_settings).routes["primary"]
    with worker_cells.connection("na") as conn, conn.transaction(force_rollback=True):
        absent = domain_facts(conn, ["fresh.example"])["fresh.example"]
        conn.execute(
            "CREATE SCHEMA IF NOT EXISTS marts; CREATE TABLE marts.domain_reputation "
            "(sending_domain text, mailbox_provider text, day date, reputation_score float8)"
        )
        empty = domain_facts(conn, ["fresh.example"])["fresh.example"]
        conn.execute(
            "INSERT INTO marts.domain_reputation VALUES "
            "('fresh.example', 'gmail', current_date, 0.5), "
            "('fresh.example', 'yahoo', current_date, 0.8), "
            "('fresh.example', 'gmail', current_date - 3, 0.95)"
        )
        low = domain_facts(conn, ["fresh.example"])["fresh.example"]
    client.close()
    assert absent.reputation is None and empty.reputation is None and absent.age_days < 1
    assert low.reputation == 0.5
    throttle.learn_domains({"fresh.example": empty})
    assert [t.kind for t in throttle.takes(route, "gmail", "fresh.example")] == [
        "provider",
        "route",
    ]
    throttle.learn_domains({"fresh.example": low})
    capped = throttle.takes(route, "gmail", "fresh.example")[-1]
    assert capped.kind == "domain" and capped.rate_per_second * 3600 == pytest.approx(100)
