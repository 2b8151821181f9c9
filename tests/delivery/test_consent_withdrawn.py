"""A consent withdrawn after its message was queued stops the send: the worker asks again
before SMTP, so the message ends suppressed and never reaches the ESP, while the other
recipients of the campaign get theirs."""

from __future__ import annotations

import email
from collections.abc import Callable

from worker_kit import WORKER_REGION, CampaignMaker, Person, routes_to, run_until_idle

from compliance.consent import Evidence, Subject, withdraw
from postwise.settings import Settings
from simulator.esp import SimulatedEsp

ALL = ("na", "eu", "apac")


def test_a_consent_withdrawn_after_enqueue_stops_the_send(
    worker_settings: Settings,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    esps: Callable[..., SimulatedEsp],
) -> None:
    people = [Person("stays@mail.example"), Person("leaves@mail.example")]
    stays, leaves = make_campaign(people)
    with make_campaign.cells.connection(WORKER_REGION) as conn:
        row = conn.execute(
            "SELECT contact_id, org_id FROM messages WHERE message_id = %s", (leaves,)
        ).fetchone()
        assert row is not None
        subject = Subject(row[0], row[1], WORKER_REGION, "marketing")
        withdraw(conn, subject, Evidence("preference_center", "v1", "192.0.2.8", "Mozilla/5.0"))
    esp = esps("primary")
    settings = routes_to(
        worker_settings,
        {"primary": (esp.port, ALL), "frankfurt": (esp.port, ("eu",)),
         "virginia": (esp.port, ("na", "apac"))},
    )  # fmt: skip

    run_until_idle(settings, database_server_url, redis_url)

    states = make_campaign.statuses()
    assert states[stays][0] == "delivered"
    assert states[leaves][0] == "suppressed"
    assert "withdrawn" in str(states[leaves][3])
    assert make_campaign.events()[leaves] == ["suppressed"]
    recipients = [email.message_from_bytes(raw)["To"] for _, raw in esp.counters.delivered]
    assert recipients == ["stays@mail.example"]
