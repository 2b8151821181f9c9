"""From input frames to the numeric series the detectors see.

Two kinds of input:

- a sender series from the mart ``marts.send_volume_timeseries`` (counts per hour):
  ``sender_features`` turns it into volume, the open rate, and, for messages to new
  destination countries, deferrals, bounces, complaints and each attachment type, how
  unusual the hour's count is at the sender's recent rate, on a regular hourly grid;
- any other frame of numeric columns indexed by time (``numeric_frame`` checks it): used
  as is, whatever its cadence.

Every transform here is causal: a feature row depends only on input rows at or before its
time, so scoring a prefix gives the prefix of the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import nbinom

SENDER_COUNT_COLUMNS = (
    "messages",
    "deliveries",
    "deferrals",
    "bounces",
    "hard_bounces",
    "complaints",
    "human_opens",
    "destination_countries",
    "new_country_messages",
    "messages_with_attachments",
    "pdf_attachments",
    "zip_attachments",
    "exe_attachments",
    "other_attachments",
)
SENDER_KEYS = ("org_id", "sending_domain")
TIMESTAMP_NAMES = ("bucket_start", "timestamp")
# Pseudo-messages at the sender's recent rate added to each hour: an hour with 3 messages
# and 1 bounce is not a 33 % bounce rate (empirical-Bayes shrinkage).
PRIOR_MESSAGES = 20.0
PRIOR_HALFLIFE_STEPS = 168
# A sender that never attached an executable still "expects" one every thousand hours, so
# its first one is surprising (z ~ 3.3) but finite.
MIN_EXPECTED_EVENTS = 1e-3
MAX_EXCESS = 8.0
# A sender's rate is not the same in every hour: each campaign goes to another audience.
# Counts are negative binomial around the recent rate, with this relative spread of the
# rate itself (the Poisson limit at 0), so ordinary campaign-to-campaign variation at
# high volume is not read as an incident.
RATE_DISPERSION = 0.5


class InputError(ValueError):
    """The input frame cannot be read as a time series of numbers; the message says why."""


def is_sender_frame(frame: pd.DataFrame) -> bool:
    """True when ``frame`` has the mart's count columns (derive sender features from it)."""
    return all(c in frame.columns for c in SENDER_COUNT_COLUMNS)


def time_indexed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by a UTC ``DatetimeIndex``, sorted, duplicates refused.

    The time is the index if it already is one, else a column named ``bucket_start`` or
    ``timestamp``, else the first column.
    """
    if isinstance(frame.index, pd.DatetimeIndex):
        out = frame.copy()
    else:
        names = [c for c in TIMESTAMP_NAMES if c in frame.columns]
        if not len(frame.columns):
            raise InputError("the input has no columns")
        column = names[0] if names else frame.columns[0]
        stamps = parse_timestamps(frame[column])
        out = frame.drop(columns=[column]).set_index(stamps)
    if out.index.tz is None:
        out.index = out.index.tz_localize("UTC")
    if out.index.has_duplicates:
        raise InputError(f"duplicate timestamp {out.index[out.index.duplicated()][0]}")
    return out.sort_index()


def parse_timestamps(values: pd.Series) -> pd.DatetimeIndex:
    """UTC timestamps from a column (naive ones are taken as UTC); unreadable ones refused."""
    try:
        stamps = pd.to_datetime(values, utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"column {values.name!r} does not hold timestamps: {exc}") from None
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise InputError(f"column {values.name!r} has an empty timestamp at data row {row + 1}")
    return pd.DatetimeIndex(stamps, name="timestamp")


def numeric_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` time-indexed with float columns; any non-numeric column is an error."""
    out = time_indexed(frame)
    if out.shape[1] == 0:
        raise InputError("the input has a timestamp but no numeric columns")
    bad = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])]
    if bad:
        converted = out[bad].apply(pd.to_numeric, errors="coerce")
        really_bad = [c for c in bad if converted[c].isna().gt(out[c].isna()).any()]
        if really_bad:
            raise InputError(f"non-numeric columns: {', '.join(map(str, really_bad))}")
        out[bad] = converted
    return out.astype(float)


def hourly_counts(frame: pd.DataFrame, *, freq: str = "h") -> pd.DataFrame:
    """A sender's mart counts on a regular grid (hours without mail: zeros), time-indexed."""
    counts = time_indexed(frame)
    missing = [c for c in SENDER_COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise InputError(f"sender frame lacks columns: {', '.join(missing)}")
    names = [c for c in counts.columns if c in SENDER_COUNT_COLUMNS or c == "sends"]
    counts = counts[names].apply(pd.to_numeric, errors="coerce").fillna(0)
    if len(counts):
        grid = pd.date_range(counts.index[0], counts.index[-1], freq=freq, name="timestamp")
        counts = counts.reindex(grid.union(counts.index), fill_value=0.0)
    return counts


def sender_features(frame: pd.DataFrame, *, freq: str = "h") -> pd.DataFrame:
    """Volume, rates and mixes of one sender's mart rows, on a regular ``freq`` grid.

    The mart has a row only for hours with mail, so missing hours are filled with zero
    counts (silence is information too). Each rate is compared with the sender's own recent
    rate (exponentially weighted over past hours only): new-country messages, outcomes and
    attachment types as a negative-binomial normal score (``_excess``), the frequent opens
    as a rate shrunk by ``PRIOR_MESSAGES`` pseudo-messages.
    """
    counts = hourly_counts(frame, freq=freq)
    m, d = counts["messages"], counts["deliveries"]
    out = pd.DataFrame(index=counts.index)
    out["log_messages"] = np.log1p(m)
    out["open_rate"] = _shrunk_rate(counts["human_opens"], d)
    out["new_country_excess"] = _excess(counts["new_country_messages"], m)
    out["deferral_excess"] = _excess(counts["deferrals"], m)
    out["bounce_excess"] = _excess(counts["bounces"], m)
    out["hard_bounce_excess"] = _excess(counts["hard_bounces"], m)
    out["complaint_excess"] = _excess(counts["complaints"], d)
    out["attachment_excess"] = _excess(counts["messages_with_attachments"], m)
    for kind in ("pdf", "zip", "exe", "other"):
        out[f"{kind}_excess"] = _excess(counts[f"{kind}_attachments"], m)
    return out.astype(float)


def min_scales(columns: tuple[str, ...], mode: str) -> tuple[float, ...]:
    """Per-column lower bounds on the normalising scale.

    Excess scores are already standard normal; rare events (complaints, zip files) leave
    them flat at 0 most hours, and an IQR of nearly zero would make a single complaint
    look like a 100-sigma event.
    """
    if mode != "sender":
        return ()
    return tuple(1.0 if c.endswith("_excess") else 0.0 for c in columns)


def split_senders(frame: pd.DataFrame) -> dict[tuple[Any, ...], pd.DataFrame]:
    """One frame per sender when ``frame`` has the mart's key columns, else one series."""
    if all(k in frame.columns for k in SENDER_KEYS):
        groups = frame.groupby(list(SENDER_KEYS), sort=True, dropna=False)
        return {tuple(key): part.drop(columns=list(SENDER_KEYS)) for key, part in groups}
    return {(): frame}


def carry_forward(values: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Missing values (NaN) replaced by their column's previous value (``last`` before the
    first row), else 0: the warm-up median once normalised. Only the past is used."""
    rows = values if last is None else np.vstack([last[None, :], values])
    filled = pd.DataFrame(rows).ffill().fillna(0.0).to_numpy(dtype=float)
    return filled if last is None else filled[1:]


def calendar_features(index: pd.DatetimeIndex) -> np.ndarray:
    """Hour-of-day and day-of-week on the unit circle, with harmonics: seasonality any
    cadence may have, in a form a small network learns from a few weeks (an office-hours
    bump needs more than one sine; a weekend needs more than one per week)."""
    hours = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
    days = index.dayofweek.to_numpy() + hours / 24.0
    columns = []
    for angle, harmonics in ((2 * np.pi * hours / 24.0, 3), (2 * np.pi * days / 7.0, 2)):
        for k in range(1, harmonics + 1):
            columns += [np.sin(k * angle), np.cos(k * angle)]
    return np.stack(columns, axis=1).astype(np.float32)


CALENDAR_FEATURES = 10


@dataclass(frozen=True)
class RobustScaler:
    """Per-column centre (median) and scale (IQR / 1.349, else std, else a small floor).

    Learned once from the warm-up rows; the floor keeps a column that never moved during
    warm-up (no executables ever attached) usable: any later change is then far out.
    """

    center: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray, min_scale: np.ndarray | None = None) -> RobustScaler:
        """Fit on warm-up rows; ``min_scale`` (per column) bounds the scale from below."""
        with np.errstate(all="ignore"):
            q1, med, q3 = np.nanpercentile(values, [25, 50, 75], axis=0)
            std = np.nanstd(values, axis=0)
        med = np.nan_to_num(med)
        scale = np.nan_to_num((q3 - q1) / 1.349)
        scale = np.where(scale > 0, scale, np.nan_to_num(std))
        floor = 1e-3 * np.maximum(np.abs(med), 1.0)
        scale = np.maximum(scale, floor)
        if min_scale is not None and len(min_scale):
            scale = np.maximum(scale, np.asarray(min_scale, dtype=float))
        return cls(tuple(float(x) for x in med), tuple(float(x) for x in scale))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.center)) / np.asarray(self.scale)


def _recent_rate(events: pd.Series, trials: pd.Series) -> pd.Series:
    """The sender's rate over earlier rows only, exponentially weighted (0 before any)."""
    ew_events = events.ewm(halflife=PRIOR_HALFLIFE_STEPS).mean()
    ew_trials = trials.ewm(halflife=PRIOR_HALFLIFE_STEPS).mean()
    return (ew_events / ew_trials.where(ew_trials > 0)).shift(1).fillna(0.0).clip(0, 1)


def _shrunk_rate(events: pd.Series, trials: pd.Series) -> pd.Series:
    """(events + k p) / (trials + k), p the sender's recent rate."""
    return (events + PRIOR_MESSAGES * _recent_rate(events, trials)) / (trials + PRIOR_MESSAGES)


def _excess(events: pd.Series, trials: pd.Series) -> pd.Series:
    """How unusual the hour's count is at the sender's recent rate, as a normal score.

    The count is compared with a negative binomial of mean ``trials x recent rate`` whose
    rate itself varies by ``RATE_DISPERSION``; its mid-p upper tail probability is mapped
    to a standard normal quantile. A rate would swing from 0 to 33 % on three messages,
    and a plain z-score makes the one complaint of a quiet hour a ten-sigma event; this
    score is about 2.8 for that complaint (a 1-in-400 hour, which it is), about 4.8
    for fifteen bounces where 1.5 were expected, about 1.6 for a campaign of 2,000
    messages bouncing at twice the usual 1 %, 0 when all is as usual and negative when
    fewer events than usual happen.
    """
    expected = np.maximum(trials * _recent_rate(events, trials), MIN_EXPECTED_EVENTS)
    shape = 1.0 / RATE_DISPERSION**2
    success = shape / (shape + expected.to_numpy())
    x = events.to_numpy(dtype=float)
    mid_p = nbinom.sf(x, shape, success) + 0.5 * nbinom.pmf(x, shape, success)
    score = -ndtri(np.clip(mid_p, 1e-300, 1.0))
    return pd.Series(np.clip(score, -MAX_EXCESS, MAX_EXCESS), index=events.index)
