"""Pure decisions of a campaign send: who is held out, and when each recipient is sent to.

Holdout: a contact is held out when a hash of campaign and contact falls under the
campaign's ``holdout_share``; the hash is deterministic, so sending a campaign again keeps
the same contacts out, and independent of the contact's other attributes, so the holdout
group is a fair random sample of the eligible audience. What the group gets depends on the
send strategy (:func:`holdout_arm`): with send-time optimization it is sent at once, the
control arm the optimization is measured against; otherwise it gets nothing.

Send time: with optimization on, a recipient's message is scheduled at the next
occurrence, within 24 hours, of the time of day of their best slot from
``recipient_send_times``; without a score (or with a score the model itself flagged as a
cohort fallback) the message is sent at once, and the fallback is reported.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

_SCALE = float(2**64)


def holdout_bucket(campaign_id: uuid.UUID, contact_id: uuid.UUID) -> float:
    """A number in [0, 1) fixed for the pair: the first 8 bytes of SHA-256 of both ids."""
    digest = hashlib.sha256(campaign_id.bytes + contact_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def is_held_out(campaign_id: uuid.UUID, contact_id: uuid.UUID, share: float) -> bool:
    """True when the contact belongs to the campaign's holdout group of ``share``."""
    return share > 0 and holdout_bucket(campaign_id, contact_id) < share


NOT_SENT = "not_sent"  # the holdout gets nothing: measures the campaign
SENT_UNOPTIMIZED = "sent_unoptimized"  # sent at once: measures send-time optimization


def holdout_arm(send_strategy: str) -> str:
    """What a campaign of ``send_strategy`` does with its holdout group (the ``arm`` of
    ``campaign_holdouts``)."""
    return SENT_UNOPTIMIZED if send_strategy == "optimal" else NOT_SENT


@dataclass(frozen=True)
class SendTime:
    scheduled_at: datetime | None  # None: now
    fallback: bool  # no usable optimal time: sent now


def next_optimal_time(best_slot: datetime | None, model_fallback: bool, now: datetime) -> SendTime:
    """When to send to a recipient whose best slot is ``best_slot`` (any day; its time of
    day counts), as of ``now``; the answer lies in [now, now + 24 h)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if best_slot is None:
        return SendTime(None, fallback=True)
    slot = best_slot.astimezone(now.tzinfo)
    candidate = now.replace(
        hour=slot.hour, minute=slot.minute, second=slot.second, microsecond=slot.microsecond
    )
    if candidate < now:
        candidate += timedelta(days=1)
    return SendTime(candidate, fallback=model_fallback)
