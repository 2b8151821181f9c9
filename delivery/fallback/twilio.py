"""SMS through the Twilio Messages API (or any service speaking it, like the loopback
gateway in :mod:`simulator.gateway`): a short text carrying the secure link to the PDF.

Protocol (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth
(account SID, auth token) and a form body ``To``, ``From``, ``Body``; a 201 answer is JSON
with the message ``sid`` and ``status``. An error answer is JSON with ``code`` and
``message``.

Timeouts, refused connections, 5xx and 429 are retried (``Retry-After`` honoured, capped)
and raise :class:`GatewayUnavailable` when the retries are used up; any other 4xx raises
:class:`GatewayRejected` at once (a bad number will not improve).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from .errors import GatewayRejected, GatewayUnavailable
from .gateway import FallbackDelivery, GatewayReceipt

log = logging.getLogger(__name__)
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 5.0
MAX_SUBJECT = 60  # an SMS segment holds 160 GSM characters; the link takes most of them


class TwilioSmsGateway:
    """The SMS fallback gateway: one Twilio (or Twilio-compatible) account."""

    channel = "sms"
    name = "twilio"

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if not account_sid or not auth_token or not from_number:
            raise ValueError("the SMS gateway needs an account SID, an auth token and a sender")
        self.account_sid = account_sid
        self.from_number = from_number
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=(account_sid, auth_token),
            timeout=timeout,
            follow_redirects=False,
        )

    @property
    def path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def deliver(self, delivery: FallbackDelivery) -> GatewayReceipt:
        """Send the SMS; the receipt carries the message SID."""
        form = {"To": delivery.recipient, "From": self.from_number, "Body": sms_body(delivery)}
        last: GatewayUnavailable | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._client.post(self.path, data=form)
            except httpx.TransportError as exc:
                last = GatewayUnavailable(self.name, f"no answer: {type(exc).__name__}: {exc}")
                self._pause(attempt, None)
                continue
            if response.status_code in RETRIED_STATUSES:
                code, text = _error_of(response)
                last = GatewayUnavailable(
                    self.name, f"HTTP {response.status_code}: {text}",
                    status=response.status_code, code=code,
                )  # fmt: skip
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400 or response.status_code < 200:
                code, text = _error_of(response)
                raise GatewayRejected(
                    self.name, f"HTTP {response.status_code}: {text}",
                    status=response.status_code, code=code,
                )  # fmt: skip
            return self._receipt(response)
        assert last is not None
        log.warning("SMS gateway unavailable after %d attempts: %s", self.attempts, last)
        raise last

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _receipt(self, response: httpx.Response) -> GatewayReceipt:
        try:
            body: Any = response.json()
            sid, status = str(body["sid"]), str(body.get("status") or "queued")
        except (ValueError, KeyError, TypeError):
            raise GatewayRejected(
                self.name, "the answer names no message sid", status=response.status_code
            ) from None
        return GatewayReceipt(self.channel, self.name, sid, status)

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        if attempt >= self.attempts:
            return
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass  # an HTTP date: the exponential backoff will do
        time.sleep(min(delay, MAX_RETRY_AFTER_SECONDS))


def sms_body(delivery: FallbackDelivery) -> str:
    """The text of the SMS: the (shortened) subject and the secure link."""
    subject = " ".join(delivery.subject.split())
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1].rstrip() + "…"
    return f"{subject}: {delivery.link}" if subject else delivery.link


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    """The gateway's error code and message, from its JSON body when it sent one."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return None, str(body)[:200]
    code = body.get("code")
    return (str(code) if code is not None else None), str(body.get("message") or body)[:200]
