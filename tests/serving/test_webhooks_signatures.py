"""Webhook signatures: HMAC-SHA256 over timestamp and body, checked in constant time
within a timestamp window, with several signatures allowed while a secret rotates."""

from __future__ import annotations

import pytest

from serving.webhooks.signatures import SignatureError, signed_headers, verify

SECRET = "whsec_0123456789abcdefghijklmnop"


def test_a_signed_body_verifies_and_returns_its_timestamp() -> None:
    headers = signed_headers(SECRET, 1_700_000_000, b'{"a":1}')

    assert verify(SECRET, headers, b'{"a":1}', 1_700_000_010, 300) == 1_700_000_000


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"body": b'{"a":2}'}, "invalid_webhook_signature"),
        ({"secret": "whsec_another_secret_entirely"}, "invalid_webhook_signature"),
        ({"now": 1_700_001_000}, "stale_webhook"),
        ({"headers": {}}, "missing_webhook_signature"),
        ({"headers": {"postwise-timestamp": "soon", "postwise-signature": "v1=00"}},
         "invalid_webhook_signature"),
    ],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(change: dict[str, object], code: str) -> None:
    body = b'{"a":1}'
    args: dict[str, object] = {
        "secret": SECRET,
        "headers": signed_headers(SECRET, 1_700_000_000, body),
        "body": body,
        "now": 1_700_000_000,
        **change,
    }

    with pytest.raises(SignatureError) as raised:
        verify(args["secret"], args["headers"], args["body"], args["now"], 300)  # type: ignore[arg-type]

    assert raised.value.code == code


def test_one_of_several_signatures_is_enough_while_rotating() -> None:
    old = signed_headers("whsec_old_secret_0123456789", 1_700_000_000, b"x")
    new = signed_headers(SECRET, 1_700_000_000, b"x")
    both = {**new, "postwise-signature": f"{old['postwise-signature']},{new['postwise-signature']}"}

    assert verify(SECRET, both, b"x", 1_700_000_000, 300) == 1_700_000_000
