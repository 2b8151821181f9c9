"""Event-level detection metrics: did an alert fire during each incident, and how often elsewhere.

An incident counts as detected when an alert fires inside its window or up to ``grace``
steps after it (the end of a burst is itself a surprise to any detector); its delay is the
number of steps from the window's start to that first alert. Alert steps outside every
(extended) window are false positives, counted once per contiguous run: a detector that
stays on for hours is one false alarm, not a hundred. Precision is detected incidents over
detected incidents plus false-positive runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .synthetic import Incident

DEFAULT_GRACE = 6


@dataclass
class EventCounts:
    """Counts from one or several series; add them up, then read the rates."""

    incidents: int = 0
    detected: int = 0
    false_positives: int = 0
    alert_steps_outside: int = 0
    steps_outside: int = 0
    delays: list[int] = field(default_factory=list)
    by_kind: dict[str, list[int | None]] = field(default_factory=dict)  # kind -> delays

    def __add__(self, other: EventCounts) -> EventCounts:
        by_kind = {k: list(v) for k, v in self.by_kind.items()}
        for kind, delays in other.by_kind.items():
            by_kind.setdefault(kind, []).extend(delays)
        return EventCounts(
            self.incidents + other.incidents,
            self.detected + other.detected,
            self.false_positives + other.false_positives,
            self.alert_steps_outside + other.alert_steps_outside,
            self.steps_outside + other.steps_outside,
            self.delays + other.delays,
            by_kind,
        )

    @property
    def precision(self) -> float:
        flagged = self.detected + self.false_positives
        return self.detected / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def mean_delay(self) -> float:
        """Mean steps from incident start to first alert, over detected incidents (nan if none)."""
        return float(np.mean(self.delays)) if self.delays else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        """Share of steps outside incidents with an alert on."""
        return self.alert_steps_outside / self.steps_outside if self.steps_outside else 0.0

    def summary(self) -> dict[str, object]:
        """Plain numbers for JSON: overall rates, then recall and delay per incident kind."""
        kinds = {}
        for kind, delays in sorted(self.by_kind.items()):
            hit = [d for d in delays if d is not None]
            kinds[kind] = {
                "recall": round(len(hit) / len(delays), 3),
                "mean_delay": round(float(np.mean(hit)), 2) if hit else None,
                "incidents": len(delays),
            }
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "mean_delay": round(self.mean_delay, 2) if self.delays else None,
            "false_positives": self.false_positives,
            "false_alarm_rate": round(self.false_alarm_rate, 4),
            "incidents": self.incidents,
            "by_kind": kinds,
        }


def alert_runs(alerts: Sequence[bool] | np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True as (start, end) with end exclusive."""
    a = np.asarray(alerts, dtype=bool).astype(np.int8)
    edges = np.diff(np.concatenate([[0], a, [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def evaluate_alerts(
    alerts: Sequence[bool] | np.ndarray,
    incidents: Iterable[Incident],
    *,
    start: int = 0,
    grace: int = DEFAULT_GRACE,
) -> EventCounts:
    """Event counts for boolean ``alerts`` (one per row) against labelled ``incidents``.

    Rows before ``start`` (the warm-up) are ignored.
    """
    a = np.asarray(alerts, dtype=bool).copy()
    a[:start] = False
    covered = np.zeros(len(a), dtype=bool)
    covered[:start] = True
    counts = EventCounts()
    for incident in incidents:
        lo, hi = incident.start, min(incident.end + grace, len(a))
        covered[lo:hi] = True
        hits = np.flatnonzero(a[lo:hi])
        delay = int(hits[0]) if len(hits) else None
        counts.incidents += 1
        counts.by_kind.setdefault(incident.kind, []).append(delay)
        if delay is not None:
            counts.detected += 1
            counts.delays.append(delay)
    outside = a & ~covered
    counts.false_positives = len(alert_runs(outside))
    counts.alert_steps_outside = int(outside.sum())
    counts.steps_outside = int((~covered).sum())
    return counts
