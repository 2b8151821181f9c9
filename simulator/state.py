"""Mutable per-recipient state that evolves across sends (re-exported by ``behaviour``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _random, clients
from .activity import Profile, day_curves
from .population import COUNTRY_BY_CODE

if TYPE_CHECKING:
    from .world import Recipient

_MASK = (1 << 64) - 1
_UNIT = 1.0 / (1 << 53)


@dataclass(slots=True, eq=False)
class RecipientState:
    """Fatigue, inactivity, opt-outs and ground-truth counters of one recipient.

    Create it once per recipient with ``RecipientState.initial`` and pass it to every
    ``simulate_send`` for that recipient. Once ``receiving`` is False (unsubscribed,
    complained or hard-bounced) a well-behaved sender stops mailing the address.
    """

    profile: Profile  # cached cumulative activity curve and time zone
    mobile_client: int  # index into clients.CLIENTS
    desktop_client: int
    home_ip: str
    mobile_ip: str
    fatigue: float = 0.0  # exponentially weighted marketing+triggered sends (~ per week)
    fatigue_at_h: float = 0.0  # epoch hours of the fatigue value
    sends_since_open: int = 0  # marketing/triggered messages since the last human open
    sends: int = 0
    delivered: int = 0
    human_opens: int = 0  # ground truth, including opens hidden by Apple MPP
    human_clicks: int = 0
    last_open_at: datetime | None = None  # human open caused by the latest send, if any
    unsubscribed_at: datetime | None = None
    complained_at: datetime | None = None
    hard_bounced_at: datetime | None = None

    @classmethod
    def initial_many(cls, recipients: Iterable[Any]) -> list[RecipientState]:
        """``initial`` for many recipients, with the activity curves computed in one go."""
        batch = list(recipients)
        curves = day_curves([r.activity_peaks for r in batch])
        return [cls.initial(r, curve) for r, curve in zip(batch, curves, strict=True)]

    @classmethod
    def initial(cls, recipient: Recipient, curve: list[float] | None = None) -> RecipientState:
        """The state at the start of the history.

        ``sends_since_open`` starts from a draw of the stationary distribution of a
        person who opens with probability ``engagement``, so the list does not begin
        unrealistically "fresh" and decay during the first weeks.
        """
        h1 = _random.mix64(recipient.contact_id.int & _MASK)
        h2 = _random.mix64(h1)
        u1, u2, u3 = (
            ((h1 >> 11) + 0.5) * _UNIT,
            ((h2 >> 11) + 0.5) * _UNIT,
            ((h1 & 0xFFFFF) + 0.5) / 0x100000,
        )
        country = COUNTRY_BY_CODE[recipient.country]
        mobile, desktop = clients.client_pair(
            recipient.provider == "corporate", country.apple_mail_share, u1, u2
        )
        p = min(max(recipient.engagement, 0.01), 0.95)
        idle = int(math.log(u3) / math.log(1.0 - p))
        return cls(
            profile=Profile(
                recipient.time_zone, recipient.activity_peaks, recipient.weekend_factor, curve
            ),
            mobile_client=mobile,
            desktop_client=desktop,
            home_ip=clients.person_ip(recipient.region, _random.mix64(h2)),
            mobile_ip=clients.person_ip(recipient.region, _random.mix64(h2 ^ 0x5A5A)),
            sends_since_open=min(idle, 30),
        )

    def receiving(self, at: datetime | None = None) -> bool:
        """False once the address opted out, complained or hard-bounced (before ``at``)."""
        for when in (self.unsubscribed_at, self.complained_at, self.hard_bounced_at):
            if when is not None and (at is None or when <= at):
                return False
        return True

    def suppressed_before(self, at: datetime) -> bool:
        """Whether the person unsubscribed or complained before ``at``."""
        return (self.unsubscribed_at is not None and self.unsubscribed_at <= at) or (
            self.complained_at is not None and self.complained_at <= at
        )
