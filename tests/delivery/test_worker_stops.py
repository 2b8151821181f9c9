"""Hard stops in the running worker: a sender whose bounce rate reaches 5 % is paused and
the rest of its mail waits in the queue; a sender the anomaly model paused sends nothing.
Real PostgreSQL cells, Redis and a simulated ESP on loopback."""

from __future__ import annotations

from collections.abc import Callable

from worker_kit import WORKER_REGION, CampaignMaker, Person, routes_to, run_until_idle

from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from warehouse.model_outputs import active_pauses, pause_sender

StartEsp = Callable[..., SimulatedEsp]
ALL = ("na", "eu", "apac")
SENDING_DOMAIN = "news.worker-test.example"


def _settings_for(settings: Settings, esp: SimulatedEsp) -> Settings:
    return routes_to(
        settings,
        {"primary": (esp.port, ALL), "frankfurt": (esp.port, ("eu",)),
         "virginia": (esp.port, ("na", "apac"))},
    )  # fmt: skip


def test_a_bounce_rate_over_five_percent_pauses_the_sender_and_holds_the_rest(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
) -> None:
    # A bought list: every tenth address does not exist (10 % bounces, twice the limit).
    people = [
        Person(f"gone{i}@mail.example" if i % 10 == 0 else f"reader{i}@mail.example")
        for i in range(600)
    ]
    ids = make_campaign(people)
    esp = esps("primary", unknown=frozenset(p.email for p in people if p.email.startswith("gone")))

    run_until_idle(_settings_for(worker_settings, esp), database_server_url, redis_url)

    with make_campaign.cells.connection(WORKER_REGION) as conn:
        pauses = [p for p in active_pauses(conn) if p.org_id in make_campaign.orgs]
    assert [(p.sending_domain, p.source) for p in pauses] == [(SENDING_DOMAIN, "threshold")]
    assert "bounce rate" in pauses[0].reason
    states = make_campaign.statuses()
    by_status: dict[str, int] = {}
    for status, *_ in states.values():
        by_status[status] = by_status.get(status, 0) + 1
    # The pause came after the policy's 200 sends and stopped the campaign well short of
    # its end; what was not sent waits, unleased, for an operator to resume the sender.
    sent = by_status.get("delivered", 0) + by_status.get("bounced", 0)
    assert 200 <= sent < 450, by_status
    assert by_status.get("queued", 0) == len(ids) - sent, by_status
    assert all(lease is None for *_, lease in states.values())
    assert len(esp.counters.delivered) == by_status.get("delivered", 0)


def test_a_sender_paused_by_the_anomaly_model_sends_nothing(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: StartEsp,
) -> None:
    ids = make_campaign([Person(f"reader{i}@mail.example") for i in range(40)])
    with make_campaign.cells.connection(WORKER_REGION) as conn:
        assert pause_sender(
            conn, make_campaign.orgs[-1], SENDING_DOMAIN, "anomaly score 0.999", "anomaly_sensor"
        )
    esp = esps("primary")

    run_until_idle(_settings_for(worker_settings, esp), database_server_url, redis_url)

    states = make_campaign.statuses()
    assert {states[m][0] for m in ids} == {"queued"}
    assert all(states[m][4] is None for m in ids)
    assert esp.counters.delivered == []
