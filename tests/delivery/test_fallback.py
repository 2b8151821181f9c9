"""The fallback channel end to end in a worker: real PostgreSQL cells, Redis, simulated
ESPs on loopback and the loopback SMS gateway. An opted-in campaign whose routes all refuse
is delivered by SMS carrying a link to its PDF; a campaign without opt-in ends failed; a
hard bounce or a suppression never falls back; a gateway that fails, or a recipient without
a phone number, ends the message failed exactly once, with the reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from worker_kit import WORKER_REGION, CampaignMaker, Person, routes_to, run_until_idle

from compliance.crypto import PiiCipher
from delivery.fallback import open_document, store_phone
from delivery.fallback.wiring import document_links
from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from simulator.gateway import LoopbackSmsGateway
from warehouse.db import Cells

ALL = ("na", "eu", "apac")
PHONE = "+81 90-1234-5678"
ROLES = {
    "route_primary": "r1",
    "route_secondary_eu": "r2",
    "route_secondary_other": "r3",
    "route_fallback_order": ("r1", "r2", "r3"),
}


@pytest.fixture
def gateway() -> Iterator[LoopbackSmsGateway]:
    started = LoopbackSmsGateway().start()
    yield started
    started.stop()


@pytest.fixture
def opt_in(make_campaign: CampaignMaker, worker_cells: Cells) -> Iterator[Callable[..., None]]:
    """Gives the campaign of some messages a campaigns row with a fallback channel (or
    none), as the API would have stored it; the rows go before the organizations do."""
    made: list[uuid.UUID] = []

    def opt(message_ids: list[uuid.UUID], channel: str | None) -> None:
        with worker_cells.connection(WORKER_REGION) as conn:
            row = conn.execute(
                "SELECT campaign_id, org_id, campaign_type FROM messages WHERE message_id = %s",
                (message_ids[0],),
            ).fetchone()
        assert row is not None
        with worker_cells.connection("control") as conn:
            conn.execute(
                "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, "
                "fallback_channel) VALUES (%s, %s, 'fallback test', %s, %s)",
                (*row, channel),
            )
        made.append(row[0])

    yield opt
    with worker_cells.connection("control") as conn:
        conn.execute("DELETE FROM campaigns WHERE campaign_id = ANY(%s)", (made,))


def _give_phones(cells: Cells, settings: Settings, message_ids: list[uuid.UUID]) -> None:
    cipher = PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)
    with cells.connection(WORKER_REGION) as conn:
        for message_id in message_ids:
            row = conn.execute(
                "SELECT contact_id FROM messages WHERE message_id = %s", (message_id,)
            ).fetchone()
            assert row is not None
            store_phone(conn, cipher, row[0], PHONE)


def _settings(base: Settings, ports: dict[str, int], gateway: LoopbackSmsGateway) -> Settings:
    return routes_to(
        base,
        {name: (port, ALL) for name, port in ports.items()},
        **ROLES,
        fallback_gateway_url=gateway.base_url,
        fallback_gateway_account_sid=gateway.account_sid,
        fallback_gateway_auth_token=gateway.auth_token,
        fallback_gateway_from="+15005550006",
        fallback_gateway_attempts=2,
    )


def _closed_routes(esps: Callable[..., SimulatedEsp]) -> dict[str, int]:
    """Three routes whose ports refuse connections (ESPs started, then stopped)."""
    ports = {}
    for name in ("r1", "r2", "r3"):
        esp = esps(name)
        esp.stop()
        ports[name] = esp.port
    return ports


def _rows(cells: Cells, message_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """status, delivered_channel, last_error and the (type, details) events per message."""
    found: dict[uuid.UUID, dict[str, Any]] = {}
    with cells.connection(WORKER_REGION) as conn:
        for message_id, status, channel, error in conn.execute(
            "SELECT message_id, status, delivered_channel, last_error FROM messages "
            "WHERE message_id = ANY(%s)",
            (message_ids,),
        ):
            events = conn.execute(
                "SELECT type, details FROM email_events WHERE message_id = %s ORDER BY ingest_seq",
                (message_id,),
            ).fetchall()
            found[message_id] = {
                "status": status, "channel": channel, "error": error, "events": events,
            }  # fmt: skip
    return found


def test_an_opted_in_campaign_whose_routes_all_refuse_is_delivered_by_sms_with_a_pdf_link(
    worker_settings: Settings,
    worker_cells: Cells,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    opt_in: Callable[..., None],
    esps: Callable[..., SimulatedEsp],
    gateway: LoopbackSmsGateway,
) -> None:
    settings = _settings(worker_settings, _closed_routes(esps), gateway)
    opted = make_campaign([Person("opted@mail.example")])
    plain = make_campaign([Person("plain@mail.example")])
    opt_in(opted, "sms")
    opt_in(plain, None)
    _give_phones(worker_cells, settings, opted + plain)

    _, stats = run_until_idle(settings, database_server_url, redis_url)

    rows = _rows(worker_cells, opted + plain)
    delivered = rows[opted[0]]
    assert (delivered["status"], delivered["channel"]) == ("delivered", "sms")
    assert [kind for kind, _ in delivered["events"]] == ["deferred", "deferred", "delivered"]
    final = delivered["events"][-1][1]
    assert final["channel"] == "sms" and final["gateway"] == "twilio"
    assert final["reference"] == gateway.received[0].sid
    assert delivered["events"][1][1]["fallback_channel"] == "sms"
    # The SMS went to the contact's number, from the configured sender, with the link.
    assert len(gateway.received) == 1
    sms = gateway.received[0]
    assert (sms.to, sms.sender) == ("+819012345678", "+15005550006")
    link = sms.body.rsplit(" ", 1)[-1]
    assert link.startswith(f"{settings.tracking_base_url}/t/f/")
    assert sms.body.startswith("Hello Ada: ")  # the rendered subject
    ref = document_links(settings).verify(link.rsplit("/", 1)[-1])
    assert (ref.message_id, ref.region) == (opted[0], WORKER_REGION)
    cipher = PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)
    with worker_cells.connection(WORKER_REGION) as conn:
        pdf = open_document(conn, cipher, ref.message_id)
        sealed = conn.execute(
            "SELECT pdf_ciphertext FROM fallback_documents WHERE message_id = %s", (opted[0],)
        ).fetchone()
    assert pdf.startswith(b"%PDF-")
    assert sealed is not None and b"%PDF" not in bytes(sealed[0])  # sealed at rest

    # Without opt-in, the same exhaustion ends failed, delivered by nothing.
    failed = rows[plain[0]]
    assert (failed["status"], failed["channel"]) == ("failed", None)
    assert [kind for kind, _ in failed["events"]] == ["deferred", "deferred", "failed"]
    assert "channel" not in failed["events"][-1][1]
    assert stats["fallback delivered"] == 1 and stats["failed"] == 1


def test_hard_bounces_and_suppressions_never_fall_back(
    worker_settings: Settings,
    worker_cells: Cells,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    opt_in: Callable[..., None],
    esps: Callable[..., SimulatedEsp],
    gateway: LoopbackSmsGateway,
) -> None:
    unknown = frozenset({"gone@mail.example"})
    ports = {name: esps(name, unknown=unknown).port for name in ("r1", "r2", "r3")}
    settings = _settings(worker_settings, ports, gateway)
    ids = make_campaign(
        [Person("gone@mail.example"), Person("blocked@mail.example", suppressed="complaint"),
         Person("fine@mail.example")]
    )  # fmt: skip
    opt_in(ids, "sms")
    _give_phones(worker_cells, settings, ids)

    run_until_idle(settings, database_server_url, redis_url)

    rows = _rows(worker_cells, ids)
    assert [rows[i]["status"] for i in ids] == ["bounced", "suppressed", "delivered"]
    assert [rows[i]["channel"] for i in ids] == [None, None, "email"]
    assert gateway.requests == []


def test_a_failing_gateway_or_a_missing_phone_ends_the_message_failed_exactly_once(
    worker_settings: Settings,
    worker_cells: Cells,
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    opt_in: Callable[..., None],
    esps: Callable[..., SimulatedEsp],
    gateway: LoopbackSmsGateway,
) -> None:
    # Every route answers every message with a temporary failure (a 4xx storm).
    ports = {name: esps(name, storm_4xx=True).port for name in ("r1", "r2", "r3")}
    settings = _settings(worker_settings, ports, gateway)
    with_phone, without_phone = make_campaign(
        [Person("phone@mail.example"), Person("nophone@mail.example")]
    )
    opt_in([with_phone], "sms")
    _give_phones(worker_cells, settings, [with_phone])
    gateway.fail(503)  # every request

    run_until_idle(settings, database_server_url, redis_url)

    rows = _rows(worker_cells, [with_phone, without_phone])
    for message_id, why in ((with_phone, "HTTP 503"), (without_phone, "no phone number")):
        row = rows[message_id]
        assert (row["status"], row["channel"]) == ("failed", None)
        kinds = [kind for kind, _ in row["events"]]
        assert kinds.count("failed") == 1 and "delivered" not in kinds
        details = row["events"][-1][1]
        assert details["channel"] == "sms" and why in details["fallback_error"]
        assert why in row["error"] and row["error"].startswith("email: ")
    assert len(gateway.requests) == 2  # the adapter's two tries, for the one with a phone
    assert gateway.received == []
