"""Users against the live API: login for JWT tokens, bearer calls held to the same roles as
keys, refresh rotation, logout through the Redis denylist, owners managing users, and
isolation between organizations."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from api_kit import Tenants
from factor_kit import admin_tokens
from ops_kit import PASSWORD, add_user, people_fixture  # noqa: F401 (a fixture)
from settings_env import settings_environment

from postwise.cli import main
from postwise.settings import Settings, get_settings
from serving.auth import Role, generate_signing_key
from serving.auth.passwords import WeakPassword, hash_password, verify_password
from serving.auth.tokens import TokenIssuer
from serving.errors import AuthenticationFailed
from warehouse.db import Cells


def login(api_url: str, email: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    return httpx.post(f"{api_url}/v1/auth/login", json={"email": email, "password": password,
                                                         **extra})  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_passwords_are_argon2id_and_short_ones_are_refused() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse battery!")
    assert not verify_password(None, "anything at all")
    with pytest.raises(WeakPassword):
        hash_password("short")


def test_a_token_of_one_kind_or_secret_is_not_accepted_as_another() -> None:
    issuer = TokenIssuer("s" * 32)
    pair = issuer.issue(uuid.uuid4(), uuid.uuid4())
    assert issuer.decode(pair.access_token, "access").kind == "access"
    with pytest.raises(AuthenticationFailed) as wrong_kind:
        issuer.decode(pair.refresh_token, "access")
    with pytest.raises(AuthenticationFailed) as wrong_secret:
        TokenIssuer("t" * 32).decode(pair.access_token, "access")
    expired = issuer.issue(uuid.uuid4(), uuid.uuid4(), now=time.time() - 3600).access_token
    with pytest.raises(AuthenticationFailed) as old:
        issuer.decode(expired, "access")
    assert (wrong_kind.value.code, wrong_secret.value.code) == ("invalid_token", "invalid_token")
    assert old.value.code == "token_expired"


def test_a_user_logs_in_and_calls_the_api_as_their_organization_and_role(
    people: Tenants, api_url: str
) -> None:
    tenant = people.org("apac")
    email = add_user(people.cells, tenant.org_id, Role.ANALYST)

    tokens = login(api_url, email.upper()).json()
    me = httpx.get(f"{api_url}/v1/me", headers=bearer(tokens["access_token"]))

    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_expires_in"] == 7 * 86400
    assert me.status_code == 200, me.text
    assert me.json()["org_id"] == str(tenant.org_id)
    assert (me.json()["role"], me.json()["home_region"]) == ("analyst", "apac")
    assert me.json()["subject"].startswith("user:")
    keys = httpx.get(f"{api_url}/v1/api-keys", headers=bearer(tokens["access_token"]))
    assert (keys.status_code, keys.json()["code"]) == (403, "forbidden")


def test_wrong_credentials_are_refused_alike(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id)
    wrong = login(api_url, email, "not the password at all")
    unknown = login(api_url, f"nobody-{uuid.uuid4().hex[:8]}@acme.example")
    forged = httpx.get(f"{api_url}/v1/me", headers=bearer("not.a.token"))
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert (unknown.status_code, unknown.json()["code"]) == (401, "invalid_credentials")
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_token")


def test_an_address_in_two_organizations_logs_in_with_the_org_slug(
    people: Tenants, api_url: str
) -> None:
    first, second = people.org(), people.org()
    email = add_user(people.cells, first.org_id)
    add_user(people.cells, second.org_id, Role.ANALYST, email)

    ambiguous = login(api_url, email)
    chosen = login(api_url, email, org=second.slug).json()

    assert (ambiguous.status_code, ambiguous.json()["code"]) == (422, "organization_required")
    me = httpx.get(f"{api_url}/v1/me", headers=bearer(chosen["access_token"])).json()
    assert (me["org_id"], me["role"]) == (str(second.org_id), "analyst")


def test_a_refresh_token_works_once_and_logout_revokes_both_tokens(
    people: Tenants, api_url: str
) -> None:
    email = add_user(people.cells, people.org().org_id)
    first = login(api_url, email).json()

    refreshed = httpx.post(f"{api_url}/v1/auth/refresh",
                           json={"refresh_token": first["refresh_token"]})  # fmt: skip
    reused = httpx.post(f"{api_url}/v1/auth/refresh",
                        json={"refresh_token": first["refresh_token"]})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    assert (reused.status_code, reused.json()["code"]) == (401, "revoked_token")
    pair = refreshed.json()

    out = httpx.post(f"{api_url}/v1/auth/logout", headers=bearer(pair["access_token"]),
                     json={"refresh_token": pair["refresh_token"]})  # fmt: skip
    assert out.status_code == 204, out.text
    after = httpx.get(f"{api_url}/v1/me", headers=bearer(pair["access_token"]))
    again = httpx.post(f"{api_url}/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert (after.status_code, after.json()["code"]) == (401, "revoked_token")
    assert (again.status_code, again.json()["code"]) == (401, "revoked_token")
    # The first access token was not logged out and still works.
    assert httpx.get(f"{api_url}/v1/me", headers=bearer(first["access_token"])).status_code == 200


def test_owners_manage_their_organization_s_users_only(people: Tenants, api_url: str) -> None:
    tenant, other = people.org(), people.org()
    tokens, _ = admin_tokens(api_url, add_user(people.cells, tenant.org_id))
    owner = bearer(tokens["access_token"])
    stranger_email = add_user(people.cells, other.org_id, Role.ANALYST)
    analyst_key = people.client(tenant, Role.ANALYST)
    body = {"email": "grace@acme.example", "password": PASSWORD, "role": "campaign_manager"}

    created = httpx.post(f"{api_url}/v1/users", json=body, headers=owner)
    duplicate = httpx.post(f"{api_url}/v1/users", json=body, headers=owner)
    weak = httpx.post(f"{api_url}/v1/users", json={**body, "email": "x@acme.example",
                                                   "password": "short"}, headers=owner)  # fmt: skip
    refused = analyst_key.post("/v1/users", json={**body, "email": "y@acme.example"})
    listed = httpx.get(f"{api_url}/v1/users", headers=owner).json()

    assert created.status_code == 201, created.text
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "user_exists")
    assert weak.status_code == 422
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert {u["email"] for u in listed} >= {"grace@acme.example"}
    assert stranger_email not in {u["email"] for u in listed}
    assert all("password" not in str(u) for u in listed)

    stranger = login(api_url, stranger_email).json()
    stranger_me = httpx.get(f"{api_url}/v1/me", headers=bearer(stranger["access_token"])).json()
    stranger_id = stranger_me["subject"].removeprefix("user:")
    foreign = httpx.delete(f"{api_url}/v1/users/{stranger_id}", headers=owner)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "user_not_found")

    grace = login(api_url, "grace@acme.example").json()["access_token"]
    grace_id = created.json()["user_id"]
    assert httpx.delete(f"{api_url}/v1/users/{grace_id}", headers=owner).status_code == 204
    deadline = time.monotonic() + 10
    while (response := httpx.get(f"{api_url}/v1/me", headers=bearer(grace))).status_code == 200:
        assert time.monotonic() < deadline, "a removed user's token kept working"
        time.sleep(0.5)
    assert (response.status_code, response.json()["code"]) == (401, "inactive_user")
    assert login(api_url, "grace@acme.example").status_code == 401


def test_the_cli_bootstraps_an_owner_and_an_api_key(
    api_settings: Settings,
    api_url: str,
    serving_cells: Cells,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slug = f"boot-{uuid.uuid4().hex[:8]}"
    for name, value in settings_environment(api_settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    password_file, key_file = tmp_path / "password", tmp_path / "key.pem"
    password_file.write_text(PASSWORD + "\n")
    key_file.write_bytes(generate_signing_key()[1])
    email = f"founder-{uuid.uuid4().hex[:6]}@acme.example"
    try:
        missing = main(["users", "create", "--org", slug, "--email", email, "--role", "owner",
                        "--password-file", str(password_file)])  # fmt: skip
        made = main(["users", "create", "--org", slug, "--email", email, "--role", "owner",
                     "--password-file", str(password_file), "--home-region", "eu"])  # fmt: skip
        keyed = main(["api-keys", "create", "--org", slug, "--role", "analyst",
                      "--public-key", str(key_file)])  # fmt: skip
        bad_key = main(["api-keys", "create", "--org", slug, "--role", "analyst",
                        "--public-key", str(password_file)])  # fmt: skip
        assert (missing, made, keyed, bad_key) == (1, 0, 0, 1)
        tokens = login(api_url, email, org=slug).json()
        me = httpx.get(f"{api_url}/v1/me", headers=bearer(tokens["access_token"])).json()
        assert me["role"] == "owner" and me["home_region"] == "eu"
    finally:
        get_settings.cache_clear()
        with serving_cells.connection("control") as conn:
            org = conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (slug,)).fetchone()
            if org is not None:
                for table in ("users", "api_keys", "orgs"):
                    conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (org[0],))  # noqa: S608
