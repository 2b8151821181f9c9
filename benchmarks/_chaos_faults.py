"""The chaos run's outside faults: routes that fail or go slow for a window, and bad
requests sent to the API all along.

Route faults flip the switches of the running simulated ESPs (``EspBehaviour`` is read on
every SMTP command): ``storm_4xx`` answers every RCPT with 451 4.3.0, ``slow_reply_seconds``
delays every DATA reply. Bad requests are a fixed menu (no or forged signatures, unknown
keys, malformed JSON, unknown fields, wrong types, an oversize body, unknown or malformed
campaign ids, an unknown path, a wrong method), each of which must get a 4xx answer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from serving.client import PostwiseClient
from simulator.esp import EspBehaviour

from ._chaos_checks import Answer

log = logging.getLogger("benchmarks.chaos")


@dataclass
class RouteFault:
    """One route misbehaving between ``began`` and ``ended`` (seconds into the campaign)."""

    route: str
    fault: str  # "fail" (every RCPT answered 451 4.3.0) or "slow" (seconds per DATA reply)
    slow_seconds: float = 0.0
    began: float | None = None
    ended: float | None = None

    def apply(self, behaviour: EspBehaviour, on: bool, at_seconds: float) -> None:
        """Switch the fault on or off on the running ESP's behaviour."""
        if self.fault == "fail":
            behaviour.storm_4xx = on
        else:
            behaviour.slow_reply_seconds = self.slow_seconds if on else 0.0
        if on:
            self.began = round(at_seconds, 1)
        else:
            self.ended = round(at_seconds, 1)

    def describe(self) -> dict[str, object]:
        what = "every RCPT 451 4.3.0" if self.fault == "fail" else f"{self.slow_seconds:g} s/DATA"
        return {"route": self.route, "fault": self.fault, "detail": what,
                "from_seconds": self.began, "to_seconds": self.ended}  # fmt: skip


def _bad_requests(
    client: PostwiseClient, http: httpx.Client, stranger: PostwiseClient, oversize: int
) -> list[tuple[str, Callable[[], httpx.Response]]]:
    """The menu: (kind, a call that sends one bad request)."""
    body = {"name": "chaos", "campaign_type": "marketing", "template_id": str(uuid.uuid4()),
            "sending_domain": "news.acme.example"}  # fmt: skip
    forged = {"x-postwise-key": client.api_key, "x-postwise-timestamp": str(int(time.time())),
              "x-postwise-nonce": uuid.uuid4().hex, "x-postwise-signature": "Zm9yZ2Vk"}  # fmt: skip
    return [
        ("no_signature", lambda: http.post("/v1/campaigns", json=body)),
        ("forged_signature", lambda: http.post("/v1/campaigns", json=body, headers=forged)),
        ("unknown_key", lambda: stranger.post("/v1/campaigns", json=body)),
        ("malformed_json", lambda: client.post(
            "/v1/campaigns", content=b'{"name": "chaos", ', headers=_JSON)),
        ("unknown_fields", lambda: client.post("/v1/campaigns", json={"bogus": True, "x": 1})),
        ("wrong_types", lambda: client.post("/v1/campaigns", json={
            "name": 5, "campaign_type": "spam", "template_id": "nope",
            "sending_domain": "not a domain"})),
        ("oversize_body", lambda: client.post(
            "/v1/messages", content=b'{"pad": "' + b"x" * oversize + b'"}', headers=_JSON)),
        ("unknown_campaign", lambda: client.post(f"/v1/campaigns/{uuid.uuid4()}/send")),
        ("malformed_campaign_id", lambda: client.get("/v1/campaigns/not-a-uuid")),
        ("unknown_path", lambda: client.get("/v1/no-such-thing")),
        ("wrong_method", lambda: client.request("PUT", "/v1/campaigns")),
        ("not_json", lambda: client.post(
            "/v1/campaigns", content=b"name=chaos", headers={"content-type": "text/plain"})),
    ]  # fmt: skip


_JSON = {"content-type": "application/json"}


@dataclass
class BadRequests:
    """Sends the menu round-robin at ``per_second`` from a thread until stopped."""

    client: PostwiseClient
    stranger: PostwiseClient
    base_url: str
    outage: Callable[[], bool]  # PostgreSQL is down (or just restarted) right now
    per_second: float = 8.0
    oversize: int = 128 * 1024
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-bad-requests", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10.0) as http:
            menu = _bad_requests(self.client, http, self.stranger, self.oversize)
            turn = 0
            while not self._stop.wait(1.0 / self.per_second):
                kind, send = menu[turn % len(menu)]
                turn += 1
                during = self.outage()
                try:
                    status: int | None = send().status_code
                except httpx.HTTPError as exc:
                    log.warning("bad request %s: no answer (%s)", kind, exc)
                    status = None
                if status is not None and status >= 500:
                    log.warning("bad request %s answered %d", kind, status)
                self.answers.append(Answer(kind, status, during or self.outage()))
