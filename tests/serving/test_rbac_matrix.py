"""The permission matrix walked on the live API: every route of the app (read from the app,
so a new route is walked the day it is added) either requires a permission or is listed
here as open, and every role is tried on every route: a role below the route's minimum
gets 403 ``forbidden``, a role at or above it never does. The matrix document in
serving/ is the one the routes enforce."""

from __future__ import annotations

import re
import uuid
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import Tenants

from postwise.settings import Settings
from serving.api.main import create_app
from serving.api.permissions import RouteRule, matrix_markdown, route_rules
from serving.auth import Role

# Routes anyone may call, without credentials: tracking links, health, metrics (guarded
# by its own token or loopback), inbound ESP webhooks (their own signatures), logging in.
PUBLIC = (
    "/t/*",
    "/health",
    "/health/*",
    "/metrics",
    "/v1/webhooks/esp/*",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/mfa/*",  # the second step of a login: its mfa_token is the credential
)
# Routes any signed-in caller may call whatever its role: who it is, logging out, and
# (below) the caller's own second factors.
ANY_ROLE = {("GET", "/v1/me"), ("POST", "/v1/auth/logout")}
# A user's own password (API keys have none: 422 not_a_user).
ANY_ROLE |= {("PUT", "/v1/me/password")}
# A user's own second factors (API keys have none: 422 not_a_user).
ANY_ROLE |= {
    ("GET", "/v1/factors"),
    ("POST", "/v1/factors/totp"),
    ("POST", "/v1/factors/totp/confirm"),
    ("DELETE", "/v1/factors/totp"),
    ("POST", "/v1/factors/webauthn/options"),
    ("POST", "/v1/factors/webauthn"),
    ("DELETE", "/v1/factors/webauthn/{credential_id}"),
}
# Path parameters that are not ids (the rest get a fresh UUID).
PATH_SAMPLES = {"domain": "mail.acme.example", "route": "primary", "version": "1"}
MATRIX = Path(__file__).resolve().parents[2] / "serving" / "PERMISSIONS.md"


@pytest.fixture(scope="module")
def rules(api_settings: Settings) -> list[RouteRule]:
    return route_rules(create_app(api_settings))


def is_public(rule: RouteRule) -> bool:
    return any(fnmatch(rule.path, pattern) for pattern in PUBLIC)


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_SAMPLES.get(m[1], str(uuid.uuid4())), path)


def test_every_route_requires_a_permission_unless_listed_as_open(rules: list[RouteRule]) -> None:
    undeclared = [
        f"{r.method} {r.path}"
        for r in rules
        if r.permission is None
        and not (is_public(r) and not r.signed_in)
        and not ((r.method, r.path) in ANY_ROLE and r.signed_in)
    ]
    listed_but_guarded = [
        f"{r.method} {r.path}" for r in rules if is_public(r) and r.permission is not None
    ]
    known = {(r.method, r.path) for r in rules}

    assert undeclared == [], "routes without a permission (require one, or list them as open)"
    assert listed_but_guarded == []
    assert ANY_ROLE <= known
    assert sum(r.permission is not None for r in rules) >= 30  # the registry is filled


def test_the_matrix_document_is_the_one_the_routes_enforce(api_settings: Settings) -> None:
    expected = matrix_markdown(create_app(api_settings))

    assert MATRIX.read_text() == expected, (
        "serving/PERMISSIONS.md is stale; rewrite it with python -m serving.api.permissions"
    )


def call(client: Any, rule: RouteRule) -> httpx.Response:
    body = {} if rule.method in {"POST", "PUT", "PATCH"} else None
    response: httpx.Response = client.request(rule.method, fill(rule.path), json=body)
    return response


def test_every_role_on_every_route_gets_what_the_matrix_says(
    rules: list[RouteRule], tenants: Tenants, api_url: str
) -> None:
    org = tenants.org()
    clients = {role: tenants.client(org, role) for role in Role}
    wrong: list[str] = []
    walked = 0

    for rule in rules:
        if not rule.signed_in:
            continue
        anonymous = httpx.request(rule.method, api_url + fill(rule.path), json={})
        if anonymous.status_code != 401:
            wrong.append(f"{rule.method} {rule.path} anonymous: {anonymous.status_code}")
        for role, client in clients.items():
            walked += 1
            response = call(client, rule)
            allowed = rule.minimum_role is None or role.includes(rule.minimum_role)
            if allowed and response.status_code == 403:
                wrong.append(f"{rule.method} {rule.path} {role}: 403 {response.text}")
            if not allowed and (
                response.status_code != 403 or response.json().get("code") != "forbidden"
            ):
                wrong.append(f"{rule.method} {rule.path} {role}: {response.status_code}")
            if response.status_code >= 500:
                wrong.append(f"{rule.method} {rule.path} {role}: {response.status_code}")

    assert wrong == []
    assert walked == 3 * sum(r.signed_in for r in rules)
