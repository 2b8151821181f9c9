"""Rate limits per API key (or user) and per organization (:mod:`.window`), and the live
per-minute counters of sends, opens and clicks the dashboards read (:mod:`.counters`)."""

from .counters import LIVE_KINDS, LiveCounters, live_key, record_live
from .window import Decision, RateLimiter, retry_after_seconds

__all__ = [
    "LIVE_KINDS",
    "Decision",
    "LiveCounters",
    "RateLimiter",
    "live_key",
    "record_live",
    "retry_after_seconds",
]
