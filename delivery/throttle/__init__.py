"""Throttling: shared token buckets in Redis and the limits of a sending domain (warm-up,
reputation, deferral slow-down, hard stops)."""

from .buckets import Grant, Take, TokenBuckets
from .limits import (
    ThrottlePolicy,
    adjust_rate_factor,
    domain_hourly_cap,
    hard_stop_reason,
    warmup_hourly_limit,
)

__all__ = [
    "Grant",
    "Take",
    "ThrottlePolicy",
    "TokenBuckets",
    "adjust_rate_factor",
    "domain_hourly_cap",
    "hard_stop_reason",
    "warmup_hourly_limit",
]
