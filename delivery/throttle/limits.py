"""How fast a sending domain may go: warm-up, reputation, deferrals and hard stops.

- Warm-up: a new sending domain starts at ``start_per_hour`` and grows by ``daily_growth``
  (about 40%) a day for ``days`` (14) days, after which only the other limits apply.
- Reputation: below ``reputation_floor`` (0.7, from the domain_reputation mart) a domain
  may send at most ``low_reputation_per_hour`` (100) messages an hour.
- Deferrals: when a route's recent deferral rate rises, its send rate is cut
  multiplicatively and recovers additively (AIMD, like TCP).
- Hard stops: a bounce rate of 5% or a complaint rate of 0.1% over the window pauses the
  sender (with a minimum number of sends, so that two bounces in ten sends do not).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    warmup_days: int = 14
    warmup_start_per_hour: int = 50
    warmup_daily_growth: float = 1.4
    reputation_floor: float = 0.7
    low_reputation_per_hour: int = 100
    deferral_threshold: float = 0.05
    slowdown_factor: float = 0.5
    recovery_step: float = 0.1
    min_rate_factor: float = 0.05
    bounce_stop_rate: float = 0.05
    complaint_stop_rate: float = 0.001
    stop_min_sends: int = 200


def warmup_hourly_limit(age_days: float, policy: ThrottlePolicy) -> int | None:
    """Messages per hour a domain ``age_days`` old may send; None once warmed up."""
    if age_days >= policy.warmup_days:
        return None
    day = max(0, int(age_days))
    return int(policy.warmup_start_per_hour * policy.warmup_daily_growth**day)


def domain_hourly_cap(
    age_days: float, reputation: float | None, policy: ThrottlePolicy
) -> int | None:
    """The tighter of the warm-up limit and the low-reputation cap (None: no cap). A domain
    without a reputation yet (no data) is capped by its warm-up only."""
    caps = [warmup_hourly_limit(age_days, policy)]
    if reputation is not None and reputation < policy.reputation_floor:
        caps.append(policy.low_reputation_per_hour)
    known = [cap for cap in caps if cap is not None]
    return min(known) if known else None


def adjust_rate_factor(factor: float, deferral_rate: float, policy: ThrottlePolicy) -> float:
    """The next send-rate factor of a route (1.0 = its configured rate) given the deferral
    rate of its recent window."""
    if deferral_rate > policy.deferral_threshold:
        return max(policy.min_rate_factor, factor * policy.slowdown_factor)
    return min(1.0, factor + policy.recovery_step)


def hard_stop_reason(
    sends: int, bounces: int, complaints: int, policy: ThrottlePolicy
) -> str | None:
    """Why a sender must be paused now, or None."""
    if sends < policy.stop_min_sends:
        return None
    if bounces / sends >= policy.bounce_stop_rate:
        return f"bounce rate {bounces / sends:.1%} reached {policy.bounce_stop_rate:.0%}"
    if complaints / sends >= policy.complaint_stop_rate:
        return f"complaint rate {complaints / sends:.2%} reached {policy.complaint_stop_rate:.1%}"
    return None
