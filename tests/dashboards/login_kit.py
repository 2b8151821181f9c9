"""Logging in to the dashboards in tests: the real API under uvicorn on loopback (in a
thread), organizations and users with passwords of the tests' own, and an authenticator
app for users with a TOTP factor."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import redis
from live_api import TotpApp, enrol_totp, serve

from postwise.settings import Settings
from serving.api.main import create_app
from serving.auth import Role
from serving.auth.users import create_user
from warehouse.db import Cells

START_SECONDS = 15


@contextmanager
def serve_api(settings: Settings) -> Iterator[str]:
    """The Postwise API of ``settings`` on a free loopback port; yields its base URL and
    removes the Redis keys it wrote (login counters, denylist) when it stops."""
    with serve(create_app(settings), thread_name="uvicorn-dashboards") as url:
        yield url


def forget_api_keys(settings: Settings, pattern: str) -> None:
    """Delete the Redis keys matching ``pattern`` (the API's, under the run's prefix)."""
    client = redis.Redis.from_url(str(settings.redis_url))
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    finally:
        client.close()


def new_org(cells: Cells, home_region: str = "eu") -> uuid.UUID:
    """An organization of the calling test only."""
    org_id = uuid.uuid4()
    slug = f"dash-{org_id.hex[:12]}"
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, %s)",
            (org_id, f"Dashboards {slug}", slug, home_region),
        )
    return org_id


@dataclass(frozen=True)
class Account:
    """A user who can log in: address, password and id."""

    email: str
    password: str
    user_id: uuid.UUID
    org_id: uuid.UUID


def add_user(cells: Cells, org_id: uuid.UUID, role: Role = Role.ANALYST) -> Account:
    """A user of ``org_id`` with a long random password (never on the breached list)."""
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@dashboards.example"
    password = secrets.token_urlsafe(24)
    with cells.connection("control") as conn:
        user = create_user(conn, org_id, email, password, role)
    return Account(email, password, user.user_id, org_id)


def enrol_account_totp(api_url: str, account: Account) -> TotpApp:
    """Log ``account`` in through the API and give it a confirmed TOTP factor."""
    login = httpx.post(
        f"{api_url}/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert login.status_code == 200, login.text
    return enrol_totp(api_url, login.json()["access_token"])
