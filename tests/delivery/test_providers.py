"""Mailbox-provider policies: Gmail engagement first, Outlook refuses unsigned mail, Yahoo
sends in windows, the rest as they come."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from delivery.providers import Pending, policy_for, provider_of


def _pending(domain: str, engagement: float = 0.0, signed: bool = True) -> Pending:
    return Pending(object(), domain, engagement, signed)


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("gmail.com", "gmail"),
        ("GoogleMail.com", "gmail"),
        ("hotmail.fr", "outlook"),
        ("yahoo.co.uk", "yahoo"),
        ("aol.com", "yahoo"),
        ("corp.example", "other"),
    ],
)
def test_providers_are_known_by_domain(domain: str, provider: str) -> None:
    assert provider_of(domain) == provider


def test_gmail_gets_the_most_engaged_recipients_first() -> None:
    batch = [_pending("gmail.com", e) for e in (0.1, 0.9, 0.0, 0.5)]
    ordered = policy_for("gmail.com").order(batch)
    assert [m.engagement for m in ordered] == [0.9, 0.5, 0.1, 0.0]
    assert policy_for("corp.example").order(batch) == batch


def test_outlook_refuses_unsigned_mail() -> None:
    policy = policy_for("outlook.com")
    assert policy.refusal(_pending("outlook.com", signed=True)) is None
    assert "DKIM" in (policy.refusal(_pending("outlook.com", signed=False)) or "")
    assert policy_for("gmail.com").refusal(_pending("gmail.com", signed=False)) is None


def test_yahoo_sends_in_windows() -> None:
    policy = policy_for("yahoo.com")
    assert policy.next_window(datetime(2026, 11, 27, 10, 5, tzinfo=UTC)) is None
    assert policy.next_window(datetime(2026, 11, 27, 10, 12, tzinfo=UTC)) == datetime(
        2026, 11, 27, 10, 30, tzinfo=UTC
    )
    assert policy_for("gmail.com").next_window(datetime(2026, 11, 27, 10, 12, tzinfo=UTC)) is None
