"""Mailbox-provider strategies: pluggable policies the worker consults per destination.

- Gmail, engagement first: within a batch, the most engaged recipients are sent first, so
  the first messages Gmail sees from a campaign are the ones people open.
- Outlook, authentication: unsigned mail (no DKIM signature) is refused before it is sent;
  Microsoft rejects or junks it anyway, and trying hurts the sender's reputation.
- Yahoo, batch windows: mail goes out in short windows (by default the first 10 minutes of
  every 30), not as a steady stream.

Other providers get :class:`DefaultPolicy`. ``policy_for(domain)`` picks by the recipient's
domain; new policies register in ``POLICIES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Pending:
    """A message about to be sent, as the policies see it."""

    message_id: object
    recipient_domain: str
    engagement: float  # 0..1, the recipient's recent open rate (0 without history)
    dkim_signed: bool


class ProviderPolicy(Protocol):
    @property
    def name(self) -> str: ...

    def order(self, batch: Sequence[Pending]) -> list[Pending]: ...

    def refusal(self, message: Pending) -> str | None: ...

    def next_window(self, now: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class DefaultPolicy:
    name: str = "default"

    def order(self, batch: Sequence[Pending]) -> list[Pending]:
        return list(batch)

    def refusal(self, message: Pending) -> str | None:
        return None

    def next_window(self, now: datetime) -> datetime | None:
        """None: sending is allowed now; else when the next window opens."""
        return None


@dataclass(frozen=True)
class GmailPolicy(DefaultPolicy):
    name: str = "gmail"

    def order(self, batch: Sequence[Pending]) -> list[Pending]:
        return sorted(batch, key=lambda m: m.engagement, reverse=True)


@dataclass(frozen=True)
class OutlookPolicy(DefaultPolicy):
    name: str = "outlook"

    def refusal(self, message: Pending) -> str | None:
        if not message.dkim_signed:
            return "outlook requires authenticated mail: the message has no DKIM signature"
        return None


@dataclass(frozen=True)
class YahooPolicy(DefaultPolicy):
    name: str = "yahoo"
    window: timedelta = timedelta(minutes=10)
    period: timedelta = timedelta(minutes=30)

    def next_window(self, now: datetime) -> datetime | None:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        into = (now - midnight) % self.period
        if into < self.window:
            return None
        return now + (self.period - into)


PROVIDER_DOMAINS = {
    "gmail": ("gmail.com", "googlemail.com"),
    "outlook": ("outlook.com", "hotmail.com", "live.com", "msn.com"),
    "yahoo": ("yahoo.com", "ymail.com", "aol.com", "rocketmail.com"),
}
POLICIES: dict[str, ProviderPolicy] = {
    "gmail": GmailPolicy(),
    "outlook": OutlookPolicy(),
    "yahoo": YahooPolicy(),
}
_BY_DOMAIN = {domain: name for name, domains in PROVIDER_DOMAINS.items() for domain in domains}


def provider_of(domain: str) -> str:
    """The mailbox provider of a recipient domain ("other" when unknown); country variants
    such as yahoo.co.uk or hotmail.fr count too."""
    domain = domain.lower().rstrip(".")
    if domain in _BY_DOMAIN:
        return _BY_DOMAIN[domain]
    label = domain.split(".", 1)[0]
    for name, domains in PROVIDER_DOMAINS.items():
        if any(label == known.split(".", 1)[0] for known in domains):
            return name
    return "other"


def policy_for(domain: str) -> ProviderPolicy:
    return POLICIES.get(provider_of(domain), DefaultPolicy())
