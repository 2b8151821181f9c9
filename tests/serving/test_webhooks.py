"""Webhooks against a live API: inbound ESP events verified by signature and written to
``email_events``; outbound endpoints whose deliveries are signed, retried with backoff by
the delivery loop against a real HTTP receiver on loopback, and logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import Tenants
from campaign_kit import own_api
from settings_env import settings_environment

from delivery.queue import NewMessage, enqueue
from postwise.settings import Settings
from serving.auth import Role
from serving.webhooks.delivery import LoopOptions, deliver_due, run_deliveries
from serving.webhooks.outbox import emit
from serving.webhooks.signatures import signed_headers, verify
from simulator.esp import free_port
from warehouse.db import Cells

ESP_SECRET = "esp-primary-secret-0123456789"


class Receiver:
    """An HTTP endpoint on loopback that answers 500 to its first ``failures`` posts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def api(api_settings: Settings, serving_cells: Cells) -> Iterator[tuple[str, Tenants]]:
    settings = api_settings.model_copy(update={"esp_webhook_secrets": {"primary": ESP_SECRET}})
    with own_api(settings, serving_cells) as served:
        yield served


def post_esp(url: str, events: list[dict[str, Any]], *, secret: str = ESP_SECRET,
             timestamp: int | None = None, route: str = "primary") -> httpx.Response:  # fmt: skip
    body = json.dumps({"events": events}).encode()
    headers = signed_headers(secret, timestamp or int(time.time()), body)
    return httpx.post(f"{url}/v1/webhooks/esp/{route}", content=body, headers=headers)


def a_message(cells: Cells, org_id: uuid.UUID) -> uuid.UUID:
    with cells.connection("eu") as conn:
        return enqueue(
            conn, NewMessage(org_id, uuid.uuid4(), "marketing", "news.acme.example")
        ).message_id


def test_signed_esp_events_become_email_events_once(
    api: tuple[str, Tenants], serving_cells: Cells
) -> None:
    url, tenants = api
    tenant = tenants.org()
    message_id = a_message(serving_cells, tenant.org_id)
    unknown = uuid.uuid4()
    now = datetime.now(UTC).isoformat()
    bounce = {"message_id": str(message_id), "type": "bounced", "occurred_at": now,
              "smtp_code": 550, "enhanced_code": "5.1.1", "diagnostic": "user unknown",
              "event_id": "e1"}  # fmt: skip
    events = [bounce, {"message_id": str(unknown), "type": "delivered", "occurred_at": now}]

    first = post_esp(url, events)
    again = post_esp(url, events)

    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "new": 1, "unknown_messages": [str(unknown)]}
    assert again.json()["new"] == 0
    with serving_cells.connection("eu") as conn:
        rows = conn.execute(
            "SELECT type, smtp_code, enhanced_code, route, details->>'diagnostic' "
            "FROM email_events WHERE message_id = %s",
            (message_id,),
        ).fetchall()
    assert rows == [("bounced", 550, "5.1.1", "primary", "user unknown")]


def test_unsigned_stale_or_unknown_route_webhooks_are_refused(api: tuple[str, Tenants]) -> None:
    url, _ = api
    event = {"message_id": str(uuid.uuid4()), "type": "delivered",
             "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip

    forged = post_esp(url, [event], secret="not-the-secret-at-all")
    stale = post_esp(url, [event], timestamp=int(time.time()) - 3600)
    unknown_route = post_esp(url, [event], route="nowhere")
    bad_body = post_esp(url, [{**event, "type": "exploded"}])
    unsigned = httpx.post(f"{url}/v1/webhooks/esp/primary", json={"events": [event]})

    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_webhook_signature")
    assert (stale.status_code, stale.json()["code"]) == (401, "stale_webhook")
    assert (unknown_route.status_code, unknown_route.json()["code"]) == (404, "unknown_route")
    assert (bad_body.status_code, bad_body.json()["code"]) == (422, "invalid_webhook_body")
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "missing_webhook_signature")


def test_a_failing_endpoint_is_retried_with_backoff_until_it_succeeds(
    api: tuple[str, Tenants], serving_cells: Cells
) -> None:
    url, tenants = api
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    message_id = a_message(serving_cells, tenant.org_id)
    with Receiver(failures=2) as receiver:
        created = owner.post(
            "/v1/webhooks/endpoints",
            json={"url": receiver.url, "event_types": ["message.bounced"]},
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        event = {"message_id": str(message_id), "type": "bounced",
                 "occurred_at": datetime.now(UTC).isoformat(), "smtp_code": 550}  # fmt: skip
        assert post_esp(url, [event]).status_code == 202

        options = LoopOptions(backoff_seconds=0.2, timeout_seconds=2.0, allow_private_targets=True)
        with httpx.Client() as client:
            made = run_deliveries(
                serving_cells, client, options, max_seconds=10, idle_seconds=0.05,
                stop=lambda: len(receiver.received) >= 3,
            )  # fmt: skip

    assert made == 3
    headers, body = receiver.received[-1]
    verify(endpoint["secret"], headers, body, time.time(), 300)  # signed with its secret
    payload = json.loads(body)
    assert payload["type"] == "message.bounced"
    assert payload["data"]["message_id"] == str(message_id)
    log = owner.get("/v1/webhooks/deliveries", params={"endpoint_id": endpoint["endpoint_id"]})
    assert log.status_code == 200, log.text
    (delivery,) = log.json()
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["log"]] == [500, 500, 200]
    assert delivery["log"][0]["error"] == "HTTP 500"


def test_a_delivery_that_never_succeeds_fails_after_its_attempts(
    api: tuple[str, Tenants], serving_cells: Cells
) -> None:
    _, tenants = api
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    endpoint = owner.post(
        "/v1/webhooks/endpoints", json={"url": dead, "event_types": ["campaign.sent"]}
    ).json()
    with serving_cells.connection("control") as conn:
        assert emit(conn, tenant.org_id, "campaign.sent", {"x": 1}, max_attempts=2) == 1
        assert emit(conn, tenant.org_id, "message.delivered", {"x": 1}) == 0  # not subscribed

    options = LoopOptions(backoff_seconds=0.05, timeout_seconds=1.0, allow_private_targets=True)
    with httpx.Client() as client:
        deliver_due(serving_cells, client, options)
        time.sleep(0.2)
        deliver_due(serving_cells, client, options)

    (delivery,) = owner.get(
        "/v1/webhooks/deliveries", params={"endpoint_id": endpoint["endpoint_id"]}
    ).json()
    assert delivery["status"] == "failed" and delivery["attempts"] == 2
    assert delivery["log"][0]["status_code"] is None and "Connect" in delivery["log"][0]["error"]


def test_only_owners_manage_their_own_endpoints(api: tuple[str, Tenants]) -> None:
    _, tenants = api
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    manager = tenants.client(tenant, Role.CAMPAIGN_MANAGER)
    outsider = tenants.client(tenants.org(), Role.OWNER)
    body = {"url": "https://hooks.acme.example/x", "event_types": ["campaign.sent"]}

    assert manager.post("/v1/webhooks/endpoints", json=body).status_code == 403
    endpoint_id = owner.post("/v1/webhooks/endpoints", json=body).json()["endpoint_id"]
    assert outsider.get("/v1/webhooks/endpoints").json() == []
    assert outsider.post(f"/v1/webhooks/endpoints/{endpoint_id}/ping").status_code == 404
    assert outsider.delete(f"/v1/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert outsider.get("/v1/webhooks/deliveries").json() == []
    assert owner.post(f"/v1/webhooks/endpoints/{endpoint_id}/ping").json() == {"queued": 1}
    assert owner.delete(f"/v1/webhooks/endpoints/{endpoint_id}").status_code == 204
    assert owner.post(f"/v1/webhooks/endpoints/{endpoint_id}/ping").status_code == 404
    (ping,) = owner.get("/v1/webhooks/deliveries").json()
    assert ping["event_type"] == "ping" and ping["status"] == "failed"
    bad = owner.post("/v1/webhooks/endpoints", json={**body, "url": "ftp://x.example/"})
    assert bad.status_code == 422


def test_postwise_webhooks_delivers_for_a_while_then_exits(
    api: tuple[str, Tenants], api_settings: Settings, serving_cells: Cells, tmp_path: Path
) -> None:
    _, tenants = api
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    with Receiver(failures=0) as receiver:
        endpoint = {"url": receiver.url, "event_types": ["campaign.sent"]}
        assert owner.post("/v1/webhooks/endpoints", json=endpoint).status_code == 201
        with serving_cells.connection("control") as conn:
            assert emit(conn, tenant.org_id, "ping", {"hello": "world"}) == 1
        env = {
            **os.environ,
            **settings_environment(api_settings, WEBHOOK_ALLOW_PRIVATE_TARGETS="true"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "postwise.cli", "webhooks", "--seconds", "2"],
            cwd=tmp_path,  # no stray .env
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert [json.loads(body)["data"] for _, body in receiver.received] == [{"hello": "world"}]
