"""Account protection against the live API (uvicorn, PostgreSQL, Redis): breached passwords
refused at user creation and password change, lockout after failed logins (the same for an
unknown address) with its expiry and an owner's unlock, client throttling, and each
login-risk signal raising the decision, every decision found in the control audit log.

Each test logs in from client addresses of its own (X-Forwarded-For, trusted from
loopback), so the per-client failure windows of one test never reach another's.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import Tenants, serve
from factor_kit import admin_tokens, bearer, enrol_totp
from ops_kit import PASSWORD, add_user, people_fixture  # noqa: F401 (a fixture)
from settings_env import settings_environment

from postwise.cli import main
from postwise.settings import Settings, get_settings
from serving.api.main import create_app
from serving.api.ops import lockout_policy
from serving.auth import Role
from serving.auth.protection.lockout import Lockout
from serving.auth.protection.risk import RiskPolicy
from serving.auth.protection.service import AccountProtection
from serving.resilience.breakers import Breakers
from warehouse.db import Cells

BREACHED = "password1234"  # in the shipped list
LOCK_SECONDS = 3
CLIENT_FAILURES = 8


@pytest.fixture(scope="module")
def guarded_url(api_settings: Settings, serving_cells: Cells) -> Iterator[str]:
    """The API with 3-second first locks, a client throttle after 8 failures, and the
    per-address login rate limit out of the way of the lockout under test."""
    quick = api_settings.model_copy(
        update={
            "login_lock_seconds": LOCK_SECONDS,
            "login_client_failures": CLIENT_FAILURES,
            "rate_limit_logins": 1000,
        }
    )
    with serve(create_app(quick)) as url:
        yield url


def new_ip() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def login(
    url: str,
    email: str,
    password: str = PASSWORD,
    *,
    ip: str,
    device: str = "device-0000000000000000",
    country: str | None = None,
) -> httpx.Response:
    headers = {"X-Forwarded-For": ip, "X-Postwise-Device": device}
    if country is not None:
        headers["CF-IPCountry"] = country
    return httpx.post(
        f"{url}/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


def user_id(cells: Cells, email: str) -> uuid.UUID:
    with cells.connection("control") as conn:
        row = conn.execute("SELECT user_id FROM users WHERE email = %s", (email,)).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def audit(cells: Cells, action: str, subject: str) -> list[dict[str, Any]]:
    """The control audit log's entries of ``action`` about ``subject``, oldest first."""
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT actor, org_id, details FROM audit_log WHERE action = %s AND subject = %s "
            "ORDER BY audit_id",
            (action, subject),
        ).fetchall()
    return [{"actor": row[0], "org_id": row[1], **row[2]} for row in rows]


def decisions(cells: Cells, email: str) -> list[tuple[str, list[str]]]:
    """The login decisions audited for the user: (action, signals), oldest first."""
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT action, details FROM audit_log WHERE subject = %s AND action LIKE 'login.%%' "
            "ORDER BY audit_id",
            (f"user:{user_id(cells, email)}",),
        ).fetchall()
    return [(str(row[0]), list(row[1].get("signals", []))) for row in rows]


def account_subject(settings: Settings, cells: Cells, email: str) -> str:
    """How audit entries about an address (existing or not) name it."""
    lockout = Lockout(None, "-", Breakers(), lockout_policy(settings))
    protection = AccountProtection(cells, lockout, RiskPolicy(), settings.secret_key)
    return f"account:{protection.account_ref(email)}"


def test_breached_passwords_are_refused_at_creation_and_change_and_clean_ones_accepted(
    people: Tenants, api_url: str
) -> None:
    tenant = people.org()
    owner_email = add_user(people.cells, tenant.org_id)
    owner, _ = admin_tokens(api_url, owner_email)
    owner_subject = f"user:{user_id(people.cells, owner_email)}"
    email = f"user-{uuid.uuid4().hex[:10]}@acme.example"

    def create(password: str) -> httpx.Response:
        body = {"email": email, "password": password, "role": "analyst"}
        return httpx.post(f"{api_url}/v1/users", json=body, headers=bearer(owner["access_token"]))

    refused = create(BREACHED)
    assert (refused.status_code, refused.json()["code"]) == (422, "breached_password")
    assert "seen 1 times" in refused.json()["detail"]
    assert create(PASSWORD).status_code == 201

    token = login(api_url, email, ip=new_ip()).json()["access_token"]

    def change(current: str, new: str) -> httpx.Response:
        body = {"current_password": current, "new_password": new}
        return httpx.put(f"{api_url}/v1/me/password", json=body, headers=bearer(token))

    breached = change(PASSWORD, BREACHED)
    assert (breached.status_code, breached.json()["code"]) == (422, "breached_password")
    wrong = change("not my password at all", "a fresh long passphrase")
    assert (wrong.status_code, wrong.json()["code"]) == (422, "wrong_password")
    assert change(PASSWORD, "a fresh long passphrase").status_code == 204
    assert login(api_url, email, ip=new_ip()).status_code == 401
    assert login(api_url, email, "a fresh long passphrase", ip=new_ip()).status_code == 200

    user_subject = f"user:{user_id(people.cells, email)}"
    at_creation = audit(people.cells, "password.breached_refused", owner_subject)
    at_change = audit(people.cells, "password.breached_refused", user_subject)
    assert [e["purpose"] for e in at_creation] == ["user_created"]
    assert [(e["purpose"], e["times_seen"]) for e in at_change] == [("password_changed", 1)]
    assert all(BREACHED not in str(e) for e in at_creation + at_change)
    assert len(audit(people.cells, "password.changed", user_subject)) == 1


def test_failed_logins_lock_an_account_like_an_unknown_address_until_it_expires(
    people: Tenants, guarded_url: str, api_settings: Settings
) -> None:
    # Every attempt from another client: the lock is the account's, wherever guesses come from.
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@acme.example"

    answers = []
    for address in (email, unknown):
        for _ in range(5):
            failed = login(guarded_url, address, "not the password at all", ip=new_ip())
            assert (failed.status_code, failed.json()["code"]) == (401, "invalid_credentials")
        answers.append(login(guarded_url, address, ip=new_ip()))  # the right password, too late

    for answer in answers:
        assert answer.status_code == 423, answer.text
        assert answer.json()["code"] == "account_locked"
        assert 1 <= int(answer.headers["Retry-After"]) <= LOCK_SECONDS
    assert len({re.sub(r"\d+", "N", answer.json()["detail"]) for answer in answers}) == 1

    time.sleep(LOCK_SECONDS + 0.5)  # the lock expires by itself
    assert login(guarded_url, email, ip=new_ip()).status_code == 200

    for _ in range(5):
        login(guarded_url, email, "not the password at all", ip=new_ip())
    again = login(guarded_url, email, ip=new_ip())
    assert again.status_code == 423
    assert LOCK_SECONDS < int(again.headers["Retry-After"]) <= 2 * LOCK_SECONDS  # it grew

    subject = account_subject(api_settings, people.cells, email)
    locks = audit(people.cells, "login.locked", subject)
    assert [(e["failures"], e["locked_for_seconds"]) for e in locks] == [
        (5, LOCK_SECONDS),
        (5, 2 * LOCK_SECONDS),
    ]
    unknown_subject = account_subject(api_settings, people.cells, unknown)
    assert len(audit(people.cells, "login.locked", unknown_subject)) == 1


def test_an_owner_unlocks_a_locked_user(people: Tenants, api_url: str, guarded_url: str) -> None:
    tenant = people.org()
    owner_email = add_user(people.cells, tenant.org_id)
    owner, _ = admin_tokens(api_url, owner_email)
    email = add_user(people.cells, tenant.org_id, Role.ANALYST)
    target = user_id(people.cells, email)
    ip = new_ip()
    for _ in range(5):
        login(guarded_url, email, "not the password at all", ip=ip)
    assert login(guarded_url, email, ip=ip).status_code == 423

    unlock = f"{guarded_url}/v1/users/{target}/unlock"
    unlocked = httpx.post(unlock, headers=bearer(owner["access_token"]))
    stranger = httpx.post(
        f"{guarded_url}/v1/users/{uuid.uuid4()}/unlock", headers=bearer(owner["access_token"])
    )

    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"was_locked": True}
    assert (stranger.status_code, stranger.json()["code"]) == (404, "user_not_found")
    assert login(guarded_url, email, ip=ip).status_code == 200
    entries = audit(people.cells, "login.unlocked", f"user:{target}")
    assert [(e["actor"], e["was_locked"]) for e in entries] == [
        (f"user:{user_id(people.cells, owner_email)}", True)
    ]


def test_a_client_failing_too_often_is_throttled_whatever_the_address(
    people: Tenants, guarded_url: str
) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    noisy, quiet = new_ip(), new_ip()
    for n in range(CLIENT_FAILURES):
        login(guarded_url, f"guess-{n}-{uuid.uuid4().hex[:6]}@acme.example", "x", ip=noisy)

    throttled = login(guarded_url, email, ip=noisy)
    elsewhere = login(guarded_url, email, ip=quiet)

    assert (throttled.status_code, throttled.json()["code"]) == (429, "login_throttled")
    assert int(throttled.headers["Retry-After"]) >= 1
    assert elsewhere.status_code == 200, elsewhere.text
    with people.cells.connection("control") as conn:
        throttles = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'login.throttled' "
            "AND details->>'client_failures' = %s",
            (str(CLIENT_FAILURES),),
        ).fetchone()
    assert throttles is not None and throttles[0] >= 1


def test_a_user_logging_in_again_and_again_from_their_device_is_allowed(
    people: Tenants, api_url: str
) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    ip = new_ip()
    answers = [login(api_url, email, ip=ip, country="DE").status_code for _ in range(8)]
    assert answers == [200] * 8
    assert decisions(people.cells, email) == [("login.allowed", [])] * 8


def test_a_new_device_demands_the_second_factor(people: Tenants, api_url: str) -> None:
    tenant = people.org()
    email = add_user(people.cells, tenant.org_id, Role.ANALYST)
    ip = new_ip()
    first = login(api_url, email, ip=ip, device="laptop-1111111111111111")
    enrol_totp(api_url, first.json()["access_token"])

    known = login(api_url, email, ip=ip, device="laptop-1111111111111111")
    new = login(api_url, email, ip=ip, device="stolen-2222222222222222")
    assert (known.status_code, known.json()["code"]) == (401, "mfa_required")
    assert (new.status_code, new.json()["code"]) == (401, "mfa_required")
    assert decisions(people.cells, email)[-2:] == [
        ("login.allowed", []),
        ("login.challenged", ["new_device"]),
    ]

    # Without a factor to prove, the same login is blocked with the reason.
    plain = add_user(people.cells, tenant.org_id, Role.ANALYST)
    assert login(api_url, plain, ip=ip, device="laptop-1111111111111111").status_code == 200
    blocked = login(api_url, plain, ip=ip, device="stolen-2222222222222222")
    assert (blocked.status_code, blocked.json()["code"]) == (403, "login_blocked")
    assert "second factor" in blocked.json()["detail"]
    entry = audit(people.cells, "login.blocked", f"user:{user_id(people.cells, plain)}")[-1]
    assert (entry["reason"], entry["signals"]) == ("second_factor_unavailable", ["new_device"])


def test_the_second_step_makes_a_new_device_known(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    ip = new_ip()
    app = enrol_totp(api_url, login(api_url, email, ip=ip).json()["access_token"])
    phone = {"X-Forwarded-For": ip, "X-Postwise-Device": "phone-3333333333333333"}

    ticket = login(api_url, email, ip=ip, device=phone["X-Postwise-Device"]).json()["mfa_token"]
    done = httpx.post(
        f"{api_url}/v1/auth/mfa/totp", json={"mfa_token": ticket, "code": app.code()}, headers=phone
    )
    assert done.status_code == 200, done.text
    login(api_url, email, ip=ip, device=phone["X-Postwise-Device"])

    assert [action for action, _ in decisions(people.cells, email)][-2:] == [
        "login.challenged",
        "login.allowed",
    ]


def test_impossible_travel_blocks_the_login(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    ip = new_ip()
    assert login(api_url, email, ip=ip, country="FR").status_code == 200

    sydney = login(api_url, email, ip=ip, country="AU")
    home = login(api_url, email, ip=ip, country="FR")

    assert (sydney.status_code, sydney.json()["code"]) == (403, "login_blocked")
    assert "impossible_travel" in sydney.json()["detail"]
    assert home.status_code == 200
    entry = audit(people.cells, "login.blocked", f"user:{user_id(people.cells, email)}")[-1]
    assert (entry["reason"], entry["signals"], entry["country"]) == (
        "risk_too_high",
        ["impossible_travel"],
        "AU",
    )
    assert entry["travel_kmh"] > 900


def test_an_unusual_hour_raises_the_score(people: Tenants, api_url: str) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    target, ip = user_id(people.cells, email), new_ip()
    now = datetime.now(UTC)
    with people.cells.connection("control") as conn:
        org = conn.execute("SELECT org_id FROM users WHERE user_id = %s", (target,)).fetchone()
        assert org is not None
        for day in range(1, 13):  # twelve logins at the opposite hour of the day
            at = now.replace(minute=0) - timedelta(days=day, hours=12)
            conn.execute(
                "INSERT INTO login_events (user_id, org_id, occurred_at, outcome) "
                "VALUES (%s, %s, %s, 'verified')",
                (target, org[0], at),
            )

    assert login(api_url, email, ip=ip).status_code == 200

    entry = audit(people.cells, "login.allowed", f"user:{target}")[-1]
    assert (entry["signals"], entry["score"]) == (["unusual_hour"], 25)


def test_a_burst_of_failures_before_the_right_password_demands_the_second_factor(
    people: Tenants, api_url: str
) -> None:
    email = add_user(people.cells, people.org().org_id, Role.ANALYST)
    ip = new_ip()
    assert login(api_url, email, ip=ip).status_code == 200
    for _ in range(3):
        assert login(api_url, email, "not the password at all", ip=ip).status_code == 401

    after_burst = login(api_url, email, ip=ip)

    assert (after_burst.status_code, after_burst.json()["code"]) == (403, "login_blocked")
    assert decisions(people.cells, email)[-1] == ("login.blocked", ["failure_burst"])


def test_the_cli_refuses_a_breached_password_and_audits_it(
    api_settings: Settings,
    serving_cells: Cells,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in settings_environment(api_settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    password_file = tmp_path / "password"
    password_file.write_text(BREACHED + "\n")
    email = f"founder-{uuid.uuid4().hex[:6]}@acme.example"
    slug = f"boot-{uuid.uuid4().hex[:8]}"
    try:
        code = main(["users", "create", "--org", slug, "--email", email, "--role", "owner",
                     "--password-file", str(password_file), "--home-region", "eu"])  # fmt: skip
    finally:
        get_settings.cache_clear()

    assert code == 1
    assert "breached passwords" in capsys.readouterr().err
    with serving_cells.connection("control") as conn:
        made = conn.execute("SELECT count(*) FROM users WHERE email = %s", (email,)).fetchone()
        entry = conn.execute(
            "SELECT details FROM audit_log WHERE actor = 'operator:cli' "
            "AND action = 'password.breached_refused' ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
    assert made is not None and made[0] == 0
    assert entry is not None and entry[0] == {"purpose": "user_created", "times_seen": 1}
