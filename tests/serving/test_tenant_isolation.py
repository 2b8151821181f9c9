"""Tenant isolation on every route, driven by the app's route list: organization A owns one
of each resource (template, campaign, webhook endpoint and delivery, API key, user,
message, contact, suppression), and organization B's owner, the strongest key there is,
calls every route that takes an id with A's: 404 (or "not found" inside a batch), and A's
data reads back exactly as before. Every list B can read shows none of A's identifiers.
A new route taking an id fails the coverage test until it gets a case here."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from api_kit import Tenants
from campaign_kit import remove_org_rows
from ops_kit import remove_users

from postwise.settings import Settings
from serving.api.main import create_app
from serving.api.permissions import RouteRule, route_rules
from serving.auth import Role
from serving.client import PostwiseClient
from warehouse.db import Cells

TEMPLATE = {"name": "Isolated", "subject": "Hi {{name}}", "html": "<p>Hi {{name}}</p>"}
EMAIL = "isolated-{}@example.org"
# Routes with a path parameter that names no organization's data.
NOT_TENANT_DATA = {("GET", "/v1/domains/{domain}/checks")}  # DNS facts, same for everyone


@dataclass
class OrgA:
    """Organization A's resources, by the path parameter names of the routes."""

    owner: PostwiseClient
    ids: dict[str, str] = field(default_factory=dict)
    email: str = ""

    def secrets(self) -> set[str]:
        """Strings that must never reach organization B."""
        return {*self.ids.values(), self.email}


def make_org_a(tenants: Tenants) -> OrgA:
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    a = OrgA(owner, {"org_id": str(tenant.org_id)}, EMAIL.format(uuid.uuid4().hex[:8]))

    def made(response: httpx.Response, key: str) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()[key]

    a.ids["template_id"] = made(owner.post("/v1/templates", json=TEMPLATE), "template_id")
    campaign = {
        "name": "Isolated campaign",
        "campaign_type": "marketing",
        "template_id": a.ids["template_id"],
        "sending_domain": "mail.acme.example",
    }
    a.ids["campaign_id"] = made(owner.post("/v1/campaigns", json=campaign), "campaign_id")
    hook = {"url": "https://hooks.acme.example/a", "event_types": ["campaign.sent"]}
    a.ids["endpoint_id"] = made(owner.post("/v1/webhooks/endpoints", json=hook), "endpoint_id")
    assert owner.post(f"/v1/webhooks/endpoints/{a.ids['endpoint_id']}/ping").status_code == 202
    tenants.client(tenant, Role.ANALYST)
    keys = owner.get("/v1/api-keys").json()
    a.ids["key_id"] = next(k["key_id"] for k in keys if k["role"] == "analyst")
    user = {"email": f"u-{a.email}", "password": "a long enough passphrase", "role": "analyst"}
    a.ids["user_id"] = made(owner.post("/v1/users", json=user), "user_id")
    elevation = {"user_id": a.ids["user_id"], "role": "campaign_manager",
                 "reason": "isolation drill", "minutes": 30}  # fmt: skip
    a.ids["grant_id"] = made(owner.post("/v1/break-glass", json=elevation), "grant_id")
    pause = {"kind": "pause", "sending_domain": "mail.acme.example", "reason": "isolation drill"}
    a.ids["switch_id"] = made(owner.post("/v1/ops/switches", json=pause), "switch_id")
    message = {
        "recipient": {"email": a.email, "country": "DE", "name": "Ada"},
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "sending_domain": "mail.acme.example",
    }
    accepted = owner.post("/v1/messages", json=message)
    a.ids["message_id"] = made(accepted, "message_id")
    a.ids["contact_id"] = accepted.json()["contact_id"]
    suppressed = owner.post("/v1/suppressions", json={"email": f"s-{a.email}"})
    assert suppressed.status_code == 201, suppressed.text
    traps = [{"email": f"t{i}-{a.email.split('@')[0]}@mailinator.com", "country": "DE"}
             for i in range(3)]  # fmt: skip
    a.ids["import_id"] = made(owner.post("/v1/contacts:import", json=traps), "quarantine_id")
    return a


def snapshot(a: OrgA) -> dict[str, Any]:
    """Everything of A that B's calls could change, read by A (key use times left out)."""
    ids = a.ids
    reads = {
        "template": f"/v1/templates/{ids['template_id']}",
        "versions": f"/v1/templates/{ids['template_id']}/versions",
        "campaign": f"/v1/campaigns/{ids['campaign_id']}",
        "endpoints": "/v1/webhooks/endpoints",
        "deliveries": "/v1/webhooks/deliveries",
        "keys": "/v1/api-keys",
        "users": "/v1/users",
        "break_glass": "/v1/break-glass",
        "switches": "/v1/ops/switches",
        "message": f"/v1/messages/{ids['message_id']}",
        "contact": f"/v1/contacts/{ids['contact_id']}",
        "preferences": f"/v1/contacts/{ids['contact_id']}/preferences",
        "suppressions": "/v1/suppressions",
        "quarantined": "/v1/imports/quarantined",
    }
    state = {}
    for name, path in reads.items():
        response = a.owner.get(path)
        assert response.status_code == 200, (path, response.text)
        state[name] = response.json()
    for key in state["keys"]:
        key.pop("last_used_at")
    return state


# How B calls a route with A's ids: (json body or None, query params or None), and what
# B must get. ``path`` cases fill the path parameters with A's ids and expect a 404.
Case = Callable[[OrgA], tuple[Any, dict[str, str] | None]]
BODIES: dict[tuple[str, str], Case] = {
    ("PUT", "/v1/templates/{template_id}"): lambda a: (TEMPLATE, None),
    ("POST", "/v1/templates/{template_id}/preview"): lambda a: ({}, None),
    ("PATCH", "/v1/campaigns/{campaign_id}"): lambda a: ({"name": "taken"}, None),
    ("PUT", "/v1/contacts/{contact_id}/preferences"): lambda a: ({"max_per_day": 1}, None),
    ("PUT", "/v1/contacts/{contact_id}/phone"): lambda a: ({"phone": "+4915112345678"}, None),
    ("POST", "/v1/contacts/{contact_id}/opt-ins"): lambda a: ({"steps": 1}, None),
    ("POST", "/v1/contacts/{contact_id}/consents:withdraw"): lambda a: ({}, None),
}
# Routes whose body or query names A's data (not the path): B's call and its check.
Check = Callable[[OrgA, httpx.Response], None]


def _not_found(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code == 404, response.text


def _message_refused(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["code"] for r in results] == ["template_not_found", "campaign_not_found"]


def _batch_not_found(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["not_found"] == [a.ids["contact_id"]]
    assert response.json()["results"] == []


def _own_copy(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code in (200, 201), response.text


def _own_or_absent(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code in (200, 201, 404), response.text


def _template_refused(a: OrgA, response: httpx.Response) -> None:
    assert response.status_code in (404, 422), response.text
    assert "not_found" in response.json()["code"] or "invalid" in response.json()["code"]


BODY_CASES: dict[tuple[str, str], tuple[Callable[[OrgA], dict[str, Any]], Check]] = {
    ("POST", "/v1/messages"): (
        lambda a: {
            "messages": [
                {
                    "recipient": {"email": a.email, "country": "DE"},
                    "template_id": a.ids["template_id"],
                    "sending_domain": "mail.acme.example",
                },
                {
                    "recipient": {"email": a.email, "country": "DE"},
                    "subject": "s",
                    "html": "<p>h</p>",
                    "campaign_id": a.ids["campaign_id"],
                    "sending_domain": "mail.acme.example",
                },
            ]
        },
        _message_refused,
    ),
    ("POST", "/v1/send-time:batch"): (
        lambda a: {"contact_ids": [a.ids["contact_id"]]},
        _batch_not_found,
    ),
    ("POST", "/v1/personalize"): (
        lambda a: {"contact_id": a.ids["contact_id"], "variants": ["A", "B"]},
        _not_found,
    ),
    ("POST", "/v1/break-glass"): (
        lambda a: {
            "user_id": a.ids["user_id"],
            "role": "owner",
            "reason": "takeover",
            "minutes": 5,
        },
        _not_found,
    ),
    ("POST", "/v1/campaigns"): (
        lambda a: {
            "name": "stolen",
            "campaign_type": "marketing",
            "template_id": a.ids["template_id"],
            "sending_domain": "mail.acme.example",
        },
        _template_refused,
    ),
    # The same addresses in B are B's own contacts and suppressions; A's stay as they were.
    ("POST", "/v1/suppressions"): (lambda a: {"email": f"s-{a.email}"}, _own_copy),
    ("POST", "/v1/contacts:import"): (
        lambda a: [{"email": a.email, "country": "FR", "name": "Mallory"}],
        _own_copy,
    ),
    # B erases the address from its own organization only: its own imported copy, or
    # nothing (404); A's contact reads back unchanged.
    ("POST", "/v1/erasures"): (lambda a: {"email": a.email}, _own_or_absent),
}
QUERY_CASES: dict[tuple[str, str], tuple[Callable[[OrgA], dict[str, str]], Check]] = {
    # B removes the address from its own list (absent there: 404), never from A's.
    ("DELETE", "/v1/suppressions"): (lambda a: {"email": f"s-{a.email}"}, lambda a, r: None),
}
# Writes that name no other organization's data (B's own new rows).
OWN_WRITES = {
    ("POST", "/v1/templates"),
    ("POST", "/v1/api-keys"),
    ("POST", "/v1/users"),
    ("POST", "/v1/webhooks/endpoints"),
    ("POST", "/v1/ops/switches"),  # always the caller's own organization's switch
}


@pytest.fixture(scope="module")
def rules(api_settings: Settings) -> list[RouteRule]:
    return [r for r in route_rules(create_app(api_settings)) if r.permission is not None]


@pytest.fixture(scope="module")
def world(serving_cells: Cells, api_url: str) -> Iterator[tuple[OrgA, PostwiseClient]]:
    tenants = Tenants(serving_cells, api_url)
    try:
        a = make_org_a(tenants)
        b = tenants.client(tenants.org(), Role.OWNER)
        yield a, b
    finally:
        remove_org_rows(serving_cells, tenants.created)
        remove_users(serving_cells, tenants.created)
        tenants.cleanup()


def takes_id(rule: RouteRule) -> bool:
    return "{" in rule.path and (rule.method, rule.path) not in NOT_TENANT_DATA


def test_every_route_naming_data_has_an_isolation_case(rules: list[RouteRule]) -> None:
    covered = {*BODY_CASES, *QUERY_CASES, *OWN_WRITES, *NOT_TENANT_DATA}
    lists = {(r.method, r.path) for r in rules if r.method == "GET" and "{" not in r.path}
    uncovered = [
        f"{r.method} {r.path}"
        for r in rules
        if (r.method, r.path) not in covered | lists and not takes_id(r)
    ]
    unknown_ids = [
        name
        for r in rules
        if takes_id(r)
        for name in re.findall(r"\{(\w+)\}", r.path)
        if name
        not in {"template_id", "campaign_id", "endpoint_id", "key_id", "user_id"}
        | {"message_id", "contact_id", "version", "grant_id", "switch_id", "import_id"}
    ]

    assert uncovered == [], "routes without an isolation case"
    assert unknown_ids == [], "path parameters org A has no resource for (add one)"
    assert {*BODY_CASES, *QUERY_CASES, *OWN_WRITES} <= {(r.method, r.path) for r in rules}


def test_another_organization_reaches_none_of_its_data(
    rules: list[RouteRule], world: tuple[OrgA, PostwiseClient]
) -> None:
    a, b = world
    before = snapshot(a)
    wrong: list[str] = []
    called = 0

    for rule in rules:
        route = (rule.method, rule.path)
        if takes_id(rule):
            path = re.sub(r"\{(\w+)\}", lambda m: a.ids.get(m[1], "1"), rule.path)
            body, params = BODIES.get(route, lambda a: (None, None))(a)
            response = b.request(rule.method, path, json=body, params=params)
            if response.status_code != 404:
                wrong.append(f"{rule.method} {path}: {response.status_code} {response.text}")
        elif route in BODY_CASES:
            make, check = BODY_CASES[route]
            response = b.request(rule.method, rule.path, json=make(a))
            try:
                check(a, response)
            except AssertionError as exc:
                wrong.append(f"{rule.method} {rule.path}: {exc}")
        elif route in QUERY_CASES:
            make_params, check = QUERY_CASES[route]
            response = b.request(rule.method, rule.path, params=make_params(a))
            check(a, response)
        else:
            continue
        called += 1
        leaked = _leaks(a, response, allowed=a.secrets() - {a.ids["org_id"]})
        if leaked and response.status_code != 404:
            wrong.append(f"{rule.method} {rule.path} shows A's {leaked}")

    assert wrong == []
    assert called >= 20
    assert snapshot(a) == before


def test_no_list_shows_another_organization_s_rows(
    rules: list[RouteRule], world: tuple[OrgA, PostwiseClient]
) -> None:
    a, b = world
    lists = [r for r in rules if r.method == "GET" and "{" not in r.path]
    shown = {r.path: _leaks(a, b.get(r.path), allowed=set()) for r in lists}

    assert len(lists) >= 7
    assert {path: leaked for path, leaked in shown.items() if leaked} == {}
    # A sees its own rows in the same lists, so the check above is not vacuous.
    own = a.owner.get("/v1/templates").text + a.owner.get("/v1/webhooks/deliveries").text
    assert a.ids["template_id"] in own and a.ids["endpoint_id"] in own


def _leaks(a: OrgA, response: httpx.Response, *, allowed: set[str]) -> set[str]:
    assert response.status_code < 500, response.text
    text = json.dumps(response.json()) if response.content else ""
    return {secret for secret in a.secrets() - allowed if secret and secret in text}
