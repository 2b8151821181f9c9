"""The Twilio SMS adapter against the loopback gateway over real HTTP: the request format
(path, basic auth, form fields), retries on 5xx and 429 only, permanent refusals at once."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Iterator

import pytest

from delivery.fallback import (
    FallbackDelivery,
    GatewayRejected,
    GatewayUnavailable,
    TwilioSmsGateway,
)
from delivery.fallback.twilio import sms_body
from simulator.gateway import LoopbackSmsGateway

LINK = "https://track.example/t/f/abc.def"


@pytest.fixture
def loopback() -> Iterator[LoopbackSmsGateway]:
    started = LoopbackSmsGateway().start()
    yield started
    started.stop()


def _adapter(
    gateway: LoopbackSmsGateway, *, token: str | None = None, attempts: int = 3
) -> TwilioSmsGateway:
    return TwilioSmsGateway(
        gateway.base_url, gateway.account_sid, token or gateway.auth_token, "+15005550006",
        timeout=2.0, attempts=attempts, backoff=0.01,
    )  # fmt: skip


def _delivery(to: str = "+4915112345678", subject: str = "Your invoice") -> FallbackDelivery:
    return FallbackDelivery(uuid.uuid4(), "sms", to, subject, LINK, b"%PDF-1.7")


def test_the_request_is_a_twilio_messages_create_with_basic_auth_and_form_fields(
    loopback: LoopbackSmsGateway,
) -> None:
    adapter = _adapter(loopback)
    receipt = adapter.deliver(_delivery())
    adapter.close()

    (request,) = loopback.requests
    assert request.path == f"/2010-04-01/Accounts/{loopback.account_sid}/Messages.json"
    expected = base64.b64encode(f"{loopback.account_sid}:{loopback.auth_token}".encode())
    assert request.authorization == f"Basic {expected.decode()}"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": "+4915112345678", "From": "+15005550006", "Body": f"Your invoice: {LINK}",
    }  # fmt: skip
    assert (receipt.channel, receipt.gateway, receipt.status) == ("sms", "twilio", "queued")
    assert receipt.reference == loopback.received[0].sid and receipt.reference.startswith("SM")


def test_5xx_and_429_are_retried_then_reported_as_unavailable(
    loopback: LoopbackSmsGateway,
) -> None:
    adapter = _adapter(loopback, attempts=3)
    loopback.fail(503, times=2)
    assert adapter.deliver(_delivery()).reference == loopback.received[0].sid
    assert [r.status for r in loopback.requests] == [503, 503, 201]

    loopback.fail(429, retry_after="0")
    with pytest.raises(GatewayUnavailable) as caught:
        adapter.deliver(_delivery())
    assert caught.value.status == 429 and caught.value.code == "20429"
    assert [r.status for r in loopback.requests[3:]] == [429, 429, 429]
    adapter.close()


def test_refusals_are_permanent_and_not_retried(loopback: LoopbackSmsGateway) -> None:
    wrong = _adapter(loopback, token="not-the-token", attempts=3)
    with pytest.raises(GatewayRejected) as caught:
        wrong.deliver(_delivery())
    assert (caught.value.status, caught.value.code) == (401, "20003")
    wrong.close()

    adapter = _adapter(loopback, attempts=3)
    with pytest.raises(GatewayRejected, match="not a valid phone number") as bad_number:
        adapter.deliver(_delivery(to="12345"))
    assert bad_number.value.code == "21211"
    adapter.close()
    assert [r.status for r in loopback.requests] == [401, 400]  # one try each
    assert loopback.received == []


def test_a_gateway_nobody_answers_on_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: refused
    adapter = TwilioSmsGateway(
        f"http://127.0.0.1:{port}", "AC1", "token", "+15005550006", attempts=2, backoff=0.01
    )
    with pytest.raises(GatewayUnavailable, match="no answer") as caught:
        adapter.deliver(_delivery())
    assert caught.value.status is None
    adapter.close()


def test_the_sms_text_shortens_long_subjects_and_keeps_the_whole_link() -> None:
    body = sms_body(_delivery(subject="A " * 80))
    assert body.endswith(f"…: {LINK}") and len(body) <= 60 + 2 + len(LINK)
    assert sms_body(_delivery(subject="  ")) == LINK
