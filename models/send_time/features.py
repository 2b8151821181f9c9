"""The send-time design matrix: one definition for training rows and for 24-slot scoring.

A row of the model is "this recipient, as they were just before a send, receiving a message
at local hour ``t`` on weekday ``d``". Features come in two kinds:

* slot features, which change with the candidate hour: the cyclic encoding of ``t``, the
  recipient's smoothed open-hour histogram in a window over ``t-2 .. t+2`` (mail is seen,
  or buried, in the hours around its arrival) and recency (the gap to the last open grows
  with ``t``);
* recipient features, fixed across the slots of one day: weekday, frequency (deliveries,
  opens, open rate), provider, device and campaign type.

The histogram is the recipient's own first opens by local hour smoothed toward their
expected habit (``habits``: a mixture of open-hour rhythms fitted on the training contacts,
mixed by how well each explains the recipient's own opens), not toward a flat day: someone
with two evening opens most likely reads in the evening the way evening readers do. The
rhythms are well measured from every open, whereas the send-hour effect alone (sin/cos)
must be learnt from a few dozen campaign send times and is confounded with whatever else
those campaigns did.

``slot_features`` computes every column with numpy broadcasting on ``(n, s)`` hour arrays:
``s = 1`` for training rows (each row its own hour) and ``s = 24`` for scoring, so the two
paths cannot disagree on a column. Per row, training reads only the mart's ``prior_*``
columns and the send's own hour and weekday, all known before the send (no leakage); the
population's shares and the habits are constants of the fitted spec, like any other fitted
parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .habits import HourHabits, fit_hour_habits

HOURS = 24
HOURS_PER_WEEK = 168
HORIZON_HOURS = 24.0  # P(open within 24 h) is what scoring ranks slots by
CENSOR_HOURS = 72.0  # the mart's open horizon: durations are censored there
HISTOGRAM_PRIOR_STRENGTH = 10.0  # dbt var histogram_prior_strength (pseudo-opens)
# Weights of the histogram hours around the candidate hour t: a triangle over t-2 .. t+2.
# A send at t:00 is seen, or buried, over the next couple of hours, and a recipient's
# habitual hour is known only to an hour or two from a few opens, so neighbouring hours
# count too. One fixed window with one learnt coefficient beat four free per-offset
# coefficients on held-out simulated recipients (those drifted on small data), and this
# symmetric triangle beat the earlier forward-leaning t-1 .. t+2 window (share of the
# oracle's uplift 0.49 -> 0.51 on 90 days of history).
HISTOGRAM_WINDOW = {-2: 0.3, -1: 0.7, 0: 1.0, 1: 0.7, 2: 0.3}
DEVICES = ("mobile", "desktop")  # "unknown" is the reference level
CAMPAIGN_TYPES = ("triggered", "transactional")  # "marketing" is the reference level
NEVER_OPENED_HOURS = 24.0 * 365.0  # recency stand-in for recipients who never opened
MIN_PROVIDER_ROWS = 500  # rarer providers share the reference dummy (too few rows to fit)

HOUR_COLUMNS = ("hour_sin", "hour_cos", "hour_sin2", "hour_cos2")
HISTOGRAM_COLUMNS = ("hist_window",)
WEEKDAY_COLUMNS = tuple(f"weekday_{d}" for d in range(1, 7))  # Monday is the reference
HISTORY_COLUMNS = ("log_recency", "never_opened", "log_delivered", "log_opens", "log_open_rate")


@dataclass(frozen=True)
class RecipientState:
    """What was known about each recipient just before a send (arrays of length ``n``).

    ``open_counts`` is ``(n, 24)``: the recipient's own first opens by local hour (all zero
    when the hour pattern is not to be used); ``prior_opens`` their number.
    ``hours_since_last_open`` is measured at the state's reference time (NaN without any
    open); a slot later than that adds its lag.
    """

    open_counts: np.ndarray
    prior_delivered: np.ndarray
    prior_opens: np.ndarray
    rate_opens: np.ndarray  # opens / deliveries behind the open rate (same window)
    rate_delivered: np.ndarray
    hours_since_last_open: np.ndarray
    provider: np.ndarray
    device: np.ndarray
    campaign_type: np.ndarray


@dataclass(frozen=True)
class FeatureSpec:
    """What the design matrix needs from training: provider dummies (``providers``, the most
    common provider being the reference), the population's open-hour shares and the
    open-hour habits (``habits``) that a recipient's few opens are smoothed toward."""

    providers: tuple[str, ...]
    population: tuple[float, ...] = tuple([1.0 / HOURS] * HOURS)
    prior_strength: float = HISTOGRAM_PRIOR_STRENGTH
    habits: HourHabits | None = None

    @property
    def provider_columns(self) -> tuple[str, ...]:
        return tuple(f"provider_{p}" for p in self.providers)

    @property
    def columns(self) -> list[str]:
        """Column order of the design matrix (and of the fitted coefficients)."""
        return [
            *HOUR_COLUMNS,
            *HISTOGRAM_COLUMNS,
            *WEEKDAY_COLUMNS,
            *HISTORY_COLUMNS,
            *self.provider_columns,
            *(f"device_{d}" for d in DEVICES),
            *(f"campaign_{c}" for c in CAMPAIGN_TYPES),
        ]

    def histogram(self, counts: np.ndarray) -> np.ndarray:
        """Open-hour shares ``(n, 24)`` from counts, smoothed toward each row's expected
        habit (the population's curve without fitted habits)."""
        k = self.prior_strength
        if self.habits is None:
            target = np.asarray(self.population)[None, :]
        else:
            target = self.habits.expected_curve(counts)
        return (counts + k * target) / (counts.sum(axis=1, keepdims=True) + k)


def population_open_shares(training: pd.DataFrame) -> np.ndarray:
    """Add-one smoothed local hour-of-week (Monday 00:00 first) shares of first opens in
    mart rows: the way dbt builds the population histogram of the scoring mart."""
    opened = training.loc[training["first_human_open_at"].notna()]
    counts = np.zeros(HOURS_PER_WEEK)
    for zone_name, group in opened.groupby("time_zone"):
        local = pd.DatetimeIndex(group["first_human_open_at"]).tz_convert(str(zone_name))
        np.add.at(counts, np.asarray(local.weekday * HOURS + local.hour), 1.0)
    return (counts + 1.0) / (counts.sum() + HOURS_PER_WEEK)


def contact_open_hours(training: pd.DataFrame) -> np.ndarray:
    """``(contacts, 24)``: each contact's first opens by local hour of day in mart rows."""
    opened = training.loc[training["first_human_open_at"].notna()]
    codes, _ = pd.factorize(opened["contact_id"])
    zones = opened["time_zone"].fillna("UTC").astype(str).to_numpy()
    stamps = pd.DatetimeIndex(pd.to_datetime(opened["first_human_open_at"], utc=True))
    hours = np.zeros(len(opened), dtype=np.int64)
    for zone_name in np.unique(zones):
        mask = zones == zone_name
        hours[mask] = stamps[mask].tz_convert(str(zone_name)).hour
    counts = np.zeros((int(codes.max()) + 1 if len(codes) else 0, HOURS))
    np.add.at(counts, (codes, hours), 1.0)
    return counts


def fit_feature_spec(training: pd.DataFrame, min_rows: int = MIN_PROVIDER_ROWS) -> FeatureSpec:
    """Provider dummies (providers with ``min_rows`` rows, bar the reference), the
    population's open hours of day and the open-hour habits, from mart rows."""
    counts = training["mailbox_provider"].fillna("unknown").value_counts()
    kept = [str(p) for p, n in counts.items() if n >= min_rows]
    population = population_open_shares(training).reshape(7, HOURS).sum(axis=0)
    return FeatureSpec(
        providers=tuple(sorted(kept[1:])),
        population=tuple(population.tolist()),
        habits=fit_hour_habits(contact_open_hours(training)),
    )


def training_state(training: pd.DataFrame) -> RecipientState:
    """The recipient state of each mart row, read from its ``prior_*`` columns only."""
    n = len(training)
    k = HISTOGRAM_PRIOR_STRENGTH
    histogram = np.asarray(training["prior_open_hour_histogram"].tolist(), dtype=np.float64)
    opens = training["prior_opens"].to_numpy(np.float64)[:, None]
    # The mart smooths toward a flat day: (count + k/24) / (opens + k). Counts are integers,
    # so rounding recovers them exactly.
    counts = np.clip(np.rint(histogram.reshape(n, HOURS) * (opens + k) - k / HOURS), 0.0, None)
    prior_delivered = training["prior_delivered"].to_numpy(np.float64)
    return RecipientState(
        open_counts=counts,
        prior_delivered=prior_delivered,
        prior_opens=opens[:, 0],
        rate_opens=opens[:, 0],
        rate_delivered=prior_delivered,
        hours_since_last_open=training["hours_since_last_prior_open"].to_numpy(np.float64),
        provider=training["mailbox_provider"].fillna("unknown").astype(str).to_numpy(object),
        device=training["prior_device"].fillna("unknown").astype(str).to_numpy(object),
        campaign_type=training["campaign_type"].astype(str).to_numpy(object),
    )


def slot_features(
    spec: FeatureSpec,
    state: RecipientState,
    hours: np.ndarray,
    weekday: np.ndarray,
    lag_hours: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every column of ``spec`` as an array broadcastable to ``(n, s)``.

    ``hours`` is ``(n, s)``, or ``(1, s)`` when every recipient has the same slots;
    ``weekday`` is ``(n,)`` (Monday = 0); ``lag_hours`` (``(n, s)``, optional) is how much
    later than the state's reference time each slot is, added to the recency gap.
    """
    n = state.open_counts.shape[0]
    angle = 2.0 * np.pi * hours / HOURS
    # The population's send-hour effect stands in for what the recipient's own hours do not
    # tell yet: it is weighted by the share of the smoothed histogram that is prior, so a
    # recipient with many opens at 03:00 is not pulled toward the crowd's evening.
    unknown = (spec.prior_strength / (state.prior_opens + spec.prior_strength))[:, None]
    out: dict[str, np.ndarray] = {
        "hour_sin": unknown * np.sin(angle),
        "hour_cos": unknown * np.cos(angle),
        "hour_sin2": unknown * np.sin(2.0 * angle),
        "hour_cos2": unknown * np.cos(2.0 * angle),
    }
    # Scaled so that a flat day is 1 at every hour: the coefficient reads "per flat share".
    histogram = HOURS * spec.histogram(state.open_counts)
    rows = np.arange(n)[:, None]
    window = sum(w * histogram[rows, (hours + k) % HOURS] for k, w in HISTOGRAM_WINDOW.items())
    out["hist_window"] = window / sum(HISTOGRAM_WINDOW.values())
    for column, day in zip(WEEKDAY_COLUMNS, range(1, 7), strict=True):
        out[column] = (weekday == day).astype(np.float64)[:, None]

    never = np.isnan(state.hours_since_last_open)
    gap = np.where(never, NEVER_OPENED_HOURS, state.hours_since_last_open)[:, None]
    if lag_hours is not None:
        gap = np.where(never[:, None], gap, gap + lag_hours)
    out["log_recency"] = np.log1p(np.clip(gap, 0.0, NEVER_OPENED_HOURS))
    out["never_opened"] = never.astype(np.float64)[:, None]
    out["log_delivered"] = np.log1p(state.prior_delivered)[:, None]
    out["log_opens"] = np.log1p(state.prior_opens)[:, None]
    # Smoothed so a new recipient (0 of 0) gets a finite, middling rate.
    rate = (state.rate_opens + 0.5) / (state.rate_delivered + 2.0)
    out["log_open_rate"] = np.log(rate)[:, None]
    for provider, column in zip(spec.providers, spec.provider_columns, strict=True):
        out[column] = (state.provider == provider).astype(np.float64)[:, None]
    for device in DEVICES:
        out[f"device_{device}"] = (state.device == device).astype(np.float64)[:, None]
    for campaign in CAMPAIGN_TYPES:
        out[f"campaign_{campaign}"] = (state.campaign_type == campaign).astype(np.float64)[:, None]
    return out


def design_matrix(
    training: pd.DataFrame, spec: FeatureSpec, without_hours: np.ndarray | None = None
) -> pd.DataFrame:
    """The design matrix of mart rows (one row each, the send's own local hour and weekday).

    Rows flagged in ``without_hours`` ignore their own open hours (the histogram becomes the
    population's), as scoring does for fallback recipients.
    """
    state = training_state(training)
    if without_hours is not None:
        state = replace(state, open_counts=np.where(without_hours[:, None], 0.0, state.open_counts))
    hours = training["local_send_hour"].to_numpy(np.int64)[:, None]
    weekday = training["local_send_weekday"].to_numpy(np.int64)
    blocks = slot_features(spec, state, hours, weekday)
    n = len(training)
    data = {c: np.broadcast_to(blocks[c], (n, 1))[:, 0] for c in spec.columns}
    return pd.DataFrame(data, index=training.index, columns=spec.columns)


def expand_candidates(
    spec: FeatureSpec,
    state: RecipientState,
    weekday: np.ndarray,
    lag_hours: np.ndarray | None = None,
) -> pd.DataFrame:
    """The 24-slot expansion as an explicit design matrix: one row per (recipient, local
    hour), columns of ``spec`` plus ``recipient`` (row position) and ``hour``.

    Scoring never builds this (it works on ``slot_features`` directly); it is here to hand
    the exact same rows to lifelines, for diagnostics and the equivalence test.
    """
    n = state.open_counts.shape[0]
    hours = np.broadcast_to(np.arange(HOURS)[None, :], (n, HOURS))
    blocks = slot_features(spec, state, hours, weekday, lag_hours)
    data = {c: np.broadcast_to(blocks[c], (n, HOURS)).reshape(-1) for c in spec.columns}
    data["recipient"] = np.repeat(np.arange(n), HOURS)
    data["hour"] = hours.reshape(-1)
    return pd.DataFrame(data)


def linear_predictor(
    blocks: dict[str, np.ndarray], columns: list[str], coef: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """``sum_j coef_j * feature_j`` over ``(n, s)`` without materialising the design tensor."""
    out = np.zeros(shape, dtype=np.float64)
    for column, beta in zip(columns, coef, strict=True):
        if beta != 0.0:
            out += beta * blocks[column]
    return out
