"""A live API for tests of any package: an ASGI app under uvicorn on a free loopback port
(in a thread), and a TOTP authenticator app to prove a second factor to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import uvicorn

from simulator.esp import free_port

START_SECONDS = 15


@contextmanager
def serve(app: Any, *, thread_name: str = "uvicorn-test-app", **config: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port (``config``: more uvicorn options);
    yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **config
        )
    )
    thread = threading.Thread(target=server.run, name=thread_name, daemon=True)
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class TotpApp:
    """An authenticator app holding one secret; each code it gives is of a step not given
    before (the server refuses a step twice), waiting for the next step when it must."""

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


def enrol_totp(api_url: str, access_token: str) -> TotpApp:
    """Enrol a TOTP factor for the token's user; the app that now holds the secret."""
    started = httpx.post(f"{api_url}/v1/factors/totp", headers=bearer(access_token))
    assert started.status_code == 201, started.text
    app = TotpApp(started.json()["secret"])
    confirmed = httpx.post(
        f"{api_url}/v1/factors/totp/confirm",
        headers=bearer(access_token),
        json={"code": app.code()},
    )
    assert confirmed.status_code == 204, confirmed.text
    return app
