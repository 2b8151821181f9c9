"""Signed API requests against the live API: a signed request is the caller, anything
else is refused with a reason (no credentials, a bad key, a tampered body, a stale
timestamp, a replayed nonce, a revoked key), and roles bound what keys may do."""

from __future__ import annotations

import time

import httpx
import pytest
from api_kit import Tenants

from serving.auth import Role, generate_signing_key
from serving.auth.signing import sign_request


def test_a_signed_request_is_its_key_s_organization_and_role(tenants: Tenants) -> None:
    tenant = tenants.org("apac")
    client = tenants.client(tenant, Role.ANALYST)

    response = client.get("/v1/me")

    assert response.status_code == 200, response.text
    assert response.json()["org_id"] == str(tenant.org_id)
    assert response.json()["role"] == "analyst"
    assert response.json()["home_region"] == "apac"


def test_requests_without_a_valid_signature_are_refused_with_a_reason(
    tenants: Tenants, api_url: str
) -> None:
    client = tenants.client(tenants.org())
    private, _ = generate_signing_key()  # not the key registered for this API key
    body = b'{"name":"x","role":"analyst","public_key":"-"}'

    def post(headers: dict[str, str], content: bytes = body) -> httpx.Response:
        return httpx.post(f"{api_url}/v1/api-keys", content=content, headers=headers)

    assert post({}).json()["code"] == "missing_credentials"
    good = client._private_key  # noqa: SLF001 (the holder's own key)
    signed = sign_request(good, client.api_key, "POST", "/v1/api-keys", body)
    changed = "B" if client.api_key.endswith("A") else "A"
    bad_key = {**signed, "x-postwise-key": client.api_key[:-1] + changed}
    assert post(bad_key).json()["code"] == "invalid_key"
    assert post(signed, body + b" ").json()["code"] == "invalid_signature"
    forged = sign_request(private, client.api_key, "POST", "/v1/api-keys", body)
    assert post(forged).json()["code"] == "invalid_signature"
    stale = sign_request(good, client.api_key, "POST", "/v1/api-keys", body,
                         timestamp=int(time.time()) - 600)  # fmt: skip
    assert post(stale).json()["code"] == "stale_request"
    for response in (post({}), post(bad_key), post(forged), post(stale)):
        assert response.status_code == 401


def test_a_replayed_request_fails(tenants: Tenants, api_url: str) -> None:
    client = tenants.client(tenants.org())
    headers = sign_request(client._private_key, client.api_key, "GET", "/v1/me")  # noqa: SLF001

    first = httpx.get(f"{api_url}/v1/me", headers=headers)
    replay = httpx.get(f"{api_url}/v1/me", headers=headers)

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["code"]) == (401, "replayed_request")


def test_owners_manage_keys_within_their_role_and_revoked_keys_stop_working(
    tenants: Tenants,
) -> None:
    tenant = tenants.org()
    owner = tenants.client(tenant, Role.OWNER)
    manager = tenants.client(tenant, Role.CAMPAIGN_MANAGER)
    _, public = generate_signing_key()
    body = {"name": "checkout", "role": "campaign_manager", "public_key": public.decode()}

    refused = manager.post("/v1/api-keys", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    created = owner.post("/v1/api-keys", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["api_key"].startswith("pw_")
    listed = owner.get("/v1/api-keys").json()
    assert {k["role"] for k in listed} == {"owner", "campaign_manager"}
    assert all("api_key" not in k and "key_hash" not in k for k in listed)
    weak = owner.post("/v1/api-keys", json={**body, "public_key": "not a key"})
    assert (weak.status_code, weak.json()["code"]) == (422, "invalid_public_key")

    manager_key_id = next(
        k["key_id"] for k in listed if k["role"] == "campaign_manager" and k["name"] != "checkout"
    )
    assert owner.delete(f"/v1/api-keys/{manager_key_id}").status_code == 204
    assert owner.delete(f"/v1/api-keys/{manager_key_id}").status_code == 404
    deadline = time.monotonic() + 10
    while (response := manager.get("/v1/me")).status_code == 200:
        assert time.monotonic() < deadline, "a revoked key kept working"
        time.sleep(0.5)
    assert (response.status_code, response.json()["code"]) == (401, "revoked_key")


@pytest.mark.parametrize("role", ["analyst", "campaign_manager"])
def test_only_owners_see_the_organization_s_keys(tenants: Tenants, role: str) -> None:
    client = tenants.client(tenants.org(), Role(role))
    response = client.get("/v1/api-keys")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
