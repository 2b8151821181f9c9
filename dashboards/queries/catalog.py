"""What the filters offer: the organization's name and campaigns, and its newest data."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd

from ..sources import NotBuiltYet, Sources


def organization_name(sources: Sources, org_id: uuid.UUID) -> str:
    frame = sources.frame("control", "SELECT name FROM orgs WHERE org_id = %s", (org_id,))
    return str(frame.iloc[0]["name"]) if not frame.empty else str(org_id)


def campaigns(sources: Sources, org_id: uuid.UUID) -> pd.DataFrame:
    """campaign_id, name, campaign_type, send_strategy, holdout_share, created_at: newest
    first."""
    return sources.frame(
        "control",
        "SELECT campaign_id, name, campaign_type, send_strategy, holdout_share, created_at "
        "FROM campaigns WHERE org_id = %s ORDER BY created_at DESC, name",
        (org_id,),
    )


def newest_day(sources: Sources, org_id: uuid.UUID) -> date | None:
    """The newest day with mail of the organization in the marts of any region (None
    before the marts are built)."""
    try:
        frame = sources.region_frame(
            sources.regions,
            "SELECT max(queued_date) AS newest FROM marts.campaign_daily WHERE org_id = %s",
            (org_id,),
        )
    except NotBuiltYet:
        return None
    days = frame["newest"].dropna() if "newest" in frame else pd.Series(dtype=object)
    return max(days) if not days.empty else None


def unbuilt_regions(sources: Sources, regions: tuple[str, ...]) -> list[str]:
    """The regions among ``regions`` whose cell has no marts yet (dbt never built there)."""
    missing = []
    for region in regions:
        frame = sources.frame(region, "SELECT to_regclass('marts.campaign_daily') AS mart")
        if frame.empty or frame.iloc[0]["mart"] is None:
            missing.append(region)
    return missing
