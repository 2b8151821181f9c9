"""Logging in to the dashboards in tests: the real API under uvicorn on loopback (in a
thread), organizations and users with passwords of the tests' own, and an authenticator
app for users with a TOTP factor."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pyotp
import redis
import uvicorn

from postwise.settings import Settings
from serving.api.main import create_app
from serving.auth import Role
from serving.auth.users import create_user
from simulator.esp import free_port
from warehouse.db import Cells

START_SECONDS = 15


@contextmanager
def serve_api(settings: Settings) -> Iterator[str]:
    """The Postwise API of ``settings`` on a free loopback port; yields its base URL and
    removes the Redis keys it wrote (login counters, denylist) when it stops."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-dashboards", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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


@dataclass
class Authenticator:
    """An authenticator app holding one TOTP secret; each code is of a time step not given
    before (the API refuses a step twice), waiting for the next step when it must."""

    secret: str
    used: set[int] = field(default_factory=set)

    def code(self) -> str:
        totp = pyotp.TOTP(self.secret)
        while True:
            current = totp.timecode(datetime.now(UTC))
            for step in (current, current + 1):
                if step not in self.used:
                    self.used.add(step)
                    return totp.generate_otp(step)
            time.sleep(1)


def enrol_totp(api_url: str, account: Account) -> Authenticator:
    """Log ``account`` in through the API and give it a confirmed TOTP factor."""
    with httpx.Client(base_url=api_url, timeout=10) as client:
        login = client.post(
            "/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        started = client.post("/v1/factors/totp", headers=bearer)
        assert started.status_code == 201, started.text
        app = Authenticator(started.json()["secret"])
        confirmed = client.post(
            "/v1/factors/totp/confirm", headers=bearer, json={"code": app.code()}
        )
        assert confirmed.status_code == 204, confirmed.text
    return app
