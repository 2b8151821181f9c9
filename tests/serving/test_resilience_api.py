"""The API when things go wrong, on a live server: a request over its time limit gets 504,
an outage 503 and a real fault 500, each with a code, never an HTML page; with Redis gone
the requests that need it get 503; and GET /metrics shows what happened."""

from __future__ import annotations

import time
import uuid

import httpx
import psycopg
from api_kit import Tenants, serve
from ops_kit import PASSWORD, add_user, people_fixture  # noqa: F401 (a fixture)

from postwise.settings import Settings
from serving.api.main import create_app
from serving.auth import Role
from serving.client import PostwiseClient
from simulator.esp import free_port
from warehouse.db import Cells


def slow() -> dict[str, str]:
    time.sleep(2.5)
    return {"late": "yes"}


def boom() -> None:
    raise RuntimeError("a bug")


def db_down() -> None:
    raise psycopg.OperationalError("connection refused")


def test_time_limits_outages_and_faults_answer_with_codes_and_show_in_metrics(
    api_settings: Settings, serving_cells: Cells
) -> None:
    app = create_app(api_settings.model_copy(update={"api_request_timeout_seconds": 1.0}))
    for path, endpoint in (
        ("/test/slow", slow),
        ("/test/slow:import", slow),
        ("/test/boom", boom),
        ("/test/db", db_down),
    ):
        app.add_api_route(path, endpoint, include_in_schema=False)
    with serve(app) as url:
        started = time.monotonic()
        late = httpx.get(f"{url}/test/slow")
        waited = time.monotonic() - started
        bulk = httpx.get(f"{url}/test/slow:import")
        fault = httpx.get(f"{url}/test/boom")
        outage = httpx.get(f"{url}/test/db")
        unknown = httpx.get(f"{url}/no/such/route")
        alive = httpx.get(f"{url}/health")
        ready = httpx.get(f"{url}/health/ready")
        metrics = httpx.get(f"{url}/metrics")

    assert (late.status_code, late.json()["code"]) == (504, "request_timeout")
    assert waited < 2.0
    assert bulk.json() == {"late": "yes"}  # bulk uploads take as long as they need
    assert (fault.status_code, fault.json()["code"]) == (500, "internal_error")
    assert "a bug" not in fault.text  # no internals leak
    assert (outage.status_code, outage.json()["code"]) == (503, "database_unavailable")
    assert "retry-after" in outage.headers
    assert unknown.status_code == 404
    assert alive.json() == {"status": "ok", "checks": {}}
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    for line in (
        'postwise_api_requests_total{method="GET",route="/test/slow",status="504"} 1.0',
        'postwise_api_requests_total{method="GET",route="/test/boom",status="500"} 1.0',
        'postwise_api_requests_total{method="GET",route="/test/db",status="503"} 1.0',
        'postwise_api_requests_total{method="GET",route="<unmatched>",status="404"} 1.0',
        'postwise_api_request_duration_seconds_count{method="GET",route="/health"} 1.0',
        "postwise_api_timeouts_total 1.0",
    ):
        assert line in text, line


def test_metrics_need_the_token_when_one_is_set(
    api_settings: Settings, serving_cells: Cells
) -> None:
    app = create_app(api_settings.model_copy(update={"metrics_token": "scrape-secret"}))
    with serve(app) as url:
        refused = httpx.get(f"{url}/metrics")
        wrong = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
        allowed = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert (refused.status_code, refused.json()["code"]) == (401, "metrics_token_required")
    assert wrong.status_code == 401
    assert allowed.status_code == 200 and "postwise_api_requests_total" in allowed.text


def test_with_redis_gone_what_needs_it_answers_503_and_the_rest_works(
    api_settings: Settings, people: Tenants
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    tenant = people.org()
    key = people.client(tenant, Role.ANALYST)
    email = add_user(people.cells, tenant.org_id)
    with serve(create_app(api_settings.model_copy(update={"redis_url": dead}))) as url:
        signed = PostwiseClient(url, key.api_key, key._private_key)  # noqa: SLF001
        replay_protected = signed.get("/v1/me")
        credentials = {"email": email, "password": PASSWORD}
        login = httpx.post(f"{url}/v1/auth/login", json=credentials)
        token = login.json().get("access_token", "")
        bearer = httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"})
        ready = httpx.get(f"{url}/health/ready")
        stranger = httpx.get(f"{url}/v1/send-time/{uuid.uuid4()}")
        signed.close()
    assert replay_protected.status_code == 503
    assert login.status_code == 200, login.text  # limits fail open; tokens need no Redis
    assert (bearer.status_code, bearer.json()["code"]) == (503, "unavailable")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "failing"
    assert stranger.status_code == 401
