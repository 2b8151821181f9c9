"""Second factors against the live API: an owner without one may only enrol; TOTP and
WebAuthn enrolment and the two-step login (wrong, replayed and used-up answers refused,
a WebAuthn signature counter that does not move forward refused), secrets sealed at rest,
API keys outside the rule."""

from __future__ import annotations

import time
import uuid

import httpx
import pyotp
import pytest
from api_kit import Tenants
from factor_kit import (
    SoftKey,
    TotpApp,
    amr_of,
    bearer,
    enrol_totp,
    login,
    totp_login,
    user_id_of,
)
from ops_kit import add_user, people_fixture  # noqa: F401 (a fixture)

from postwise.settings import Settings
from serving.auth import Role
from serving.auth.mfa import totp
from serving.auth.mfa.sealing import FactorSealer, SealBroken


def test_a_sealed_secret_opens_only_for_its_own_user() -> None:
    sealer, user, other = FactorSealer("k" * 32), uuid.uuid4(), uuid.uuid4()
    sealed = sealer.seal(user, b"JBSWY3DPEHPK3PXP")

    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.open(user, sealed) == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(SealBroken):
        sealer.open(other, sealed)
    with pytest.raises(SealBroken):
        FactorSealer("j" * 32).open(user, sealed)


def test_a_code_matches_its_step_and_the_steps_beside_it_only() -> None:
    secret, now = pyotp.random_base32(), 1_800_000_000.0
    step = int(now // 30)
    code = pyotp.TOTP(secret)

    assert totp.matching_step(secret, code.generate_otp(step), now) == step
    assert totp.matching_step(secret, code.generate_otp(step - 1), now) == step - 1
    assert totp.matching_step(secret, code.generate_otp(step + 1), now) == step + 1
    assert totp.matching_step(secret, code.generate_otp(step + 2), now) is None
    assert totp.matching_step(secret, "12345", now) is None


def test_an_owner_without_a_factor_may_only_enrol_one(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id, Role.OWNER)
    tokens = login(api_url, email).json()
    headers = bearer(tokens["access_token"])

    users = httpx.get(f"{api_url}/v1/users", headers=headers)
    templates = httpx.get(f"{api_url}/v1/templates", headers=headers)
    grants = httpx.get(f"{api_url}/v1/break-glass", headers=headers)
    me = httpx.get(f"{api_url}/v1/me", headers=headers)
    listed = httpx.get(f"{api_url}/v1/factors", headers=headers)

    assert amr_of(tokens["access_token"]) == ["pwd"]
    for refused in (users, templates, grants):
        assert (refused.status_code, refused.json()["code"]) == (403, "second_factor_required")
    assert me.status_code == 200 and listed.json() == []


def test_totp_enrolment_and_two_step_login(
    people: Tenants, api_url: str, api_settings: Settings
) -> None:
    email = add_user(people.cells, people.org().org_id, Role.OWNER)
    first = login(api_url, email).json()
    headers = bearer(first["access_token"])
    started = httpx.post(f"{api_url}/v1/factors/totp", headers=headers).json()
    app = TotpApp(started["secret"])
    wrong = httpx.post(
        f"{api_url}/v1/factors/totp/confirm", headers=headers, json={"code": _wrong(app.secret)}
    )
    confirmed = httpx.post(
        f"{api_url}/v1/factors/totp/confirm", headers=headers, json={"code": app.code()}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_code")
    assert confirmed.status_code == 204, confirmed.text
    assert started["otpauth_uri"].startswith("otpauth://totp/")

    user_id = user_id_of(api_url, first["access_token"])
    with people.cells.connection("control") as conn:
        row = conn.execute(
            "SELECT secret_ciphertext FROM totp_factors WHERE user_id = %s", (user_id,)
        ).fetchone()
    assert row is not None and started["secret"].encode() not in bytes(row[0])

    # The password alone no longer buys tokens, and the old refresh token is refused.
    challenged = login(api_url, email)
    body = challenged.json()
    assert (challenged.status_code, body["code"], body["methods"]) == (
        401,
        "mfa_required",
        ["totp"],
    )
    assert "access_token" not in body and body["expires_in"] == api_settings.mfa_ticket_seconds
    stale = httpx.post(f"{api_url}/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert (stale.status_code, stale.json()["code"]) == (401, "second_factor_required")

    ticket = body["mfa_token"]
    bad = httpx.post(
        f"{api_url}/v1/auth/mfa/totp", json={"mfa_token": ticket, "code": _wrong(app.secret)}
    )
    code = app.code()
    good = httpx.post(f"{api_url}/v1/auth/mfa/totp", json={"mfa_token": ticket, "code": code})
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_second_factor")
    assert good.status_code == 200, good.text
    tokens = good.json()
    assert amr_of(tokens["access_token"]) == ["pwd", "mfa"]
    assert (
        httpx.get(f"{api_url}/v1/users", headers=bearer(tokens["access_token"])).status_code == 200
    )

    # A used ticket and a used code do not work again.
    again = httpx.post(
        f"{api_url}/v1/auth/mfa/totp", json={"mfa_token": ticket, "code": _wrong(app.secret)}
    )
    fresh = login(api_url, email).json()["mfa_token"]
    replayed = httpx.post(f"{api_url}/v1/auth/mfa/totp", json={"mfa_token": fresh, "code": code})
    assert (again.status_code, again.json()["code"]) == (401, "revoked_token")
    assert (replayed.status_code, replayed.json()["code"]) == (401, "replayed_code")

    # A refresh keeps the second factor; a token without one cannot change the factors.
    refreshed = httpx.post(
        f"{api_url}/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    ).json()
    assert amr_of(refreshed["access_token"]) == ["pwd", "mfa"]
    weak = httpx.delete(f"{api_url}/v1/factors/totp", headers=headers)
    assert (weak.status_code, weak.json()["code"]) == (403, "second_factor_required")
    listed = httpx.get(f"{api_url}/v1/factors", headers=bearer(tokens["access_token"])).json()
    assert [f["kind"] for f in listed] == ["totp"]

    with people.cells.connection("control") as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE subject = %s ORDER BY audit_id",
                (f"user:{user_id}",),
            ).fetchall()
        ]
    assert "mfa.totp_enrolled" in actions


def test_webauthn_registration_and_login_with_a_security_key(
    people: Tenants, api_url: str, api_settings: Settings
) -> None:
    email = add_user(people.cells, people.org().org_id, Role.OWNER)
    first = login(api_url, email).json()
    headers = bearer(first["access_token"])
    device = SoftKey(api_settings.webauthn_rp_id, api_settings.webauthn_origins[0])

    options = httpx.post(f"{api_url}/v1/factors/webauthn/options", headers=headers).json()
    assert options["rp"]["id"] == api_settings.webauthn_rp_id
    forged = SoftKey(device.rp_id, "https://evil.example")
    refused = httpx.post(
        f"{api_url}/v1/factors/webauthn",
        headers=headers,
        json={"credential": forged.register(options)},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_attestation")
    options = httpx.post(f"{api_url}/v1/factors/webauthn/options", headers=headers).json()
    made = httpx.post(
        f"{api_url}/v1/factors/webauthn",
        headers=headers,
        json={"credential": device.register(options), "name": "desk key"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["name"]) == ("webauthn", "desk key")

    def step(ticket: str, **assertion: object) -> httpx.Response:
        asked = httpx.post(f"{api_url}/v1/auth/mfa/webauthn/options", json={"mfa_token": ticket})
        assert asked.status_code == 200, asked.text
        credential = device.assertion(asked.json(), **assertion)  # type: ignore[arg-type]
        return httpx.post(
            f"{api_url}/v1/auth/mfa/webauthn", json={"mfa_token": ticket, "credential": credential}
        )

    challenged = login(api_url, email).json()
    assert (challenged["code"], challenged["methods"]) == ("mfa_required", ["webauthn"])
    wrong_origin = step(challenged["mfa_token"], origin="https://evil.example")
    good = step(challenged["mfa_token"])
    assert (wrong_origin.status_code, wrong_origin.json()["code"]) == (401, "invalid_second_factor")
    assert good.status_code == 200, good.text
    assert amr_of(good.json()["access_token"]) == ["pwd", "mfa"]

    # A counter that did not move forward (a cloned key, a replayed assertion) is refused.
    cloned = step(login(api_url, email).json()["mfa_token"], count=device.sign_count)
    assert (cloned.status_code, cloned.json()["code"]) == (401, "invalid_second_factor")
    assert step(login(api_url, email).json()["mfa_token"]).status_code == 200

    removed = httpx.delete(
        f"{api_url}/v1/factors/webauthn/{made.json()['factor_id']}",
        headers=bearer(good.json()["access_token"]),
    )
    assert removed.status_code == 204, removed.text
    assert login(api_url, email).status_code == 200  # no factor left: password-only again


def test_api_keys_have_no_factors_and_keep_their_owner_routes(
    people: Tenants, api_url: str
) -> None:
    owner_key = people.client(people.org(), Role.OWNER)
    assert (
        owner_key.get("/v1/factors").status_code,
        owner_key.get("/v1/factors").json()["code"],
    ) == (422, "not_a_user")
    assert owner_key.get("/v1/users").status_code == 200


def test_a_non_owner_with_a_factor_logs_in_with_it_too(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    first = login(api_url, email).json()
    assert (
        httpx.get(f"{api_url}/v1/templates", headers=bearer(first["access_token"])).status_code
        == 200
    )
    app = enrol_totp(api_url, first["access_token"])
    tokens = totp_login(api_url, email, app)
    assert amr_of(tokens["access_token"]) == ["pwd", "mfa"]


def _wrong(secret: str) -> str:
    """A 6-digit code of none of the accepted steps."""
    step = int(time.time() // 30)
    valid = {pyotp.TOTP(secret).generate_otp(step + offset) for offset in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222") if c not in valid)
