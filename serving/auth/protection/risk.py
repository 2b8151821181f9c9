"""The login-risk score: a login's behaviour as signals, the signals as a score, the score
as a decision. Pure functions over plain values, so the rules are unit-tested without
services (the history they read is gathered by :mod:`.history`).

Signals and their default weights (settings ``LOGIN_RISK_*``):

- ``new_device`` (40): a device the user never logged in from, once they have a known one;
- ``impossible_travel`` (90): the country of this login is farther from the previous
  successful login's than ``max_travel_kmh`` allows in the time between them;
- ``unusual_hour`` (25): with at least ``min_history`` past logins, fewer than
  ``usual_hour_share`` of them within an hour (either side) of this login's hour (UTC);
- ``failure_burst`` (40): ``burst_failures`` or more failed logins of the account in the
  current failure window.

A score at or over ``block_at`` blocks; at or over ``challenge_at`` demands the second
factor; anything lower is allowed.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

EARTH_RADIUS_KM = 6371.0
COUNTRY_POINTS = Path(__file__).parent / "data" / "country_points.csv"


class Decision(StrEnum):
    ALLOW = "allow"
    CHALLENGE = "challenge"
    BLOCK = "block"


@dataclass(frozen=True)
class RiskPolicy:
    new_device: int = 40
    impossible_travel: int = 90
    unusual_hour: int = 25
    failure_burst: int = 40
    challenge_at: int = 40
    block_at: int = 90
    max_travel_kmh: float = 900.0
    min_history: int = 10
    usual_hour_share: float = 0.05
    burst_failures: int = 3

    def weight(self, signal: str) -> int:
        return int(getattr(self, signal))


@dataclass(frozen=True)
class PreviousLogin:
    at: datetime
    country: str | None


@dataclass(frozen=True)
class LoginBehaviour:
    """What is known about one login when its password has been verified."""

    at: datetime
    device_known: bool
    has_known_devices: bool
    country: str | None
    previous: PreviousLogin | None
    past_hours: Sequence[int]  # UTC hours of the user's past successful logins
    recent_failures: int


@dataclass(frozen=True)
class Assessment:
    score: int
    signals: tuple[str, ...]
    decision: Decision
    travel_kmh: float | None = None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@functools.cache
def country_points() -> Mapping[str, tuple[float, float]]:
    """ISO 3166 code -> a representative (latitude, longitude); see data/README.md."""
    with COUNTRY_POINTS.open(encoding="utf-8") as rows:
        return {
            r["code"]: (float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(rows)
        }


def travel_speed_kmh(
    previous: PreviousLogin | None,
    at: datetime,
    country: str | None,
    points: Mapping[str, tuple[float, float]],
) -> float | None:
    """The speed between the previous login's country and this one's (None: unknown)."""
    if previous is None or previous.country is None or country is None:
        return None
    if previous.country == country:
        return 0.0
    if previous.country not in points or country not in points:
        return None
    km = distance_km(points[previous.country], points[country])
    hours = max((at - previous.at).total_seconds(), 1.0) / 3600
    return km / hours


def unusual_hour(hour: int, past_hours: Sequence[int], policy: RiskPolicy) -> bool:
    """Whether ``hour`` is outside the user's usual hours (never, without enough history)."""
    if len(past_hours) < policy.min_history:
        return False
    near = sum(1 for past in past_hours if min((past - hour) % 24, (hour - past) % 24) <= 1)
    return near / len(past_hours) < policy.usual_hour_share


def signals_of(
    behaviour: LoginBehaviour,
    policy: RiskPolicy,
    points: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[tuple[str, ...], float | None]:
    """The risk signals a login raises, and the travel speed it implies (if known)."""
    signals: list[str] = []
    if behaviour.has_known_devices and not behaviour.device_known:
        signals.append("new_device")
    speed = travel_speed_kmh(
        behaviour.previous, behaviour.at, behaviour.country, points or country_points()
    )
    if speed is not None and speed > policy.max_travel_kmh:
        signals.append("impossible_travel")
    if unusual_hour(behaviour.at.hour, behaviour.past_hours, policy):
        signals.append("unusual_hour")
    if policy.burst_failures > 0 and behaviour.recent_failures >= policy.burst_failures:
        signals.append("failure_burst")
    return tuple(signals), speed


def decide(signals: Sequence[str], policy: RiskPolicy) -> tuple[int, Decision]:
    """The score of ``signals`` and what it decides."""
    score = sum(policy.weight(signal) for signal in signals)
    if score >= policy.block_at:
        return score, Decision.BLOCK
    if score >= policy.challenge_at:
        return score, Decision.CHALLENGE
    return score, Decision.ALLOW


def assess(
    behaviour: LoginBehaviour,
    policy: RiskPolicy,
    points: Mapping[str, tuple[float, float]] | None = None,
) -> Assessment:
    """Signals, score and decision of one login."""
    signals, speed = signals_of(behaviour, policy, points)
    score, decision = decide(signals, policy)
    return Assessment(score, signals, decision, speed)
