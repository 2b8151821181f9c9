"""A person's latent daily activity and the time it takes them to open a message.

Model (shared by ``behaviour`` and ``ground_truth`` so both agree exactly):

* Activity ``a(t)`` is piecewise constant per local hour: a mixture of Gaussian peaks
  (the recipient's ``activity_peaks``) plus a small floor, scaled by ``weekend_factor`` on
  Saturday and Sunday, and normalised to a mean of 1 per hour over a week.
* An eventual opener needs ``E`` "activity-hours" of attention after delivery, drawn from
  a fixed base distribution (``delay_cdf``). The open happens when the cumulative activity
  since delivery reaches ``E``: ``T = G^-1(G(t0) + E)``. With flat activity the calendar
  delay is ``E``; nights stretch it and peaks compress it, so both the time-to-open curve
  and the hour-of-day mass of opens hold together.
* Whether the message is ever opened depends on its salience: the mean activity in the
  first hours after delivery (mail that lands while the person sleeps is buried by
  morning). That is what makes the send hour matter and gives send-time models a target.

Local time uses the UTC offset at delivery for the whole delay (a DST change inside a
delay shifts that open by an hour; both simulation and ground truth make the same choice).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime
from functools import lru_cache
from itertools import accumulate
from zoneinfo import ZoneInfo

import numpy as np

HOURS_PER_WEEK = 168.0
# 1970-01-05 was a Monday: local "week hours" count from there so that day 0 is Monday.
_MONDAY_EPOCH_HOURS = 96.0
_FLOOR_SHARE = 0.03  # share of daily activity spread flat, so activity is never zero

# Base attention delay in activity-hours: an "inbox now" exponential, a same-day lognormal,
# a "days later" lognormal and a long tail (mail found weeks later, ~4% after 30 days). Tuned so the calendar-time
# shares of opens by 1 h / 6 h / 24 h / 7 d / 30 d land in calibration.OPENS_BY_* under the
# world's campaign schedule (see tests/simulator/test_sim_timing.py).
DELAY_MIX: tuple[tuple[float, str, float, float], ...] = (
    (0.22, "exp", 0.5, 0.0),
    (0.52, "lognormal", 4.0, 1.3),
    (0.215, "lognormal", 40.0, 0.9),
    (0.045, "lognormal", 1300.0, 1.0),
)

# Salience: multiplier on the eventual open probability from the mean activity S over the
# first SALIENCE_HOURS after delivery; m(1) = 1, m(0) = SALIENCE_FLOOR.
SALIENCE_HOURS = 2.0
SALIENCE_FLOOR = 0.35
SALIENCE_CURVATURE = 1.0
_SAL_NORM = 1.0 - math.exp(-SALIENCE_CURVATURE)


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """Cached ZoneInfo (ZoneInfo caches too, but the lru_cache avoids the key lookup cost)."""
    return ZoneInfo(name)


_MIDPOINTS = np.arange(24) + 0.5


def day_curves(all_peaks: list[tuple[tuple[float, float, float], ...]]) -> list[list[float]]:
    """``day_curve`` for many recipients at once (zero-weight padding is harmless)."""
    k = max((len(p) for p in all_peaks), default=1)
    arr = np.zeros((len(all_peaks), k, 3))
    arr[:, :, 1] = 1.0
    for i, p in enumerate(all_peaks):
        arr[i, : len(p)] = p
    centre, width, weight = arr[:, :, 0:1], arr[:, :, 1:2], arr[:, :, 2:3]
    d = (_MIDPOINTS - centre) % 24.0
    d = np.minimum(d, 24.0 - d)
    curve = (weight / width * np.exp(-0.5 * (d / width) ** 2)).sum(axis=1)
    curve /= weight.sum(axis=1) * 2.5066282746310002
    floor = _FLOOR_SHARE * curve.sum(axis=1, keepdims=True) / 24.0 / (1.0 - _FLOOR_SHARE)
    return (curve + floor).tolist()


def day_curve(peaks: tuple[tuple[float, float, float], ...]) -> list[float]:
    """Relative activity for each local hour 0..23 from (hour, width, weight) peaks."""
    arr = np.asarray(peaks, dtype=np.float64)
    centre, width, weight = arr[:, 0:1], arr[:, 1:2], arr[:, 2:3]
    d = (_MIDPOINTS - centre) % 24.0
    d = np.minimum(d, 24.0 - d)  # circular distance: a 23h peak also lifts 0h
    curve = (weight / width * np.exp(-0.5 * (d / width) ** 2)).sum(axis=0)
    curve /= weight.sum() * 2.5066282746310002
    floor = _FLOOR_SHARE * curve.sum() / 24.0 / (1.0 - _FLOOR_SHARE)
    return (curve + floor).tolist()


class Profile:
    """Precomputed cumulative activity of one recipient (about 0.5 kB)."""

    __slots__ = ("tz", "rate", "cum", "factor", "day_cum", "weekday_mean")

    def __init__(self, time_zone: str, peaks: tuple[tuple[float, float, float], ...],
                 weekend_factor: float, curve: list[float] | None = None) -> None:
        self.tz = zone(time_zone)
        curve = day_curve(peaks) if curve is None else curve
        day_total = sum(curve)
        scale = HOURS_PER_WEEK / (day_total * (5.0 + 2.0 * weekend_factor))
        self.rate = [v * scale for v in curve]
        self.cum = list(accumulate(self.rate, initial=0.0))
        self.factor = (1.0, 1.0, 1.0, 1.0, 1.0, weekend_factor, weekend_factor)
        day = self.cum[24]
        self.day_cum = list(accumulate((f * day for f in self.factor), initial=0.0))
        self.weekday_mean = day / 24.0

    def local_hours(self, when: datetime) -> tuple[float, float]:
        """(local week-hours of ``when``, UTC offset in hours) for a tz-aware datetime."""
        offset = self.tz.utcoffset(when).total_seconds() / 3600.0
        return when.timestamp() / 3600.0 + offset - _MONDAY_EPOCH_HOURS, offset

    def cumulative(self, x: float) -> float:
        """G(x): activity accumulated from the epoch to local week-hour ``x``."""
        weeks = math.floor(x / HOURS_PER_WEEK)
        r = x - weeks * HOURS_PER_WEEK
        d = min(int(r // 24.0), 6)
        hr = r - 24.0 * d
        h = min(int(hr), 23)
        within = self.cum[h] + (hr - h) * self.rate[h]
        return weeks * HOURS_PER_WEEK + self.day_cum[d] + self.factor[d] * within

    def inverse(self, g: float) -> float:
        """G^-1(g): the local week-hour at which accumulated activity reaches ``g``."""
        weeks = math.floor(g / HOURS_PER_WEEK)
        r = g - weeks * HOURS_PER_WEEK
        d = min(bisect_right(self.day_cum, r) - 1, 6)
        rem = (r - self.day_cum[d]) / self.factor[d]
        h = min(bisect_right(self.cum, rem) - 1, 23)
        return weeks * HOURS_PER_WEEK + 24.0 * d + h + (rem - self.cum[h]) / self.rate[h]

    def rate_at(self, x: float) -> float:
        """Activity rate at local week-hour ``x``."""
        r = x % HOURS_PER_WEEK
        d = min(int(r // 24.0), 6)
        return self.factor[d] * self.rate[min(int(r - 24.0 * d), 23)]

    def salience(self, x: float, g: float | None = None) -> float:
        """Open-probability multiplier of a message delivered at local week-hour ``x``.

        ``g`` may pass ``cumulative(x)`` when the caller already has it.
        """
        g = self.cumulative(x) if g is None else g
        s = (self.cumulative(x + SALIENCE_HOURS) - g) / SALIENCE_HOURS
        return SALIENCE_FLOOR + (1.0 - SALIENCE_FLOOR) * (
            1.0 - math.exp(-SALIENCE_CURVATURE * s)
        ) / _SAL_NORM


def local_weekday(x: float) -> int:
    """Day of week (Monday = 0) of local week-hour ``x``."""
    return int((x % HOURS_PER_WEEK) // 24.0) % 7


def local_hour(x: float) -> int:
    """Hour of day (0..23) of local week-hour ``x``."""
    return int(x % 24.0) % 24


def delay_cdf(e: float) -> float:
    """P(E <= e) for the base attention delay, ``e`` in activity-hours."""
    if e <= 0.0:
        return 0.0
    total = 0.0
    for weight, kind, a, b in DELAY_MIX:
        if kind == "exp":
            total += weight * (1.0 - math.exp(-e / a))
        else:
            total += weight * 0.5 * (1.0 + math.erf(math.log(e / a) / (b * 1.4142135623730951)))
    return total


def delay_sample(u_component: float, u1: float, u2: float) -> float:
    """Draw E from three uniforms (component choice and two for the draw itself)."""
    acc = 0.0
    last = len(DELAY_MIX) - 1
    for i, (weight, kind, a, b) in enumerate(DELAY_MIX):
        acc += weight
        if u_component < acc or i == last:
            if kind == "exp":
                return -a * math.log(u1)
            z = math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)
            return a * math.exp(b * z)
    raise AssertionError("unreachable")  # pragma: no cover
