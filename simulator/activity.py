"""A person's latent daily activity and the time it takes them to open a message.

Model (shared by ``behaviour`` and ``ground_truth`` so both agree exactly):

* Activity ``a(t)`` is piecewise constant per local hour: a mixture of Gaussian peaks
  (the recipient's ``activity_peaks``) plus a small floor, scaled by ``weekend_factor`` on
  Saturday and Sunday, and normalised to a mean of 1 per hour over a week.
* An eventual opener needs ``E`` "activity-hours" of attention after delivery, drawn from
  a base distribution (``delay_cdf``: a quick read, likelier when the person is active at
  delivery, or a same-day / days-later / weeks-later delay). The open happens when the
  cumulative activity since delivery reaches ``E``: ``T = G^-1(G(t0) + E)``. With flat
  activity the calendar delay is ``E``; nights stretch it and peaks compress it, so both
  the time-to-open curve and the hour-of-day mass of opens hold together.
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
from functools import cache
from itertools import accumulate
from zoneinfo import ZoneInfo

import numpy as np

HOURS_PER_WEEK = 168.0
# 1970-01-05 was a Monday: local "week hours" count from there so that day 0 is Monday.
_MONDAY_EPOCH_HOURS = 96.0
_SQRT2 = 1.4142135623730951
_FLOOR_SHARE = 0.03  # share of daily activity spread flat, so activity is never zero

# Attention delay, in activity-hours after delivery. With probability ``immediate_share``
# (higher when the person is active at delivery) the message is read "now" (exponential,
# mean IMMEDIATE_MEAN); otherwise the delay follows LATER_MIX: a same-day lognormal, a
# "days later" lognormal and a long tail (~4% of opens after 30 days). Keeping the quick
# reads tied to activity at delivery, and the rest well inside a day's activity mass
# (a weekday holds ~24 activity-hours), makes opens land across a person's peaks rather
# than at the onset of each active period. Tuned so the calendar-time shares of opens by
# 1 h / 6 h / 24 h / 7 d / 30 d fall in calibration.OPENS_BY_* under the world's schedule.
IMMEDIATE_MAX = 0.37
IMMEDIATE_MEAN = 0.9
IMMEDIATE_SCALE = 0.33  # activity per hour at which the immediate share is 63% of the max
LATER_MIX: tuple[tuple[float, float, float], ...] = (
    (0.74, 6.3, 1.35),
    (0.21, 50.0, 1.0),
    (0.05, 1450.0, 0.7),
)

# Salience: multiplier on the eventual open probability from the mean activity S over the
# first SALIENCE_HOURS after delivery; m(1) = 1, m(0) = SALIENCE_FLOOR.
SALIENCE_HOURS = 2.0
SALIENCE_FLOOR = 0.35
SALIENCE_CURVATURE = 1.0
_SAL_NORM = 1.0 - math.exp(-SALIENCE_CURVATURE)


@cache
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo: building one per send would dominate the cost of a send."""
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

    __slots__ = ("tz", "rate", "cum", "factor", "day_cum")

    def __init__(
        self,
        time_zone: str,
        peaks: tuple[tuple[float, float, float], ...],
        weekend_factor: float,
        curve: list[float] | None = None,
    ) -> None:
        self.tz = zone(time_zone)
        curve = day_curve(peaks) if curve is None else curve
        day_total = sum(curve)
        scale = HOURS_PER_WEEK / (day_total * (5.0 + 2.0 * weekend_factor))
        self.rate = [v * scale for v in curve]
        self.cum = list(accumulate(self.rate, initial=0.0))
        self.factor = (1.0, 1.0, 1.0, 1.0, 1.0, weekend_factor, weekend_factor)
        day = self.cum[24]
        self.day_cum = list(accumulate((f * day for f in self.factor), initial=0.0))

    def local_hours(self, when: datetime) -> tuple[float, float]:
        """(local week-hours of ``when``, UTC offset in hours) for a tz-aware datetime."""
        delta = self.tz.utcoffset(when)  # never None for a ZoneInfo
        offset = delta.total_seconds() / 3600.0 if delta is not None else 0.0
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

    def salience(self, x: float, g: float | None = None) -> float:
        """Open-probability multiplier of a message delivered at local week-hour ``x``.

        ``g`` may pass ``cumulative(x)`` when the caller already has it.
        """
        g = self.cumulative(x) if g is None else g
        s = (self.cumulative(x + SALIENCE_HOURS) - g) / SALIENCE_HOURS
        return (
            SALIENCE_FLOOR
            + (1.0 - SALIENCE_FLOOR) * (1.0 - math.exp(-SALIENCE_CURVATURE * s)) / _SAL_NORM
        )


def local_weekday(x: float) -> int:
    """Day of week (Monday = 0) of local week-hour ``x``."""
    return int((x % HOURS_PER_WEEK) // 24.0) % 7


def local_hour(x: float) -> int:
    """Hour of day (0..23) of local week-hour ``x``."""
    return int(x % 24.0) % 24


def immediate_share(activity_next_hour: float) -> float:
    """P(read right away) given the activity accumulated over the hour after delivery."""
    return IMMEDIATE_MAX * (1.0 - math.exp(-activity_next_hour / IMMEDIATE_SCALE))


def delay_cdf(e: float, immediate: float) -> float:
    """P(E <= e), ``e`` in activity-hours, for a given immediate share."""
    if e <= 0.0:
        return 0.0
    later = 0.0
    for weight, median, sigma in LATER_MIX:
        later += weight * 0.5 * (1.0 + math.erf(math.log(e / median) / (sigma * _SQRT2)))
    return immediate * (1.0 - math.exp(-e / IMMEDIATE_MEAN)) + (1.0 - immediate) * later


def delay_sample(immediate: float, u_component: float, u1: float, u2: float) -> float:
    """Draw E from three uniforms (component choice and two for the draw itself)."""
    if u_component < immediate:
        return -IMMEDIATE_MEAN * math.log(u1)
    acc, chosen = immediate, LATER_MIX[-1]
    for component in LATER_MIX:
        acc += (1.0 - immediate) * component[0]
        if u_component < acc:
            chosen = component
            break
    _, median, sigma = chosen
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)
    return median * math.exp(sigma * z)
