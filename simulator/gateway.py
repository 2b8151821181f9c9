"""A loopback SMS gateway speaking the Twilio Messages API, for tests and demos of the
fallback channel (:mod:`delivery.fallback.twilio` is the client side).

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth (the account
SID and auth token it was started with) and a form body ``To``, ``From``, ``Body``:

- 201 with ``{"sid": "SM...", "status": "queued", "to", "from", "body", ...}`` and the
  message recorded in :attr:`LoopbackSmsGateway.received`;
- 401 ``{"code": 20003, ...}`` for missing or wrong credentials (nothing recorded);
- 400 ``{"code": 21211, ...}`` for a ``To`` that is no E.164 number, ``{"code": 21602}``
  without a ``Body``;
- whatever :meth:`LoopbackSmsGateway.fail` told it (say, ``503`` for the next three
  requests, or every request) before any of the above.

Every request, refused or not, is kept in :attr:`LoopbackSmsGateway.requests`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True)
class GatewayRequest:
    """One request as the gateway saw it."""

    method: str
    path: str
    authorization: str | None
    content_type: str | None
    form: dict[str, str]
    status: int  # what the gateway answered


@dataclass(frozen=True)
class Sms:
    """A message the gateway accepted."""

    sid: str
    to: str
    sender: str
    body: str


@dataclass
class _Failures:
    status: int = 0
    remaining: int | None = 0  # None: every request
    retry_after: str | None = None


@dataclass
class LoopbackSmsGateway:
    """A Twilio-compatible SMS gateway on 127.0.0.1 that records what it receives."""

    account_sid: str = "AC" + "0" * 32
    auth_token: str = "loopback-auth-token"
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[GatewayRequest] = field(default_factory=list)
    received: list[Sms] = field(default_factory=list)
    _failures: _Failures = field(default_factory=_Failures)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackSmsGateway:
        """Listen (on a free port when ``port`` is 0) in a background thread."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                gateway._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                gateway._answer(self, 405, {"code": 20004, "message": "Method not allowed"})

            def log_message(self, format: str, *args: Any) -> None:
                return  # the test output is no access log

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="loopback-sms-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail(self, status: int, times: int | None = None, retry_after: str | None = None) -> None:
        """Answer the next ``times`` requests (every one with None) with ``status``."""
        with self._lock:
            self._failures = _Failures(status, times, retry_after)

    def heal(self) -> None:
        """Answer normally again."""
        self.fail(0, 0)

    # --- handling -----------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8", "replace")
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        status, body = self._decide(request, form)
        with self._lock:
            self.requests.append(
                GatewayRequest(
                    "POST",
                    request.path,
                    request.headers.get("Authorization"),
                    request.headers.get("Content-Type"),
                    form,
                    status,
                )  # fmt: skip
            )
            if status == 201:
                self.received.append(Sms(body["sid"], form["To"], form.get("From", ""),
                                         form["Body"]))  # fmt: skip
        headers = {}
        if status != 201 and self._failures.retry_after and self._failures.status == status:
            headers["Retry-After"] = self._failures.retry_after
        self._answer(request, status, body, headers)

    def _decide(
        self, request: BaseHTTPRequestHandler, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            failures = self._failures
            if failures.status and (failures.remaining is None or failures.remaining > 0):
                if failures.remaining is not None:
                    failures.remaining -= 1
                return failures.status, {
                    "code": 20500 if failures.status >= 500 else 20429,
                    "message": "the loopback gateway was told to fail",
                    "status": failures.status,
                }
        found = PATH.match(request.path)
        if found is None:
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        if not self._authorized(request.headers.get("Authorization"), found["sid"]):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        to = form.get("To", "")
        if not E164.match(to):
            return 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid "
                         "phone number.", "status": 400}  # fmt: skip
        if not form.get("Body"):
            return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
        sid = "SM" + uuid.uuid4().hex
        return 201, {
            "sid": sid, "account_sid": found["sid"], "to": to, "from": form.get("From"),
            "body": form["Body"], "status": "queued", "num_segments": "1",
        }  # fmt: skip

    def _authorized(self, header: str | None, path_sid: str) -> bool:
        if path_sid != self.account_sid or not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    @staticmethod
    def _answer(
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
