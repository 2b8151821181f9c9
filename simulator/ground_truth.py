"""Exact latent quantities, for evaluating models against the truth (never for the product).

These evaluate the same functions ``simulate_send`` draws from (``engagement`` and
``activity``), so Monte Carlo over ``simulate_send`` converges to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .activity import Profile, delay_cdf, immediate_share
from .engagement import (
    MAX_OPEN_PROBABILITY,
    OPEN_TYPE_MULTIPLIER,
    expected_click_to_open,
    fatigue_after,
    open_probability,
)
from .state import RecipientState

if TYPE_CHECKING:
    from .world import Recipient

# Mean SMTP latency of simulate_send (0.5-5 s): the open clock starts at delivery.
MEAN_DELIVERY_LATENCY_HOURS = 2.75 / 3600.0


def _profile(recipient: Recipient, state: RecipientState | None) -> Profile:
    if state is not None:
        return state.profile
    return Profile(recipient.time_zone, recipient.activity_peaks, recipient.weekend_factor)


def true_open_probability_24h(
    recipient: Recipient,
    state: RecipientState | None,
    send_time_utc: datetime,
    campaign_type: str = "marketing",
    topic: str | None = None,
    profile: Profile | None = None,
) -> float:
    """P(a human opens within 24 h of ``send_time_utc`` | the message is delivered promptly).

    ``state`` None means a fresh recipient (no fatigue, no inactivity); otherwise the
    state is read, not changed, as if this send were the next one. Returns 0 for an
    address that cannot receive at that time or a person who opted out.
    """
    if recipient.status_at(send_time_utc) != "valid":
        return 0.0
    if state is not None and state.suppressed_before(send_time_utc):
        return 0.0
    profile = profile or _profile(recipient, state)
    t_h = send_time_utc.timestamp() / 3600.0
    view = None
    if state is not None:
        fatigue = state.fatigue
        if campaign_type != "transactional":
            fatigue = fatigue_after(state, t_h)[0]
        view = SimpleNamespace(fatigue=fatigue, sends_since_open=state.sends_since_open)
    x_sent, _ = profile.local_hours(send_time_utc)
    x_del = x_sent + MEAN_DELIVERY_LATENCY_HOURS
    p = open_probability(
        recipient, view, profile, x_del, t_h + MEAN_DELIVERY_LATENCY_HOURS, campaign_type, topic
    )
    g_del = profile.cumulative(x_del)
    quick = immediate_share(profile.cumulative(x_del + 1.0) - g_del)
    return p * delay_cdf(profile.cumulative(x_sent + 24.0) - g_del, quick)


def fresh_open_probability_24h(
    recipients: Iterable[Recipient],
) -> Callable[[Any, datetime], float]:
    """``truth(contact_id, send_time_utc)``: :func:`true_open_probability_24h` of a fresh
    recipient (no fatigue), looked up by contact id (a UUID or its text); the form the
    send-time evaluation takes."""
    by_id = {r.contact_id: r for r in recipients}
    profiles = {
        cid: Profile(r.time_zone, r.activity_peaks, r.weekend_factor) for cid, r in by_id.items()
    }

    def truth(contact_id: Any, when: datetime) -> float:
        cid = contact_id if isinstance(contact_id, uuid.UUID) else uuid.UUID(str(contact_id))
        return true_open_probability_24h(by_id[cid], None, when, profile=profiles[cid])

    return truth


def true_click_to_open(
    recipient: Recipient, variant: str | None, campaign_type: str = "marketing"
) -> float:
    """P(click | human open) on a weekday, averaged over the device the person opens on."""
    return expected_click_to_open(recipient, campaign_type, variant)


def true_click_rate(
    recipient: Recipient, variant: str | None, campaign_type: str = "marketing"
) -> float:
    """P(human click | delivered) under reference conditions.

    Reference: a Tuesday delivery at average activity (salience 1), a settled subscriber
    (no new-subscriber boost), no fatigue or inactivity, no topic. Comparable across
    variants and recipients; the argmax over variants is the oracle variant.
    """
    p_open = min(recipient.engagement * OPEN_TYPE_MULTIPLIER[campaign_type], MAX_OPEN_PROBABILITY)
    return p_open * true_click_to_open(recipient, variant, campaign_type)


def oracle_send_hour_utc(recipient: Recipient, day: date, campaign_type: str = "marketing") -> int:
    """The UTC hour of ``day`` whose send maximises the 24-hour human open probability."""
    profile = _profile(recipient, None)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    scores = [
        true_open_probability_24h(
            recipient, None, start + timedelta(hours=h), campaign_type, profile=profile
        )
        for h in range(24)
    ]
    return max(range(24), key=scores.__getitem__)


def oracle_open_probability_24h(
    recipient: Recipient, day: date, campaign_type: str = "marketing"
) -> float:
    """The 24-hour open probability reached by sending at ``oracle_send_hour_utc``."""
    hour = oracle_send_hour_utc(recipient, day, campaign_type)
    at = datetime.combine(day, time(hour), tzinfo=UTC)
    return true_open_probability_24h(recipient, None, at, campaign_type)
