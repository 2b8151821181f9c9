"""Overview: the scope's totals and rates (from ``marts.campaign_daily``), their daily
trend, and the live per-minute counters in Redis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from warehouse.live import LIVE_KINDS, read_live

from ..scope import CAMPAIGN_FILTER, Scope
from ..sources import Sources

COUNTS = (
    "sent", "delivered", "unique_human_opens", "unique_human_clicks", "hard_bounces",
    "soft_bounces", "complaints", "unsubscribes",
)  # fmt: skip


@dataclass(frozen=True)
class Totals:
    """Counts over a scope; rates are per delivered message (per sent for delivery)."""

    sent: int = 0
    delivered: int = 0
    unique_human_opens: int = 0
    unique_human_clicks: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def open_rate(self) -> float | None:
        return self.unique_human_opens / self.delivered if self.delivered else None

    @property
    def click_rate(self) -> float | None:
        return self.unique_human_clicks / self.delivered if self.delivered else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.delivered if self.delivered else None


_DAILY = f"""
SELECT queued_date AS day, {", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)}
FROM marts.campaign_daily
WHERE org_id = %(org_id)s AND queued_date BETWEEN %(start)s AND %(end)s
  AND {CAMPAIGN_FILTER}
GROUP BY queued_date
"""


def daily(sources: Sources, scope: Scope) -> pd.DataFrame:
    """One row per day of the scope with mail: the counts of ``COUNTS``, all regions
    added up, oldest first."""
    frame = sources.region_frame(scope.regions, _DAILY, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["day", *COUNTS])
    out = frame.groupby("day", as_index=False)[list(COUNTS)].sum().sort_values("day")
    out[list(COUNTS)] = out[list(COUNTS)].astype("int64")
    return out.reset_index(drop=True)


def totals(sources: Sources, scope: Scope) -> Totals:
    """The scope's counts added up."""
    frame = daily(sources, scope)
    return Totals(**{c: int(frame[c].sum()) for c in COUNTS})


def with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """``daily`` with delivery, open and click rates per day."""
    out = frame.copy()
    sent = out["sent"].where(out["sent"] > 0)
    delivered = out["delivered"].where(out["delivered"] > 0)
    out["delivery_rate"] = out["delivered"] / sent
    out["open_rate"] = out["unique_human_opens"] / delivered
    out["click_rate"] = out["unique_human_clicks"] / delivered
    return out


def live_counts(
    sources: Sources, org_id: uuid.UUID, minutes: int = 60, now: float | None = None
) -> pd.DataFrame:
    """minute (UTC), kind (sent, opened, clicked), count: the organization's last
    ``minutes`` minutes from Redis; empty without Redis."""
    if sources.redis is None:
        return pd.DataFrame(columns=["minute", "kind", "count"])
    rows = [
        (datetime.fromtimestamp(start, UTC), kind, count)
        for kind in LIVE_KINDS
        for start, count in read_live(sources.redis, sources.prefix, kind, org_id, minutes, now=now)
    ]
    return pd.DataFrame(rows, columns=["minute", "kind", "count"])
