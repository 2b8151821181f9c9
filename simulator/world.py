"""The synthetic world: recipients with latent behaviour, and the sender's campaign plan.

Everything is a pure function of (seed, index): recipient ``i`` is identical whether it
is generated alone or in any batch, and the campaign schedule depends only on the seed,
start and number of days. No database, network or files.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from . import _random
from .calibration import VARIANT_EFFECT_SPREAD
from .recipients import build_batch, signup_offsets_days
from .schedule import CampaignPlan, build_schedule

__all__ = ["CampaignPlan", "Recipient", "World"]

_BATCH = 4096


@dataclass(frozen=True, slots=True)
class Recipient:
    """One contact of the world: observable attributes plus latent behaviour.

    Latent fields (engagement, activity_peaks, weekend_factor, affinities, propensities,
    apple_mpp, scanned_links, address status) are ground truth for evaluation; the product
    must infer them from events.
    """

    index: int
    contact_id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    country: str
    time_zone: str
    locale: str
    provider: str
    email_domain: str
    device: str
    apple_mpp: bool
    scanned_links: bool
    engagement: float
    activity_peaks: tuple[tuple[float, float, float], ...]
    weekend_factor: float
    variant_affinity: Mapping[str, float]
    topic_affinity: Mapping[str, float]
    address_status: str
    complaint_propensity: float
    unsubscribe_propensity: float
    created_at_offset_days: float
    # Additions beyond the brief's list.
    region: str  # Postwise cell: "na", "eu", "apac"
    mailbox_host: str  # server family answering SMTP: "google", "microsoft365", ...
    signed_up_at: datetime
    mailbox_full_from: datetime | None  # an abandoned mailbox fills up before deletion
    mailbox_deleted_at: datetime | None  # list decay: the address hard-bounces from then on

    def status_at(self, when: datetime) -> str:
        """Address status at ``when``: "valid", "invalid" (5.1.1) or "full" (4.2.2/5.2.2)."""
        if self.address_status != "valid":
            return self.address_status
        if self.mailbox_deleted_at is not None and when >= self.mailbox_deleted_at:
            return "invalid"
        if self.mailbox_full_from is not None and when >= self.mailbox_full_from:
            return "full"
        return "valid"


class World:
    """A deterministic world of ``n_contacts`` recipients and ``days`` of campaign plans."""

    def __init__(self, seed: int, n_contacts: int, start: datetime, days: int) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if n_contacts < 0 or days <= 0:
            raise ValueError("n_contacts must be >= 0 and days > 0")
        self.seed = seed
        self.n_contacts = n_contacts
        self.start = start.astimezone(UTC)
        self.days = days
        self.end = self.start + timedelta(days=days)
        self.seed_key = _random.key(seed, 0x5EED)
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://postwise.dev/sim/{seed}")
        self._variant_effects = _world_variant_effects(self.seed_key)
        self._campaigns: list[CampaignPlan] | None = None
        self._signups: np.ndarray | None = None

    def recipient(self, index: int) -> Recipient:
        """Recipient ``index`` (0 <= index < n_contacts)."""
        if not 0 <= index < self.n_contacts:
            raise IndexError(index)
        return next(self.recipients(index, index + 1))

    def recipients(self, start: int = 0, stop: int | None = None) -> Iterator[Recipient]:
        """Stream recipients ``start..stop-1``, generated in vectorised batches."""
        stop = self.n_contacts if stop is None else min(stop, self.n_contacts)
        for lo in range(max(start, 0), stop, _BATCH):
            indices = np.arange(lo, min(lo + _BATCH, stop))
            for fields in build_batch(self, indices):
                yield Recipient(**fields)

    def contact_id(self, index: int) -> uuid.UUID:
        """The deterministic contact id of recipient ``index``."""
        return uuid.uuid5(self._namespace, str(index))

    def campaigns(self) -> list[CampaignPlan]:
        """Marketing, triggered and transactional plans over [start, end), by send time."""
        if self._campaigns is None:
            self._campaigns = build_schedule(self)
        return list(self._campaigns)

    def signed_up_at_hours(self) -> np.ndarray:
        """Sign-up time of every recipient, in hours since the Unix epoch (cached)."""
        if self._signups is None:
            offsets = signup_offsets_days(self, np.arange(self.n_contacts))
            self._signups = self.end.timestamp() / 3600.0 - offsets * 24.0
        return self._signups

    def audience(self, plan: CampaignPlan) -> np.ndarray:
        """Indices of the recipients ``plan`` targets (signed up in time), vectorised."""
        return plan.audience(self.signed_up_at_hours())

    def variant_effect(self, variant: str) -> float:
        """World-level log effect of a content variant (shared by every recipient)."""
        return self._variant_effects.get(variant, 0.0)


def _world_variant_effects(seed_key: int) -> dict[str, float]:
    """Log-lifts of variants A/B/C for this world: mostly near 0, sometimes large (§6)."""
    effects = {}
    for i, v in enumerate(("A", "B", "C")):
        u1, u2 = _random.unit(seed_key, 77, i, 1), _random.unit(seed_key, 77, i, 2)
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        effects[v] = 0.0 if v == "A" else VARIANT_EFFECT_SPREAD.value * z
    return effects
