"""Latent probabilities of opening, clicking, complaining and unsubscribing.

``behaviour.simulate_send`` draws outcomes from these functions and ``ground_truth``
evaluates them, so the two cannot drift apart. Multipliers are sourced in ``calibration``
where the reference figures have a number; the remaining constants ([A]) are tuned so
the simulated rates fall in the calibration ranges (see tests/simulator).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .activity import Profile, local_weekday
from .calibration import (
    DESKTOP_CTOR_RATIO,
    FATIGUE_OPEN_EXPONENT,
    FATIGUE_SENDS_PER_WEEK,
    TRANSACTIONAL_OPEN_MULTIPLIER,
    TRIGGERED_OPEN_MULTIPLIER,
)

if TYPE_CHECKING:
    from .world import Recipient

OPEN_TYPE_MULTIPLIER = {
    "marketing": 1.0,
    "triggered": TRIGGERED_OPEN_MULTIPLIER.value,
    "transactional": TRANSACTIONAL_OPEN_MULTIPLIER.value,
}
# Day-of-week effect on opening, Monday first: Tue/Wed best, weekend lowest (§2,
# GetResponse via MarketingCharts), kept small on weekdays ("a moving target", eROI).
DOW_OPEN_MULTIPLIER = (0.96, 1.0, 1.0, 0.98, 0.94, 0.80, 0.83)
MAX_OPEN_PROBABILITY = 0.97
# New subscribers read more (§5 Return Path: 39% first touch, falling over 30 days).
NEW_SUBSCRIBER_BOOST, NEW_SUBSCRIBER_DAYS = 0.5, 45.0
# Base click-to-open on human opens, per campaign type; triggered clicks are 3-4x
# campaign clicks per delivered (§1 Klaviyo [W]) = open x1.28 times CTOR x2.7.
CTOR_BASE = 0.10
CTOR_TYPE_MULTIPLIER = {"marketing": 1.0, "triggered": 2.7, "transactional": 2.0}
MOBILE_CTOR = 0.72
DESKTOP_CTOR = MOBILE_CTOR * DESKTOP_CTOR_RATIO.value
MOBILE_OPEN_SHARE = {"mobile": 0.85, "desktop": 0.20}  # device of a human open, by primary
WEEKEND_CTOR_BONUS = 1.15  # §2: clicks are not lower at weekends though opens are
COMPLAINT_TYPE_MULTIPLIER = {"marketing": 1.0, "triggered": 0.5, "transactional": 0.15}
UNSUBSCRIBE_WITHOUT_OPEN = 0.25  # one-click List-Unsubscribe from the inbox view [A]
FATIGUE_TAU_HOURS = 168.0


def fatigue_after(state: Any, t_h: float) -> tuple[float, float]:
    """(fatigue, its time) after adding one send at epoch hour ``t_h`` to ``state``."""
    dt = t_h - state.fatigue_at_h
    if dt >= 0.0:
        return state.fatigue * math.exp(-dt / FATIGUE_TAU_HOURS) + 1.0, t_h
    return state.fatigue + math.exp(dt / FATIGUE_TAU_HOURS), state.fatigue_at_h


def _excess(fatigue: float) -> float:
    # The kernel sum of a steady r/week cadence is about r + 0.5.
    return max(fatigue - 0.5, 0.0) / FATIGUE_SENDS_PER_WEEK.value


def open_probability(
    recipient: Recipient,
    state: Any,
    profile: Profile,
    x_delivery: float,
    delivered_h: float,
    campaign_type: str,
    topic: str | None,
    g_delivery: float | None = None,
) -> float:
    """P(a human eventually opens) for a message delivered at local week-hour ``x_delivery``.

    ``state`` (or None for a fresh recipient) must already include this send's fatigue;
    ``g_delivery`` may pass ``profile.cumulative(x_delivery)``.
    """
    p = recipient.engagement * OPEN_TYPE_MULTIPLIER[campaign_type]
    p *= DOW_OPEN_MULTIPLIER[local_weekday(x_delivery)] * profile.salience(x_delivery, g_delivery)
    tenure_days = (delivered_h - recipient.signed_up_at.timestamp() / 3600.0) / 24.0
    if tenure_days >= 0.0:
        p *= 1.0 + NEW_SUBSCRIBER_BOOST * math.exp(-tenure_days / NEW_SUBSCRIBER_DAYS)
    if topic is not None:
        p *= math.sqrt(recipient.topic_affinity.get(topic, 1.0))
    if state is not None and campaign_type != "transactional":
        ratio = _excess(state.fatigue)
        if ratio > 1.0:  # §5 Validity: flat up to ~5/week, then read rates fall
            p *= ratio**-FATIGUE_OPEN_EXPONENT.value
        # Long non-openers drift away (§5: re-sends to non-openers get about half).
        p *= max(0.5, 1.0 - 0.04 * max(0, state.sends_since_open - 5))
    return min(p, MAX_OPEN_PROBABILITY)


def click_to_open(
    recipient: Recipient,
    campaign_type: str,
    variant: str | None,
    topic: str | None,
    mobile: bool,
    weekend: bool,
) -> float:
    """P(at least one click | human open on this device)."""
    ctor = CTOR_BASE * CTOR_TYPE_MULTIPLIER[campaign_type]
    ctor *= MOBILE_CTOR if mobile else DESKTOP_CTOR
    if campaign_type == "marketing" and variant is not None:
        ctor *= recipient.variant_affinity.get(variant, 1.0)
    if topic is not None:
        ctor *= math.sqrt(recipient.topic_affinity.get(topic, 1.0))
    if weekend:
        ctor *= WEEKEND_CTOR_BONUS
    return min(ctor, 0.9)


def expected_click_to_open(
    recipient: Recipient,
    campaign_type: str,
    variant: str | None,
    topic: str | None = None,
    weekend: bool = False,
) -> float:
    """Click-to-open averaged over the device the person opens on."""
    pm = MOBILE_OPEN_SHARE[recipient.device]
    return pm * click_to_open(recipient, campaign_type, variant, topic, True, weekend) + (
        1 - pm
    ) * click_to_open(recipient, campaign_type, variant, topic, False, weekend)


def complaint_probability(recipient: Recipient, state: Any, campaign_type: str) -> float:
    """P(spam complaint | delivered), rising steeply above ~5 sends/week (§5 Validity)."""
    p = recipient.complaint_propensity * COMPLAINT_TYPE_MULTIPLIER[campaign_type]
    ratio = _excess(state.fatigue) if campaign_type != "transactional" else 0.0
    return p * ratio**3 if ratio > 1.0 else p


def unsubscribe_probability(recipient: Recipient, state: Any, opened: bool) -> float:
    """P(unsubscribe | delivered marketing or triggered message)."""
    p = recipient.unsubscribe_propensity * (1.0 if opened else UNSUBSCRIBE_WITHOUT_OPEN)
    ratio = _excess(state.fatigue)
    return p * ratio**1.5 if ratio > 1.0 else p
