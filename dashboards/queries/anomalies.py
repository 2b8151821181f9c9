"""Anomalies: each sender's hourly volume with the anomaly model's scores, the flagged
windows (runs of alerted hours) and the pauses they caused.

Volume comes from the contracted mart ``marts.send_volume_timeseries``; scores from the
product table ``anomaly_scores`` (written by the scoring asset) and pauses from
``paused_senders`` (written by the anomaly sensor, operators and thresholds): no mart holds
either (see pipelines/learning.py). A sender is an organization's sending domain in one
region cell: each cell scores its own series. Everything is the scope's organization,
regions and days; the campaign filter does not apply (series are per sender, not per
campaign). Active pauses are shown whatever the days: they hold mail now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from ..scope import Scope
from ..sources import Sources

BUCKET = timedelta(hours=1)  # the mart's and the model's grain
SOURCE_LABELS = {
    "anomaly_sensor": "Anomaly sensor",
    "operator": "Operator",
    "threshold": "Threshold",
}
SERIES_COLUMNS = [
    "region", "sending_domain", "bucket_start", "messages", "sends", "anomaly_score",
    "is_alert", "threshold", "model_name", "model_version",
]  # fmt: skip
WINDOW_COLUMNS = ["region", "sending_domain", "start", "end", "hours", "peak_score"]
PAUSE_COLUMNS = [
    "region", "pause_id", "sending_domain", "source", "reason", "first_alert", "paused_at",
    "resumed_at",
]  # fmt: skip

# Scores and volume joined both ways: a sender's hours with mail but no score yet (the
# hour still filling, scoring not run) and scored hours the marts have not built both show.
_SERIES = """
WITH scores AS (
    SELECT sending_domain, bucket_start, anomaly_score, is_alert, threshold, model_name,
           model_version
    FROM anomaly_scores
    WHERE org_id = %(org_id)s AND bucket_start >= %(since)s AND bucket_start < %(until)s
), volume AS (
    SELECT sending_domain, bucket_start, messages, sends
    FROM marts.send_volume_timeseries
    WHERE org_id = %(org_id)s AND queued_date BETWEEN %(start)s AND %(end)s
)
SELECT coalesce(s.sending_domain, v.sending_domain) AS sending_domain,
       coalesce(s.bucket_start, v.bucket_start) AS bucket_start,
       v.messages, v.sends, s.anomaly_score, s.is_alert, s.threshold, s.model_name,
       s.model_version
FROM scores AS s
FULL JOIN volume AS v
  ON v.sending_domain = s.sending_domain AND v.bucket_start = s.bucket_start
ORDER BY 1, 2
"""

_PAUSES = """
SELECT pause_id, sending_domain, source, reason, details ->> 'first_alert' AS first_alert,
       paused_at, resumed_at
FROM paused_senders
WHERE org_id = %(org_id)s
  AND (resumed_at IS NULL OR (paused_at < %(until)s AND resumed_at >= %(since)s))
ORDER BY paused_at
"""


def series(sources: Sources, scope: Scope) -> pd.DataFrame:
    """``SERIES_COLUMNS``: one row per sender and hour of the scope with mail or a score
    (times in UTC); volume columns are empty where the marts have no row, score columns
    where the model scored none."""
    frame = sources.region_frame(scope.regions, _SERIES, scope.params())
    if frame.empty:
        frame = pd.DataFrame(columns=SERIES_COLUMNS)
    # Typed even when empty: a column of objects would make the frame's filters misfire.
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    frame["is_alert"] = frame["is_alert"].eq(True).astype(bool)
    for column in ("messages", "sends", "anomaly_score", "threshold"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame[SERIES_COLUMNS]


def pauses(sources: Sources, scope: Scope) -> pd.DataFrame:
    """``PAUSE_COLUMNS``: pauses of the scope's senders in force during its days, and every
    pause in force now. ``first_alert`` is the sensor's first alerted hour (its details),
    empty for other sources."""
    frame = sources.region_frame(scope.regions, _PAUSES, scope.params())
    if frame.empty:
        frame = pd.DataFrame(columns=PAUSE_COLUMNS)
    for column in ("first_alert", "paused_at", "resumed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    return frame[PAUSE_COLUMNS]


def windows(scored: pd.DataFrame) -> pd.DataFrame:
    """``WINDOW_COLUMNS``: each sender's alerted hours merged into windows of consecutive
    hours (``end`` exclusive), oldest first."""
    alerted = scored[scored["is_alert"]].sort_values(["region", "sending_domain", "bucket_start"])
    if alerted.empty:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    step = alerted.groupby(["region", "sending_domain"])["bucket_start"].diff()
    alerted = alerted.assign(window=(step != pd.Timedelta(BUCKET)).cumsum())
    out = alerted.groupby("window").agg(
        region=("region", "first"),
        sending_domain=("sending_domain", "first"),
        start=("bucket_start", "min"),
        last=("bucket_start", "max"),
        hours=("bucket_start", "size"),
        peak_score=("anomaly_score", "max"),
    )
    out["end"] = out["last"] + pd.Timedelta(BUCKET)
    return out[WINDOW_COLUMNS].sort_values("start", ignore_index=True)


def link_pauses(found: pd.DataFrame, flagged: pd.DataFrame) -> pd.DataFrame:
    """``found`` pauses with the window that caused each sensor pause (``window_start``)
    and the time from its first alerted hour to the pause (``time_to_pause``). The window
    is the one holding the sensor's ``first_alert``; without it, the sender's latest window
    that began before the pause. Other sources' pauses have neither."""
    out = found.copy()
    starts = []
    for pause in found.itertuples(index=False):
        starts.append(_cause(pause, flagged) if pause.source == "anomaly_sensor" else pd.NaT)
    out["window_start"] = pd.to_datetime(pd.Series(starts, dtype="datetime64[ns, UTC]"))
    out["time_to_pause"] = out["paused_at"] - out["window_start"]
    out["source_label"] = out["source"].map(SOURCE_LABELS).fillna(out["source"])
    return out


def _cause(pause: Any, flagged: pd.DataFrame) -> pd.Timestamp:
    mine = flagged[
        (flagged["region"] == pause.region) & (flagged["sending_domain"] == pause.sending_domain)
    ]
    if pd.notna(pause.first_alert):
        holding = mine[(mine["start"] <= pause.first_alert) & (pause.first_alert < mine["end"])]
    else:
        holding = mine[mine["start"] <= pause.paused_at].tail(1)
    return holding["start"].iloc[0] if not holding.empty else pd.NaT


def paused_now(found: pd.DataFrame) -> int:
    """Senders paused at this moment (a sender has at most one pause in force)."""
    return int(found["resumed_at"].isna().sum())


def median_time_to_pause(linked: pd.DataFrame) -> timedelta | None:
    """The median time from a window's first alerted hour to the pause it caused."""
    times = linked["time_to_pause"].dropna()
    return None if times.empty else pd.Timedelta(times.median()).to_pytimedelta()


def hours_text(value: timedelta | None) -> str:
    """A duration as the page shows it: hours with one decimal."""
    return "–" if value is None else f"{value.total_seconds() / 3600:.1f} h"


def hours_texts(durations: pd.Series) -> pd.Series:
    """:func:`hours_text` of each duration (``–`` where there is none)."""
    return durations.map(lambda t: hours_text(None if pd.isna(t) else t.to_pytimedelta()))


def senders(scored: pd.DataFrame) -> list[tuple[str, str]]:
    """(region, sending_domain) of the series, most alerted hours first."""
    counts = scored.groupby(["region", "sending_domain"])["is_alert"].sum()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(str(region), str(domain)) for (region, domain), _ in ranked]
