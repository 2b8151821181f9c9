"""The organization's senders as the anomaly model sees them: recent scores and the pauses
in force, gathered from every region cell (a cell that cannot answer is listed as such
rather than failing the whole answer)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import psycopg

from ..resilience.breakers import DependencyDown

log = logging.getLogger(__name__)


class _Cells(Protocol):
    @property
    def cells(self) -> _Regions: ...

    def cell(self, name: str) -> AbstractContextManager[psycopg.Connection]: ...


class _Regions(Protocol):
    @property
    def regions(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Score:
    region: str
    sending_domain: str
    bucket_start: datetime
    anomaly_score: float
    is_alert: bool
    threshold: float
    model_version: str


@dataclass(frozen=True)
class Pause:
    region: str
    pause_id: int
    sending_domain: str
    reason: str
    source: str
    paused_at: datetime


@dataclass
class AnomalyReport:
    scores: list[Score] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    unavailable_regions: list[str] = field(default_factory=list)


def anomaly_report(source: _Cells, org_id: uuid.UUID, hours: int, limit: int) -> AnomalyReport:
    """Scores of the last ``hours`` (newest first, ``limit`` per cell) and active pauses."""
    report = AnomalyReport()
    for region in source.cells.regions:
        try:
            with source.cell(region) as conn:
                report.scores.extend(_scores(conn, region, org_id, hours, limit))
                report.pauses.extend(_pauses(conn, region, org_id))
        except (psycopg.OperationalError, DependencyDown) as exc:
            log.warning("anomalies of region %s unavailable: %s", region, exc)
            report.unavailable_regions.append(region)
    report.scores.sort(key=lambda s: (s.bucket_start, s.sending_domain), reverse=True)
    del report.scores[limit:]
    return report


def _scores(
    conn: psycopg.Connection, region: str, org_id: uuid.UUID, hours: int, limit: int
) -> Iterator[Score]:
    rows = conn.execute(
        "SELECT sending_domain, bucket_start, anomaly_score, is_alert, threshold, model_version "
        "FROM anomaly_scores WHERE org_id = %s AND bucket_start >= now() - make_interval("
        "hours => %s) ORDER BY bucket_start DESC, sending_domain LIMIT %s",
        (org_id, hours, limit),
    ).fetchall()
    for row in rows:
        yield Score(region, *row)


def _pauses(conn: psycopg.Connection, region: str, org_id: uuid.UUID) -> Iterator[Pause]:
    rows = conn.execute(
        "SELECT pause_id, sending_domain, reason, source, paused_at FROM paused_senders "
        "WHERE org_id = %s AND resumed_at IS NULL ORDER BY paused_at DESC",
        (org_id,),
    ).fetchall()
    for row in rows:
        yield Pause(region, *row)
