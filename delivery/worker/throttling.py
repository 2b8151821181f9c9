"""How fast the worker may send, shared through Redis and kept per worker where it is
local knowledge.

- Token buckets (Redis, shared by every worker): one per destination provider, one per
  route (its configured rate times the route's AIMD factor) and, while a sending domain is
  capped (warm-up, low reputation), one per sending domain.
- Sender volume over the last hour (Redis, per-minute counters): what the routing matrix
  compares with the primary route's limit.
- AIMD per route: the deferral rate of each window of outcomes cuts the route's rate or
  lets it recover (``adjust_rate_factor``).
- Hard stops (Redis, per-minute counters over the last hour, shared by every worker and
  the inbound listener): a sender whose bounce rate (the workers' SMTP bounces) or
  complaint rate (ARF reports the listener counts with :func:`count_complaint`) reaches the
  policy's limit is paused (``paused_senders``, source ``threshold``); paused senders,
  whoever paused them, wait.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis

from delivery.routing import Route
from delivery.smtp import SmtpOutcome
from delivery.throttle import (
    Grant,
    Take,
    ThrottlePolicy,
    TokenBuckets,
    adjust_rate_factor,
    domain_hourly_cap,
    hard_stop_reason,
)

from .store import DomainFacts

Sender = tuple[uuid.UUID, str]  # (org, sending domain)
VOLUME_CACHE_SECONDS = 1.0
STOP_COUNTS_CACHE_SECONDS = 1.0
AIMD_WINDOW = 50
WINDOW_MINUTES = 60
KEY_TTL_SECONDS = 3700


def _sender_key(prefix: str, what: str, sender: Sender, minute: int) -> str:
    return f"{prefix}:{what}:{sender[0]}:{sender[1]}:{minute}"


def _count(client: redis.Redis, prefix: str, what: str, sender: Sender) -> None:
    key = _sender_key(prefix, what, sender, int(time.time() // 60))
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, KEY_TTL_SECONDS)
    pipe.execute()


def _last_hour(client: redis.Redis, prefix: str, what: str, sender: Sender) -> int:
    minute = int(time.time() // 60)
    keys = [
        _sender_key(prefix, what, sender, m) for m in range(minute - WINDOW_MINUTES + 1, minute + 1)
    ]
    return sum(int(v) for v in client.mget(keys) if v is not None)


def count_complaint(client: redis.Redis, prefix: str, sender: Sender) -> None:
    """Count one complaint against ``sender``'s hard-stop window (what the inbound listener
    does for each new ARF report); ``prefix`` is the workers' (``DATABASE_PREFIX``)."""
    _count(client, prefix, "complaints", sender)


def complaints_last_hour(client: redis.Redis, prefix: str, sender: Sender) -> int:
    """Complaints counted against ``sender`` over the last hour."""
    return _last_hour(client, prefix, "complaints", sender)


@dataclass
class _RouteWindow:
    factor: float = 1.0
    outcomes: int = 0
    deferrals: int = 0


@dataclass
class Throttle:
    """The worker's throttling state; thread-safe."""

    client: redis.Redis
    prefix: str
    policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    provider_rate_per_second: float = 200.0

    def __post_init__(self) -> None:
        self.buckets = TokenBuckets(self.client, self.prefix)
        self._lock = threading.Lock()
        self._facts: dict[str, tuple[float, DomainFacts]] = {}
        self._routes: dict[str, _RouteWindow] = {}
        self._stop_counts: dict[Sender, tuple[float, int, int]] = {}
        self._volumes: dict[Sender, tuple[float, int]] = {}
        self.paused: set[Sender] = set()

    # --- domain facts and pauses, refreshed by the worker from the database -------------
    def stale_domains(self, domains: Iterable[str], max_age_seconds: float = 300) -> set[str]:
        now = time.monotonic()
        with self._lock:
            return {
                d for d in domains if now - self._facts.get(d, (-1e9, None))[0] > max_age_seconds
            }

    def learn_domains(self, facts: Mapping[str, DomainFacts]) -> None:
        now = time.monotonic()
        with self._lock:
            self._facts.update({domain: (now, fact) for domain, fact in facts.items()})

    def set_paused(self, senders: Iterable[Sender]) -> None:
        with self._lock:
            self.paused = set(senders)

    def is_paused(self, sender: Sender) -> bool:
        with self._lock:
            return sender in self.paused

    # --- tokens -------------------------------------------------------------------------
    def takes(self, route: Route, provider: str, domain: str) -> list[Take]:
        """The buckets one message through ``route`` to ``provider`` from ``domain`` needs."""
        with self._lock:
            factor = self._routes.get(route.name, _RouteWindow()).factor
            fact = self._facts.get(domain)
        rate = route.rate_per_second * factor
        takes = [
            Take(
                "provider", provider, self.provider_rate_per_second, self.provider_rate_per_second
            ),
            Take("route", route.name, rate, max(1.0, rate)),
        ]
        if fact is not None:
            cap = domain_hourly_cap(fact[1].age_days, fact[1].reputation, self.policy)
            if cap is not None:
                per_second = cap / 3600
                # A minute's worth of burst, at least one message.
                takes.append(Take("domain", domain, per_second, max(1.0, cap / 60)))
        return takes

    def take(self, takes: list[Take]) -> Grant:
        return self.buckets.take_all(takes)

    # --- sender volume ------------------------------------------------------------------
    def count_send(self, sender: Sender) -> None:
        _count(self.client, self.prefix, "volume", sender)

    def count_sends(self, senders: Iterable[Sender]) -> None:
        """Count a batch of sends, each sender's at once, in one Redis round trip."""
        per_sender: dict[Sender, int] = {}
        for sender in senders:
            per_sender[sender] = per_sender.get(sender, 0) + 1
        if not per_sender:
            return
        minute = int(time.time() // 60)
        pipe = self.client.pipeline(transaction=False)
        for sender, n in per_sender.items():
            key = _sender_key(self.prefix, "volume", sender, minute)
            pipe.incrby(key, n)
            pipe.expire(key, KEY_TTL_SECONDS)
        pipe.execute()

    def volume_last_hour(self, sender: Sender) -> int:
        """Messages the sender sent over the last hour, by every worker (cached briefly)."""
        now = time.monotonic()
        with self._lock:
            cached = self._volumes.get(sender)
        if cached is not None and now - cached[0] < VOLUME_CACHE_SECONDS:
            return cached[1]
        total = _last_hour(self.client, self.prefix, "volume", sender)
        with self._lock:
            self._volumes[sender] = (now, total)
        return total

    def stop_counts(self, sender: Sender) -> tuple[int, int, int]:
        """(sends, bounces, complaints) of the sender over the last hour, by every worker
        and the inbound listener (cached briefly)."""
        now = time.monotonic()
        with self._lock:
            cached = self._stop_counts.get(sender)
        if cached is not None and now - cached[0] < STOP_COUNTS_CACHE_SECONDS:
            bounces, complaints = cached[1], cached[2]
        else:
            bounces = _last_hour(self.client, self.prefix, "bounces", sender)
            complaints = complaints_last_hour(self.client, self.prefix, sender)
            with self._lock:
                self._stop_counts[sender] = (now, bounces, complaints)
        return self.volume_last_hour(sender), bounces, complaints

    # --- outcomes -----------------------------------------------------------------------
    def note_outcome(self, route: str, sender: Sender, outcome: SmtpOutcome) -> str | None:
        """Feed one SMTP outcome to the route's AIMD window and the sender's hard-stop
        window; returns why the sender must be paused now, or None. Makes Redis calls (a
        counter on a bounce, the window's totals at most once a second per sender)."""
        with self._lock:
            window = self._routes.setdefault(route, _RouteWindow())
            window.outcomes += 1
            window.deferrals += outcome.status == "deferred"
            if window.outcomes >= AIMD_WINDOW:
                rate = window.deferrals / window.outcomes
                window.factor = adjust_rate_factor(window.factor, rate, self.policy)
                window.outcomes = window.deferrals = 0
        if outcome.status == "bounced":
            _count(self.client, self.prefix, "bounces", sender)
            with self._lock:
                self._stop_counts.pop(sender, None)
        sends, bounces, complaints = self.stop_counts(sender)
        return hard_stop_reason(sends, bounces, complaints, self.policy)

    def rate_factor(self, route: str) -> float:
        with self._lock:
            return self._routes.get(route, _RouteWindow()).factor
