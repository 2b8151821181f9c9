"""What a page shows: one organization (the viewer's, never chosen), optionally one
campaign, some regions and a range of UTC days; and the period just before it, which
headline numbers are compared with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

# SQL keeping rows of the chosen campaign (every campaign when none), with Scope.params().
CAMPAIGN_FILTER = "(%(campaign_id)s::uuid IS NULL OR campaign_id = %(campaign_id)s::uuid)"


@dataclass(frozen=True)
class Scope:
    org_id: uuid.UUID
    regions: tuple[str, ...]
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    campaign_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        """Start of the first day (UTC)."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """End of the last day (UTC, exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def previous(self) -> Scope:
        """The same number of days just before this range."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
        )

    def params(self) -> dict[str, object]:
        """Named SQL parameters: org_id, campaign_id, start, end (dates, inclusive), since,
        until (timestamps, end exclusive)."""
        return {
            "org_id": self.org_id,
            "campaign_id": self.campaign_id,
            "start": self.start,
            "end": self.end,
            "since": self.since,
            "until": self.until,
        }
