"""Engagement: open-rate decay per signup cohort (``marts.engagement_decay``), human opens by
UTC hour and weekday (``marts.message_outcomes``), send-time optimization's uplift against
its holdout, and content variants with the bandit's allocation (``marts.variant_exposures``).

The uplift reads the product tables ``campaign_holdouts`` (which arm a contact was in; no
mart carries it) and ``contacts`` (erased contacts leave both arms: their holdout rows are
deleted by the erasure cascade, their pseudonymized messages are kept), joined with
``marts.message_outcomes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..scope import Scope
from ..sources import Sources

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
HORIZON_HOURS = 24  # an open counts for the uplift when it comes this soon after delivery
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CAMPAIGN = "(%(campaign_id)s::uuid IS NULL OR o.campaign_id = %(campaign_id)s::uuid)"


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (0 trials: the whole of [0, 1])."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    denominator = 1 + z * z / trials
    return (centre - spread) / denominator, (centre + spread) / denominator


def newcombe_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) of p_a - p_b, from both Wilson
    intervals: unlike Wald's it stays inside [-1, 1] and holds up at small counts."""
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    low_a, high_a = wilson_interval(successes_a, trials_a, z)
    low_b, high_b = wilson_interval(successes_b, trials_b, z)
    difference = p_a - p_b
    return (
        difference - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
        difference + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2),
    )


_DECAY = """
SELECT signup_month, curve, week_index, sum(delivered)::bigint AS delivered,
       sum(opened)::bigint AS opened
FROM marts.engagement_decay WHERE org_id = %(org_id)s
GROUP BY signup_month, curve, week_index
"""


def decay(sources: Sources, scope: Scope) -> pd.DataFrame:
    """signup_month, curve, week_index, delivered, opened, open_rate over the scope's
    regions. The mart covers the whole history and every campaign: days and campaign do not
    apply."""
    frame = sources.region_frame(scope.regions, _DECAY, scope.params())
    columns = ["signup_month", "curve", "week_index", "delivered", "opened"]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "open_rate"])
    keys = ["signup_month", "curve", "week_index"]
    out = frame.groupby(keys, as_index=False)[["delivered", "opened"]].sum()
    out["open_rate"] = out["opened"] / out["delivered"].where(out["delivered"] > 0)
    out["signup_month"] = pd.to_datetime(out["signup_month"]).dt.strftime("%Y-%m")
    return out.sort_values(keys).reset_index(drop=True)


_OPENS = f"""
SELECT extract(isodow FROM first_human_open_at AT TIME ZONE 'UTC')::int - 1 AS weekday,
       extract(hour FROM first_human_open_at AT TIME ZONE 'UTC')::int AS hour,
       count(*)::bigint AS opens
FROM marts.message_outcomes o
WHERE org_id = %(org_id)s AND queued_date BETWEEN %(start)s AND %(end)s AND {_CAMPAIGN}
  AND first_human_open_at IS NOT NULL
GROUP BY 1, 2
"""


def open_hours(sources: Sources, scope: Scope) -> pd.DataFrame:
    """weekday (Mon..Sun), hour (UTC, 0-23), opens: first human opens of the scope's
    messages (queued in its days) by when they came, in UTC."""
    frame = sources.region_frame(scope.regions, _OPENS, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["weekday", "hour", "opens"])
    out = frame.groupby(["weekday", "hour"], as_index=False)["opens"].sum()
    out["weekday"] = [WEEKDAYS[int(day)] for day in out["weekday"]]
    return out.astype({"hour": "int64", "opens": "int64"})


def best_hour(hours: pd.DataFrame) -> int | None:
    """The UTC hour with the most first human opens over all weekdays (earliest on ties)."""
    if hours.empty:
        return None
    by_hour = hours.groupby("hour")["opens"].sum()
    return int(by_hour[by_hour == by_hour.max()].index.min())


_ARMS = f"""
SELECT o.campaign_id,
       CASE WHEN h.arm = 'sent_unoptimized' THEN 'holdout' ELSE 'optimized' END AS arm,
       count(*)::bigint AS delivered,
       count(*) FILTER (WHERE o.first_human_open_at < o.delivered_at
                                          + make_interval(hours => %(horizon)s::int))::bigint
           AS opened
FROM marts.message_outcomes o
LEFT JOIN campaign_holdouts h ON h.campaign_id = o.campaign_id AND h.contact_id = o.contact_id
WHERE o.org_id = %(org_id)s AND o.queued_date BETWEEN %(start)s AND %(end)s AND {_CAMPAIGN}
  AND o.delivered_at IS NOT NULL
  -- Both arms get the whole horizon to open: younger deliveries wait.
  AND o.delivered_at <= now() - make_interval(hours => %(horizon)s::int)
  AND o.campaign_id IN (SELECT campaign_id FROM campaign_holdouts
                        WHERE org_id = %(org_id)s AND arm = 'sent_unoptimized')
  AND NOT EXISTS (SELECT 1 FROM contacts c
                  WHERE c.contact_id = o.contact_id AND c.status = 'erased')
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Uplift:
    """Human open rates within ``HORIZON_HOURS`` of delivery of both arms of a campaign."""

    delivered_optimized: int
    opened_optimized: int
    delivered_holdout: int
    opened_holdout: int

    @property
    def measurable(self) -> bool:
        return self.delivered_optimized > 0 and self.delivered_holdout > 0

    @property
    def optimized_rate(self) -> float:
        return self.opened_optimized / self.delivered_optimized

    @property
    def holdout_rate(self) -> float:
        return self.opened_holdout / self.delivered_holdout

    @property
    def uplift(self) -> float:
        return self.optimized_rate - self.holdout_rate

    def interval(self) -> tuple[float, float]:
        """The 95% Newcombe hybrid score interval of the uplift."""
        return newcombe_interval(
            self.opened_optimized,
            self.delivered_optimized,
            self.opened_holdout,
            self.delivered_holdout,
        )


def uplifts(sources: Sources, scope: Scope) -> pd.DataFrame:
    """One row per campaign of the scope with a send-time holdout and delivered mail in
    both arms: campaign_id, name, the messages and human opens (within 24 h) of each arm,
    their rates, the uplift (optimized minus holdout) and its 95% interval, best first."""
    params = {**scope.params(), "horizon": HORIZON_HOURS}
    frame = sources.region_frame(scope.regions, _ARMS, params)
    columns = [
        "campaign_id", "name", "delivered_optimized", "delivered_holdout", "opened_optimized",
        "opened_holdout", "optimized_rate", "holdout_rate", "uplift", "low", "high",
    ]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.pivot_table(
        index="campaign_id", columns="arm", values=["delivered", "opened"], aggfunc="sum"
    ).fillna(0)
    names = _campaign_names(sources, scope)
    rows = []
    for campaign_id, row in counts.iterrows():
        arms = Uplift(
            int(row.get(("delivered", "optimized"), 0)),
            int(row.get(("opened", "optimized"), 0)),
            int(row.get(("delivered", "holdout"), 0)),
            int(row.get(("opened", "holdout"), 0)),
        )
        if not arms.measurable:
            continue
        low, high = arms.interval()
        rows.append(
            [campaign_id, names.get(str(campaign_id), str(campaign_id)),
             arms.delivered_optimized, arms.delivered_holdout, arms.opened_optimized,
             arms.opened_holdout, arms.optimized_rate, arms.holdout_rate, arms.uplift,
             low, high]
        )  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["uplift", "name"], ascending=[False, True]).reset_index(drop=True)


def _campaign_names(sources: Sources, scope: Scope) -> dict[str, str]:
    frame = sources.frame(
        "control", "SELECT campaign_id, name FROM campaigns WHERE org_id = %s", (scope.org_id,)
    )
    return {str(row.campaign_id): str(row.name) for row in frame.itertuples()}


_VARIANTS = f"""
SELECT variant, count(*)::bigint AS exposures, count(*) FILTER (WHERE clicked)::bigint AS clicks,
       sum(1.0 / variant_probability) FILTER (WHERE variant_probability > 0)::float AS weight,
       sum(1.0 / variant_probability)
           FILTER (WHERE variant_probability > 0 AND clicked)::float AS weighted_clicks
FROM marts.variant_exposures o
WHERE org_id = %(org_id)s AND delivered AND exposed_at >= %(since)s AND exposed_at < %(until)s
  AND {_CAMPAIGN}
GROUP BY variant
"""


def variants(sources: Sources, scope: Scope) -> pd.DataFrame:
    """variant, exposures (delivered messages carrying it), clicks (human), click_rate, and
    ips_click_rate: the self-normalized inverse-propensity (Hájek) estimate, each exposure
    weighted 1 / P(variant at assignment), of the click rate had everyone got the variant;
    the best estimate first. Exposures without a probability count only in click_rate."""
    frame = sources.region_frame(scope.regions, _VARIANTS, scope.params())
    columns = ["variant", "exposures", "clicks", "click_rate", "ips_click_rate"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    sums = ["exposures", "clicks", "weight", "weighted_clicks"]
    out = frame.fillna({"weight": 0.0, "weighted_clicks": 0.0})
    out = out.groupby("variant", as_index=False)[sums].sum()
    out["click_rate"] = out["clicks"] / out["exposures"]
    out["ips_click_rate"] = out["weighted_clicks"] / out["weight"].where(out["weight"] > 0)
    out = out.sort_values(["ips_click_rate", "variant"], ascending=[False, True])
    return out[columns].astype({"exposures": "int64", "clicks": "int64"}).reset_index(drop=True)


_ALLOCATION = f"""
SELECT (exposed_at AT TIME ZONE 'UTC')::date AS day, variant, count(*)::bigint AS messages
FROM marts.variant_exposures o
WHERE org_id = %(org_id)s AND delivered AND exposed_at >= %(since)s AND exposed_at < %(until)s
  AND {_CAMPAIGN}
GROUP BY 1, 2
"""


def allocation(sources: Sources, scope: Scope) -> pd.DataFrame:
    """day (UTC, of delivery), variant, messages, share: how the delivered messages of each
    day were split over the variants."""
    frame = sources.region_frame(scope.regions, _ALLOCATION, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["day", "variant", "messages", "share"])
    out = frame.groupby(["day", "variant"], as_index=False)["messages"].sum()
    out["share"] = out["messages"] / out.groupby("day")["messages"].transform("sum")
    out["day"] = pd.to_datetime(out["day"])
    return out.sort_values(["day", "variant"]).reset_index(drop=True)
