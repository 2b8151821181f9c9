"""The switches API on the live server: an owner who signed in with a second factor pauses
the organization's sending, forces or drains a route, lists and clears switches; an owner
without a second factor and the roles below are refused; another organization's switches
are invisible; every change is audited and announced to the workers (the Redis counter)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from api_kit import Tenants
from factor_kit import admin_tokens, bearer, login
from ops_kit import add_user, people_fixture  # noqa: F401 (a fixture)

from delivery.switches import version_key
from postwise.settings import Settings
from serving.auth import Role
from warehouse.db import Cells
from warehouse.switches import active_switches

PAUSE = {"kind": "pause", "sending_domain": "news.acme.example", "reason": "INC-7: complaints"}


@pytest.fixture
def owner(people: Tenants, api_url: str) -> Iterator[tuple[uuid.UUID, dict[str, str]]]:
    """An organization and its owner's bearer header (signed in with TOTP)."""
    tenant = people.org()
    tokens, _ = admin_tokens(api_url, add_user(people.cells, tenant.org_id))
    yield tenant.org_id, bearer(tokens["access_token"])
    with people.cells.connection("control") as conn:
        conn.execute("DELETE FROM operator_switches WHERE org_id = %s", (tenant.org_id,))


def _audit(cells: Cells, org_id: uuid.UUID) -> list[tuple[str, str, str]]:
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT action, actor, subject FROM audit_log WHERE org_id = %s "
            "AND action LIKE 'switch.%%' ORDER BY audit_id",
            (org_id,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_an_owner_with_a_second_factor_sets_lists_and_clears_a_switch(
    owner: tuple[uuid.UUID, dict[str, str]],
    api_url: str,
    api_settings: Settings,
    serving_cells: Cells,
    redis_url: str,
) -> None:
    org_id, headers = owner
    client = redis.Redis.from_url(redis_url)
    announced = int(client.get(version_key(api_settings.database_prefix)) or 0)

    made = httpx.post(f"{api_url}/v1/ops/switches", json=PAUSE, headers=headers)
    assert made.status_code == 201, made.text
    switch = made.json()
    listed = httpx.get(f"{api_url}/v1/ops/switches", headers=headers).json()
    with serving_cells.connection("control") as conn:
        in_force = [s for s in active_switches(conn) if s.org_id == org_id]
    after_set = int(client.get(version_key(api_settings.database_prefix)) or 0)
    scraped = httpx.get(f"{api_url}/metrics").text
    cleared = httpx.delete(f"{api_url}/v1/ops/switches/{switch['switch_id']}", headers=headers)
    again = httpx.delete(f"{api_url}/v1/ops/switches/{switch['switch_id']}", headers=headers)
    active = httpx.get(f"{api_url}/v1/ops/switches", headers=headers).json()
    history = httpx.get(
        f"{api_url}/v1/ops/switches", params={"include_cleared": "true"}, headers=headers
    ).json()
    after_clear = int(client.get(version_key(api_settings.database_prefix)) or 0)
    client.close()

    assert (switch["kind"], switch["sending_domain"], switch["cleared_at"]) == (
        "pause", "news.acme.example", None,
    )  # fmt: skip
    assert switch["scope"] == f"sender {org_id}/news.acme.example"
    assert switch["created_by"].startswith("user:")
    assert [s["switch_id"] for s in listed] == [switch["switch_id"]]
    assert [s.switch_id for s in in_force] == [uuid.UUID(switch["switch_id"])]
    assert (cleared.status_code, again.status_code) == (204, 404)
    assert again.json()["code"] == "switch_not_found"
    assert active == [] and history[0]["cleared_by"] == switch["created_by"]
    assert after_set > announced and after_clear > after_set  # every worker is told
    assert _gauge(scraped, 'postwise_switches_active{kind="pause",scope="organization"}') >= 1
    assert _gauge(scraped, 'postwise_paused_senders{region="eu"}') >= 0
    subject = f"switch:{switch['switch_id']}"
    assert _audit(serving_cells, org_id) == [
        ("switch.set", switch["created_by"], subject),
        ("switch.cleared", switch["created_by"], subject),
    ]


def test_a_switch_outside_residency_or_naming_unknown_things_is_refused(
    owner: tuple[uuid.UUID, dict[str, str]], api_url: str, serving_cells: Cells
) -> None:
    org_id, headers = owner

    def post(**body: object) -> tuple[int, str]:
        answer = httpx.post(
            f"{api_url}/v1/ops/switches", json={"reason": "r", **body}, headers=headers
        )
        return answer.status_code, answer.json()["code"]

    assert post(kind="force_route", route="frankfurt", region="na") == (422, "outside_residency")
    assert post(kind="drain", route="nowhere") == (422, "unknown_route")
    assert post(kind="drain") == (422, "route_required")
    assert post(kind="pause", region="mars") == (422, "unknown_region")
    assert post(kind="pause", reason="   ") == (422, "reason_required")
    assert post(kind="stop") == (422, "invalid_request")
    assert _audit(serving_cells, org_id) == []


def test_owners_without_a_second_factor_and_lower_roles_are_refused(
    people: Tenants, owner: tuple[uuid.UUID, dict[str, str]], api_url: str
) -> None:
    org_id, _ = owner
    password_only = login(api_url, add_user(people.cells, org_id)).json()["access_token"]
    manager = login(api_url, add_user(people.cells, org_id, Role.CAMPAIGN_MANAGER)).json()

    no_factor = httpx.post(f"{api_url}/v1/ops/switches", json=PAUSE, headers=bearer(password_only))
    lower = httpx.post(
        f"{api_url}/v1/ops/switches", json=PAUSE, headers=bearer(manager["access_token"])
    )
    listing = httpx.get(f"{api_url}/v1/ops/switches", headers=bearer(manager["access_token"]))

    assert (no_factor.status_code, no_factor.json()["code"]) == (403, "second_factor_required")
    assert (lower.status_code, lower.json()["code"]) == (403, "forbidden")
    assert (listing.status_code, listing.json()["code"]) == (403, "forbidden")


def test_another_organization_neither_sees_nor_clears_a_switch(
    people: Tenants, owner: tuple[uuid.UUID, dict[str, str]], api_url: str
) -> None:
    _, headers = owner
    switch = httpx.post(f"{api_url}/v1/ops/switches", json=PAUSE, headers=headers).json()
    other = people.org()
    tokens, _ = admin_tokens(api_url, add_user(people.cells, other.org_id))
    theirs = bearer(tokens["access_token"])

    seen = httpx.get(f"{api_url}/v1/ops/switches?include_cleared=true", headers=theirs)
    cleared = httpx.delete(f"{api_url}/v1/ops/switches/{switch['switch_id']}", headers=theirs)
    mine = httpx.get(f"{api_url}/v1/ops/switches", headers=headers).json()

    assert seen.status_code == 200 and switch["switch_id"] not in seen.text
    assert cleared.status_code == 404
    assert [s["switch_id"] for s in mine] == [switch["switch_id"]]  # still in force


def _gauge(exposition: str, name: str) -> float:
    line = next(line for line in exposition.splitlines() if line.startswith(name + " "))
    return float(line.rsplit(" ", 1)[1])
