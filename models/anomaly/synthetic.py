"""Synthetic sender histories with labelled incidents: the anomaly model's evaluation tooling.

A history has the columns of the dbt mart ``marts.send_volume_timeseries`` (one row per UTC
hour) so that evaluation exercises the same feature step as production. It is built from
what a real sender looks like: a daily and weekly rhythm of transactional mail, marketing
campaigns at fixed weekly slots, deferral and bounce rates around 1 %, complaints around
0.02 %, a recipient base spread over a few dozen countries with a Zipf mix, and a few
per cent of messages carrying (mostly PDF) attachments. Rates drift slowly (AR(1) on the
log scale) so that a clean history is not trivially stationary.

Incidents are injected afterwards into the counts (``inject``), so they apply equally to a
synthetic history and to a real mart frame (``models.anomaly.model.train`` uses that to
measure validation F1 on the sender's own data):

- ``volume_burst``: a compromised account sends x5-x20 its volume for a few hours;
- ``bounce_spike``: a bought list bounces 8-20 % of messages for hours to days;
- ``country_shift``: mail suddenly goes to many new countries, and keeps doing so;
- ``attachment_shift``: a share of messages suddenly carries zip / exe attachments, and
  keeps doing so.

A persistent shift is labelled for ``SHIFT_LABEL_STEPS`` steps after its onset: after two
days the new mix is the sender's normal, and alerts about it count as false positives.

Nothing here imports the simulator: this module must stay usable from pure model code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import SENDER_COUNT_COLUMNS

INCIDENT_KINDS = ("volume_burst", "bounce_spike", "country_shift", "attachment_shift")
SHIFT_LABEL_STEPS = 48
FOREIGN_COUNTRIES = 120  # where a shifted sender's mail goes, none of them mailed before
NOVELTY_STEPS = 30 * 24  # a country unmailed this long is new again (as in the mart)
COUNT_COLUMNS = ("messages", "sends", *SENDER_COUNT_COLUMNS[1:])  # the mart's order


@dataclass(frozen=True)
class Incident:
    """A labelled incident: rows ``start`` (inclusive) to ``end`` (exclusive) are its window."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class SenderProfile:
    """The typical behaviour of one sender (hourly means; rates are per message)."""

    hourly_volume: float = 120.0
    weekend_factor: float = 0.35
    campaign_slots: tuple[tuple[int, int], ...] = ((1, 14), (3, 15))  # (weekday, UTC hour)
    campaign_hours: int = 3
    campaign_factor: float = 3.0
    deferral_rate: float = 0.01
    bounce_rate: float = 0.01
    hard_bounce_share: float = 0.6
    complaint_rate: float = 0.0002
    open_rate: float = 0.2
    countries: int = 30
    new_country_rate: float = 0.0005  # recipients in a country not mailed for 30 days
    attachment_rate: float = 0.05


def sender_history(
    hours: int, *, seed: int, profile: SenderProfile | None = None, start: str = "2026-01-05"
) -> pd.DataFrame:
    """A clean hourly history in the mart's schema, indexed by ``bucket_start`` (UTC)."""
    p = profile or SenderProfile()
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=hours, freq="h", tz="UTC", name="bucket_start")
    hour = index.hour.to_numpy()
    weekday = index.dayofweek.to_numpy()
    # Office-hours rhythm peaking mid-afternoon UTC, a quiet night, quieter weekends.
    daily = 0.2 + np.exp(-(((hour - 14) / 4.5) ** 2))
    weekly = np.where(weekday >= 5, p.weekend_factor, 1.0)
    campaign = np.ones(hours)
    for day, slot in p.campaign_slots:
        for k in range(p.campaign_hours):
            campaign[(weekday == day) & (hour == (slot + k) % 24)] = p.campaign_factor
    level = p.hourly_volume * daily * weekly * campaign / daily.mean()
    # Gamma-Poisson: real hourly volume is over-dispersed.
    messages = rng.poisson(level * rng.gamma(25.0, 1 / 25.0, hours))

    deferral = _drifting_rate(rng, p.deferral_rate, hours)
    bounce = _drifting_rate(rng, p.bounce_rate, hours)
    complaint = _drifting_rate(rng, p.complaint_rate, hours)
    opens = _drifting_rate(rng, p.open_rate, hours) * (0.8 + 0.4 * daily / daily.max())

    bounces = rng.binomial(messages, bounce)
    failed = rng.binomial(messages - bounces, 0.001)
    deliveries = messages - bounces - failed
    attached = rng.binomial(messages, p.attachment_rate)
    pdf = rng.binomial(attached, 0.9)
    zip_ = rng.binomial(attached - pdf, 0.05)
    frame = pd.DataFrame(
        {
            "messages": messages,
            "sends": messages - failed,
            "deliveries": deliveries,
            "deferrals": rng.binomial(messages, deferral),
            "bounces": bounces,
            "hard_bounces": rng.binomial(bounces, p.hard_bounce_share),
            "complaints": rng.binomial(deliveries, complaint),
            "human_opens": rng.binomial(deliveries, np.clip(opens, 0, 1)),
            "destination_countries": _distinct_countries(rng, messages, p.countries),
            "new_country_messages": rng.binomial(messages, p.new_country_rate),
            "messages_with_attachments": attached,
            "pdf_attachments": pdf,
            "zip_attachments": zip_,
            "exe_attachments": np.zeros(hours, dtype=np.int64),
            "other_attachments": attached - pdf - zip_,
        },
        index=index,
    )
    return with_open_rate(frame)


def with_open_rate(frame: pd.DataFrame) -> pd.DataFrame:
    """Recompute the mart's derived ``open_rate`` (human opens per delivery, null without)."""
    out = frame.copy()
    out["open_rate"] = out["human_opens"] / out["deliveries"].where(out["deliveries"] > 0)
    return out


def inject(frame: pd.DataFrame, incident: Incident, *, seed: int) -> pd.DataFrame:
    """``frame`` (mart schema) with ``incident`` applied to its counts; returns a copy.

    Persistent shifts act from ``incident.start`` to the end of the frame, whatever the
    labelled window.
    """
    rng = np.random.default_rng(seed)
    out = frame.copy()
    counts = [c for c in COUNT_COLUMNS if c in out.columns]
    # Real mart frames may arrive as floats (reindexed hours); counts are whole numbers.
    out[counts] = out[counts].fillna(0).round().astype(np.int64)
    n = len(out)
    if incident.kind == "volume_burst":
        # A hijacked account sends on top of the normal flow, at x5-x20 the sender's recent
        # mean volume whatever the hour, with the sender's recent outcome rates.
        rows = slice(incident.start, incident.end)
        before = out.iloc[max(0, incident.start - 168) : incident.start]
        factor = rng.uniform(5, 20)
        sent = max(float(before["messages"].sum()), 1.0)
        extra = rng.poisson(
            (factor - 1) * sent / max(len(before), 1), incident.end - incident.start
        )
        for col in (c for c in COUNT_COLUMNS if c in out.columns):
            loc = out.columns.get_loc(col)
            if col == "messages":
                out.iloc[rows, loc] += extra
            elif col == "destination_countries":
                # More recipients reach a few more of the sender's countries, not 10x more.
                out.iloc[rows, loc] = np.ceil(out[col].iloc[rows] * (1 + np.log(factor) / 4))
            else:
                rate = min(float(before[col].sum()) / sent, 1.0)
                out.iloc[rows, loc] += rng.binomial(extra, rate)
    elif incident.kind == "bounce_spike":
        rows = slice(incident.start, incident.end)
        rate = rng.uniform(0.08, 0.2)
        messages = out["messages"].iloc[rows].to_numpy()
        bounces = rng.binomial(messages, rate)
        sent = out["sends" if "sends" in out.columns else "messages"].iloc[rows].to_numpy()
        delivered = np.maximum(sent - bounces, 0)
        opens = np.minimum(out["human_opens"].iloc[rows].to_numpy(), delivered)
        out.iloc[rows, out.columns.get_loc("bounces")] = bounces
        out.iloc[rows, out.columns.get_loc("hard_bounces")] = rng.binomial(bounces, 0.85)
        out.iloc[rows, out.columns.get_loc("deliveries")] = delivered
        out.iloc[rows, out.columns.get_loc("human_opens")] = opens
    elif incident.kind == "country_shift":
        rows = slice(incident.start, n)
        share = rng.uniform(0.1, 0.3)
        messages = out["messages"].iloc[rows].to_numpy()
        foreign = rng.binomial(messages, share)
        extra = _distinct_countries(rng, foreign, FOREIGN_COUNTRIES, zipf=0.0)
        out.iloc[rows, out.columns.get_loc("destination_countries")] += extra
        if "new_country_messages" in out.columns:
            novel = _new_country_messages(rng, foreign, FOREIGN_COUNTRIES)
            out.iloc[rows, out.columns.get_loc("new_country_messages")] += novel
    elif incident.kind == "attachment_shift":
        rows = slice(incident.start, n)
        share = rng.uniform(0.05, 0.25)
        messages = out["messages"].iloc[rows].to_numpy()
        extra = rng.binomial(messages, share)
        exe = rng.binomial(extra, rng.uniform(0.3, 0.7))
        out.iloc[rows, out.columns.get_loc("messages_with_attachments")] += extra
        out.iloc[rows, out.columns.get_loc("zip_attachments")] += extra - exe
        out.iloc[rows, out.columns.get_loc("exe_attachments")] += exe
    else:
        raise ValueError(f"unknown incident kind {incident.kind!r}; expected {INCIDENT_KINDS}")
    return with_open_rate(out)


def plan_incidents(
    first: int,
    last: int,
    *,
    seed: int,
    kinds: tuple[str, ...] = INCIDENT_KINDS,
    sending: np.ndarray | None = None,
) -> list[Incident]:
    """One incident of each kind, in random order, spread over rows ``first`` .. ``last``.

    Incidents are spaced evenly with some jitter so that windows never overlap and each
    detector has settled between them. With ``sending`` (per row: did the sender queue
    mail), every incident but a volume burst starts at a row with mail where its slot has
    one: a bought list bounces, and a new country mix shows, only when mail goes out.
    """
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(kinds)))
    slot = (last - first) // len(kinds)
    incidents = []
    for i, k in enumerate(order):
        kind = kinds[k]
        duration = {
            "volume_burst": int(rng.integers(2, 7)),
            "bounce_spike": int(rng.integers(6, 37)),
        }.get(kind, SHIFT_LABEL_STEPS)
        duration = min(duration, max(1, slot // 2))  # short validation spans
        start = first + i * slot + _offset(rng, slot, duration)
        if sending is not None and kind != "volume_burst":
            start = _next_sending(sending, start, first + (i + 1) * slot - duration)
        incidents.append(Incident(kind, start, start + duration))
    return incidents


def _next_sending(sending: np.ndarray, start: int, latest: int) -> int:
    """The first row from ``start`` to ``latest`` with mail, else ``start``."""
    rows = np.flatnonzero(np.asarray(sending[start : latest + 1], dtype=bool))
    return start + int(rows[0]) if len(rows) else start


@dataclass(frozen=True)
class EvaluationCase:
    """One sender history with planted incidents; rows before ``warmup_steps`` are clean."""

    frame: pd.DataFrame
    incidents: list[Incident]
    warmup_steps: int


def evaluation_case(
    seed: int, *, warmup_days: int = 28, eval_days: int = 28, profile: SenderProfile | None = None
) -> EvaluationCase:
    """A fixed-seed history: ``warmup_days`` clean, then one incident of each kind."""
    warmup = warmup_days * 24
    frame = sender_history(warmup + eval_days * 24, seed=seed, profile=profile)
    incidents = plan_incidents(warmup + 24, len(frame) - 24, seed=seed + 1)
    for i, incident in enumerate(incidents):
        frame = inject(frame, incident, seed=seed * 100 + i)
    return EvaluationCase(frame, incidents, warmup)


def planted_case(counts: pd.DataFrame, warmup_steps: int, *, seed: int) -> EvaluationCase:
    """A real sender history (hourly mart counts) with one incident of each kind planted
    after a day past its warm-up: real traffic, known labels."""
    incidents = plan_incidents(
        warmup_steps + 24,
        len(counts) - 24,
        seed=seed + 1,
        sending=counts["messages"].to_numpy() > 0,
    )
    frame = counts
    for i, incident in enumerate(incidents):
        frame = inject(frame, incident, seed=seed * 100 + i)
    return EvaluationCase(frame, incidents, warmup_steps)


def inject_generic(
    frame: pd.DataFrame, first: int, *, seed: int, count: int = 4, scale: pd.Series | None = None
) -> tuple[pd.DataFrame, list[Incident]]:
    """Spikes and persistent level shifts in random columns of any numeric frame.

    Used to measure validation F1 on series that are not sender histories. Sizes are in
    units of each column's robust scale (IQR, else standard deviation) over rows before
    ``first``.
    """
    rng = np.random.default_rng(seed)
    out = frame.astype(float).copy()
    if scale is None:
        head = out.iloc[:first]
        iqr = head.quantile(0.75) - head.quantile(0.25)
        scale = iqr.where(iqr > 0, head.std()).fillna(1.0).replace(0.0, 1.0)
    slot = (len(out) - first) // count
    incidents = []
    for i in range(count):
        kind = "spike" if i % 2 == 0 else "level_shift"
        duration = int(rng.integers(2, 7)) if kind == "spike" else SHIFT_LABEL_STEPS
        duration = min(duration, max(1, slot // 2))
        start = first + i * slot + _offset(rng, slot, duration)
        col = out.columns[int(rng.integers(len(out.columns)))]
        size = rng.uniform(6, 12) * float(scale[col]) * rng.choice([-1.0, 1.0])
        end = start + duration if kind == "spike" else len(out)
        out.iloc[start:end, out.columns.get_loc(col)] += size
        incidents.append(Incident(kind, start, start + duration))
    return out, incidents


def _offset(rng: np.random.Generator, slot: int, duration: int) -> int:
    """Where in its slot an incident starts: clear of the slot's edges when there is room."""
    low = slot // 4
    return int(rng.integers(low, max(low + 1, slot - duration - slot // 4)))


def _drifting_rate(rng: np.random.Generator, mean: float, n: int, sd: float = 0.25) -> np.ndarray:
    """A rate wandering slowly around ``mean``: AR(1) on the log scale, ~1 day memory."""
    phi = 0.96
    noise = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return np.clip(mean * np.exp(x - sd**2 / 2), 0, 1)


def _distinct_countries(
    rng: np.random.Generator, messages: np.ndarray, countries: int, zipf: float = 1.2
) -> np.ndarray:
    """Distinct countries reached by each hour's messages (recipients drawn from a Zipf mix)."""
    weights = 1.0 / np.arange(1, countries + 1) ** zipf
    probs = weights / weights.sum()
    # P(country c unseen among m recipients) = (1 - p_c)^m; sampling the indicators directly
    # is exact per country and avoids a multinomial draw per hour.
    seen = rng.random((len(messages), countries)) < 1 - (1 - probs) ** messages[:, None]
    return seen.sum(axis=1).astype(np.int64)


def _new_country_messages(
    rng: np.random.Generator, foreign: np.ndarray, countries: int
) -> np.ndarray:
    """Per hour, how many of ``foreign`` messages (spread evenly over ``countries`` the
    sender never mailed before) go to a country not mailed in the last ``NOVELTY_STEPS``."""
    last_mailed = np.full(countries, -(10**9))
    out = np.zeros(len(foreign), dtype=np.int64)
    for t, k in enumerate(foreign):
        if k:
            per_country = rng.multinomial(int(k), np.full(countries, 1.0 / countries))
            mailed = per_country > 0
            out[t] = per_country[mailed & (t - last_mailed > NOVELTY_STEPS)].sum()
            last_mailed[mailed] = t
    return out
