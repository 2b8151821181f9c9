"""The sender's plan: marketing newsletters, triggered flows and transactional mail.

Marketing: 2-3 newsletters a week, weekend days chosen 5x less often than weekdays (§2,
eROI: weekend volume 1/4-1/6 of a weekday's), send hours spread over the whole UTC day so
that, across three regions, local send hours cover the clock and a send-time model has
variation to learn from. Triggered (welcome, cart and browse abandonment) and
transactional (order confirmation, password reset) plans are daily windows: each targeted
recipient gets the message at its own time, shortly after the (simulated) action.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from . import _random
from .activity import Profile
from .calibration import WEEKEND_SEND_WEIGHT
from .recipients import TOPICS

if TYPE_CHECKING:
    from .world import Recipient, World

# (trigger, campaign type, daily share of contacts, lag after the action in hours) [A]
DAILY_FLOWS = (
    ("welcome", "triggered", 1.0, 0.05),
    ("cart_abandonment", "triggered", 0.004, 1.0),
    ("browse_abandonment", "triggered", 0.005, 2.0),
    ("order_confirmation", "transactional", 0.003, 0.02),
    ("password_reset", "transactional", 0.001, 0.01),
)


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """One planned send. Membership, variant and send time are deterministic per recipient."""

    campaign_id: uuid.UUID
    name: str
    campaign_type: str  # "marketing" | "triggered" | "transactional"
    send_at: datetime  # UTC; start of the send window
    audience_share: float  # fraction of signed-up contacts targeted
    variants: tuple[str, ...]  # content variants offered; empty when there are none
    topic: str | None
    window_hours: float  # marketing: throttled send duration; flows: the day they cover
    trigger: str | None  # flows only: "welcome", "cart_abandonment", ...
    lag_hours: float  # flows: delay between the recipient's action and the message
    membership_key: int

    @property
    def send_at_hours(self) -> float:
        """``send_at`` in hours since the Unix epoch."""
        return self.send_at.timestamp() / 3600.0

    def audience(self, signed_up_hours: np.ndarray) -> np.ndarray:
        """Targeted indices, given every recipient's sign-up time in epoch hours."""
        t0 = self.send_at_hours
        if self.trigger == "welcome":
            hit = (signed_up_hours >= t0) & (signed_up_hours < t0 + self.window_hours)
            return np.flatnonzero(hit)
        u = _random.uniform_block(self.membership_key, np.arange(len(signed_up_hours)), 1)[:, 0]
        return np.flatnonzero((u < self.audience_share) & (signed_up_hours <= t0))

    def targets(self, recipient: Recipient) -> bool:
        """Whether ``recipient`` is in the audience (scalar twin of ``audience``)."""
        signed = recipient.signed_up_at.timestamp() / 3600.0
        t0 = self.send_at_hours
        if self.trigger == "welcome":
            return t0 <= signed < t0 + self.window_hours
        u = _random.unit_at(self.membership_key, recipient.index, 0)
        return u < self.audience_share and signed <= t0

    def variant_for(self, recipient: Recipient) -> str | None:
        """The content variant this recipient receives (uniform random assignment)."""
        if not self.variants:
            return None
        u = _random.unit_at(self.membership_key, recipient.index, 2)
        return self.variants[min(int(u * len(self.variants)), len(self.variants) - 1)]

    def send_time_for(self, recipient: Recipient) -> datetime:
        """When the message to ``recipient`` leaves the sender (UTC)."""
        u = _random.unit_at(self.membership_key, recipient.index, 1)
        if self.campaign_type == "marketing":
            return self.send_at + timedelta(hours=u * self.window_hours)
        if self.trigger == "welcome":
            return recipient.signed_up_at + timedelta(hours=self.lag_hours * (0.5 + u))
        # The action (cart, order, reset) happens while the person is active: invert the
        # cumulative activity at a uniform point of that day.
        profile = Profile(recipient.time_zone, recipient.activity_peaks, recipient.weekend_factor)
        x0, offset = profile.local_hours(self.send_at)
        g0 = profile.cumulative(x0)
        x = profile.inverse(g0 + u * (profile.cumulative(x0 + self.window_hours) - g0))
        return self.send_at + timedelta(hours=(x - x0) + self.lag_hours)


def build_schedule(world: World) -> list[CampaignPlan]:
    """All plans of the world over [start, end), sorted by send time."""
    rng = np.random.default_rng([world.seed, 0x5C4ED])
    ns = uuid.uuid5(uuid.NAMESPACE_URL, f"https://postwise.dev/sim/{world.seed}/campaigns")
    day0 = world.start.replace(hour=0, minute=0, second=0, microsecond=0)
    plans: list[CampaignPlan] = []

    def plan(
        name: str,
        kind: str,
        at: datetime,
        share: float,
        variants: tuple[str, ...],
        topic: str | None,
        window: float,
        trigger: str | None,
        lag: float,
    ) -> None:
        if world.start <= at < world.end:
            key = _random.key(world.seed_key, len(plans), 0xCA)
            plans.append(
                CampaignPlan(
                    uuid.uuid5(ns, name),
                    name,
                    kind,
                    at,
                    share,
                    variants,
                    topic,
                    window,
                    trigger,
                    lag,
                    key,
                )
            )

    weights = np.array([1.0] * 5 + [WEEKEND_SEND_WEIGHT.value] * 2)
    for week in range((world.days + 6) // 7 + 1):
        week_start = day0 + timedelta(days=7 * week - day0.weekday())
        n = 2 if rng.random() < 0.5 else 3
        days = rng.choice(7, size=n, replace=False, p=weights / weights.sum())
        for d in sorted(days.tolist()):
            # Half the sends at a main market's morning (EU 6-10, NA 13-16 UTC), half at
            # any hour, so that local send hours cover the clock.
            r = rng.random()
            hour = (
                rng.uniform(6, 10)
                if r < 0.25
                else rng.uniform(13, 16)
                if r < 0.5
                else rng.uniform(0, 24)
            )
            at = week_start + timedelta(days=d, hours=round(hour * 12) / 12)
            topic = TOPICS[int(rng.integers(len(TOPICS)))]
            share = 1.0 if rng.random() < 0.4 else float(rng.uniform(0.5, 0.95))
            variants = ("A", "B", "C") if rng.random() < 0.75 else ("A", "B")
            window = float(rng.uniform(0.5, 1.5))
            name = f"{topic.replace('_', ' ').capitalize()} newsletter {at:%Y-%m-%d %H:%M}"
            plan(name, "marketing", at, round(share, 3), variants, topic, window, None, 0.0)
    for d in range(world.days):
        day = day0 + timedelta(days=d)
        for trigger, kind, share, lag in DAILY_FLOWS:
            at = max(day, world.start)
            window = (day + timedelta(days=1) - at).total_seconds() / 3600.0
            plan(f"{trigger} {day:%Y-%m-%d}", kind, at, share, (), None, window, trigger, lag)
    plans.sort(key=lambda p: (p.send_at, p.name))
    return plans
