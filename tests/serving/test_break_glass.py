"""Break-glass access against the live API and the CLI: a grant needs a reason and a
bounded duration, raises an alert (WARNING log, audit entry), raises the user's role only
until it expires or is revoked, and every request made under it is audited."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from api_kit import Tenants
from campaign_kit import remove_org_rows
from factor_kit import admin_tokens, bearer, enrol_totp, login, totp_login, user_id_of
from ops_kit import add_user, people_fixture  # noqa: F401 (a fixture)
from settings_env import settings_environment

from postwise.cli import main
from postwise.settings import Settings, get_settings
from serving.auth import Role
from warehouse.db import Cells


def until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for ``check`` (the API caches a user's grant for a few seconds)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the API did not catch up"
        time.sleep(0.25)


def audit(cells: Cells, action: str, org_id: uuid.UUID) -> list[dict[str, object]]:
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT actor, subject, details FROM audit_log WHERE action = %s AND org_id = %s "
            "ORDER BY audit_id",
            (action, org_id),
        ).fetchall()
    return [{"actor": r[0], "subject": r[1], **r[2]} for r in rows]


def analyst_with_factor(people: Tenants, org_id: uuid.UUID, api_url: str) -> tuple[str, str]:
    """An analyst who signed in with a second factor: their address and access token."""
    email = add_user(people.cells, org_id, Role.ANALYST)
    app = enrol_totp(api_url, login(api_url, email).json()["access_token"])
    return email, totp_login(api_url, email, app)["access_token"]


def test_a_grant_needs_a_reason_a_bounded_duration_and_an_owner_with_a_factor(
    people: Tenants, api_url: str, api_settings: Settings
) -> None:
    tenant = people.org()
    owner, _ = admin_tokens(api_url, add_user(people.cells, tenant.org_id))
    analyst = add_user(people.cells, tenant.org_id, Role.ANALYST)
    target = str(user_id_of(api_url, login(api_url, analyst).json()["access_token"]))
    body = {"user_id": target, "role": "owner", "reason": "INC-1: owner away", "minutes": 10}

    def grant(headers: dict[str, str], **changes: object) -> httpx.Response:
        return httpx.post(f"{api_url}/v1/break-glass", json={**body, **changes}, headers=headers)

    blank = grant(bearer(owner["access_token"]), reason="   ")
    missing = httpx.post(
        f"{api_url}/v1/break-glass",
        headers=bearer(owner["access_token"]),
        json={k: v for k, v in body.items() if k != "reason"},
    )
    too_long = grant(
        bearer(owner["access_token"]), minutes=api_settings.break_glass_max_minutes + 1
    )
    not_higher = grant(bearer(owner["access_token"]), role="analyst")
    password_only_owner = login(api_url, add_user(people.cells, tenant.org_id)).json()
    without_factor = grant(bearer(password_only_owner["access_token"]))

    assert (blank.status_code, blank.json()["code"]) == (422, "reason_required")
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_request")
    assert (too_long.status_code, too_long.json()["code"]) == (422, "duration_out_of_range")
    assert (not_higher.status_code, not_higher.json()["code"]) == (422, "not_an_elevation")
    assert (without_factor.status_code, without_factor.json()["code"]) == (
        403,
        "second_factor_required",
    )
    assert audit(people.cells, "break_glass.granted", tenant.org_id) == []


def test_a_grant_alerts_elevates_audits_every_action_and_expires(
    people: Tenants, api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = people.org()
    owner, _ = admin_tokens(api_url, add_user(people.cells, tenant.org_id))
    _, analyst = analyst_with_factor(people, tenant.org_id, api_url)
    hook = httpx.post(
        f"{api_url}/v1/webhooks/endpoints",
        headers=bearer(owner["access_token"]),
        json={"url": "https://hooks.acme.example/alerts", "event_types": ["security.break_glass"]},
    )
    assert hook.status_code == 201, hook.text
    try:
        _grant_alerts_elevates_audits_and_expires(people, api_url, caplog, owner, analyst)
    finally:
        remove_org_rows(people.cells, [tenant.org_id])


def _grant_alerts_elevates_audits_and_expires(
    people: Tenants,
    api_url: str,
    caplog: pytest.LogCaptureFixture,
    owner: dict[str, str],
    analyst: str,
) -> None:
    analyst_id = user_id_of(api_url, analyst)
    org_id = uuid.UUID(httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()["org_id"])

    def users_status() -> int:
        return httpx.get(f"{api_url}/v1/users", headers=bearer(analyst)).status_code

    assert users_status() == 403
    with caplog.at_level(logging.WARNING, logger="serving.auth.break_glass"):
        made = httpx.post(
            f"{api_url}/v1/break-glass",
            headers=bearer(owner["access_token"]),
            json={
                "user_id": str(analyst_id),
                "role": "owner",
                "reason": "INC-2: payroll webhook down",
                "minutes": 15,
            },
        )
    assert made.status_code == 201, made.text
    grant_id = made.json()["grant_id"]
    assert made.json()["granted_by"].startswith("user:")
    assert any(grant_id in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    [granted] = audit(people.cells, "break_glass.granted", org_id)
    assert (granted["grant_id"], granted["reason"], granted["role"]) == (
        grant_id,
        "INC-2: payroll webhook down",
        "owner",
    )
    assert granted["from_role"] == "analyst" and granted["subject"] == f"user:{analyst_id}"
    with people.cells.connection("control") as conn:
        alerts = conn.execute(
            "SELECT payload FROM webhook_deliveries WHERE org_id = %s "
            "AND event_type = 'security.break_glass'",
            (org_id,),
        ).fetchall()
    assert [a[0]["data"]["grant_id"] for a in alerts] == [grant_id]

    until(lambda: users_status() == 200)
    me = httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()
    assert me["role"] == "owner"
    under_grant = httpx.post(
        f"{api_url}/v1/break-glass",
        headers=bearer(analyst),
        json={"user_id": str(analyst_id), "role": "owner", "reason": "extend", "minutes": 5},
    )
    assert under_grant.status_code == 403

    actions = audit(people.cells, "break_glass.action", org_id)
    assert {(a["method"], a["path"], a["status"]) for a in actions} >= {
        ("GET", "/v1/users", 200),
        ("GET", "/v1/me", 200),
        ("POST", "/v1/break-glass", 403),
    }
    assert all(a["grant_id"] == grant_id and a["actor"] == f"user:{analyst_id}" for a in actions)

    # Time runs out: the grant ends by itself.
    with people.cells.connection("control") as conn:
        conn.execute(
            "UPDATE break_glass_grants SET granted_at = now() - interval '20 minutes', "
            "expires_at = now() - interval '1 second' WHERE grant_id = %s",
            (grant_id,),
        )
    until(lambda: users_status() == 403)
    counted = len(audit(people.cells, "break_glass.action", org_id))
    assert httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()["role"] == "analyst"
    assert len(audit(people.cells, "break_glass.action", org_id)) == counted
    gone = httpx.delete(
        f"{api_url}/v1/break-glass/{grant_id}", headers=bearer(owner["access_token"])
    )
    assert (gone.status_code, gone.json()["code"]) == (404, "grant_not_found")


def test_a_grant_can_be_revoked_early(people: Tenants, api_url: str) -> None:
    tenant = people.org()
    owner_key = people.client(tenant, Role.OWNER)  # an owner API key may grant too
    _, analyst = analyst_with_factor(people, tenant.org_id, api_url)
    analyst_id = user_id_of(api_url, analyst)

    made = owner_key.post(
        "/v1/break-glass",
        json={
            "user_id": str(analyst_id),
            "role": "campaign_manager",
            "reason": "INC-3",
            "minutes": 30,
        },
    )
    assert made.status_code == 201, made.text
    grant_id = made.json()["grant_id"]
    until(
        lambda: httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()["role"]
        == "campaign_manager"
    )

    assert owner_key.delete(f"/v1/break-glass/{grant_id}").status_code == 204
    until(
        lambda: httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()["role"] == "analyst"
    )
    listed = owner_key.get("/v1/break-glass").json()
    assert [g["grant_id"] for g in listed] == [grant_id] and listed[0]["revoked_at"] is not None
    [revoked] = audit(people.cells, "break_glass.revoked", tenant.org_id)
    assert revoked["grant_id"] == grant_id and str(revoked["actor"]).startswith("key:")


def test_an_operator_grants_break_glass_from_the_cli(
    people: Tenants,
    api_settings: Settings,
    serving_cells: Cells,
    api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = people.org()
    email, analyst = analyst_with_factor(people, tenant.org_id, api_url)
    for name, value in settings_environment(api_settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    args = ["admin", "break-glass", "--org", tenant.slug, "--user", email, "--minutes", "5"]
    try:
        blank = main([*args, "--reason", " "])
        too_long = main([*args[:-1], "100000", "--reason", "INC-4"])
        made = main([*args, "--reason", "INC-4: database owner locked out"])
    finally:
        get_settings.cache_clear()
    assert (blank, too_long, made) == (1, 1, 0)
    [granted] = audit(serving_cells, "break_glass.granted", tenant.org_id)
    assert str(granted["actor"]).startswith("operator:")
    until(lambda: httpx.get(f"{api_url}/v1/me", headers=bearer(analyst)).json()["role"] == "owner")


def test_the_cli_refuses_a_grant_without_a_reason() -> None:
    with pytest.raises(SystemExit):
        main(["admin", "break-glass", "--org", "x", "--user", "a@b.example", "--minutes", "5"])
