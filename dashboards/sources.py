"""Where the dashboards read from: the warehouse cells (read-only connections), Redis (live
counters, route health), MLflow's tracking server and the report folders. Built once per
process from the settings, by :func:`open_sources`; queries receive it as their first
argument and never read settings themselves."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import redis

from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.frames import read_frame

Params = Sequence[Any] | Mapping[str, Any]


class DashboardError(RuntimeError):
    """The dashboards cannot start: no warehouse configured, or a server is unreachable."""


class NotBuiltYet(DashboardError):
    """A table a page reads does not exist yet in ``cell``: a new installation whose marts
    dbt has not built (or whose cells are not migrated)."""

    def __init__(self, cell: str, detail: str) -> None:
        super().__init__(f"{cell}: {detail}")
        self.cell = cell


@dataclass(frozen=True)
class Sources:
    """Read-only handles on everything the dashboards show."""

    cells: Cells
    redis: redis.Redis | None
    prefix: str  # DATABASE_PREFIX: names of the cells and of the Redis keys
    mlflow_tracking_uri: str | None
    mlflow_ui_url: str
    api_url: str
    session_check_seconds: float
    controls_report_dir: Path
    audit_checkpoint_dir: Path
    key: str = field(default="")  # identifies these sources in the query cache

    @property
    def regions(self) -> tuple[str, ...]:
        return self.cells.regions

    def frame(self, cell: str, query: str, params: Params = ()) -> pd.DataFrame:
        """The rows of ``query`` in ``cell`` as a DataFrame."""
        try:
            with self.cells.connection(cell) as conn:
                return read_frame(conn, query, params)
        except psycopg.errors.UndefinedTable as exc:
            raise NotBuiltYet(cell, str(exc).splitlines()[0]) from exc

    def region_frame(
        self,
        regions: Sequence[str],
        query: str,
        params: Callable[[str], Params] | Params = (),
    ) -> pd.DataFrame:
        """``query`` run in each of ``regions``' cells, concatenated with a ``region``
        column (an organization's data is spread over the cells of its recipients).
        ``params`` may be a function of the region."""
        frames = []
        for region in regions:
            values = params(region) if callable(params) else params
            frame = self.frame(region, query, values)
            frame.insert(0, "region", region)
            frames.append(frame)
        if not frames:
            return pd.DataFrame()
        return concat_frames(frames)


def open_sources(settings: Settings) -> Sources:
    """Sources as configured. The dashboards never start servers: the warehouse must be
    named (``postwise up`` passes its embedded servers' URLs to every child)."""
    if not settings.database_url:
        raise DashboardError(
            "DATABASE_URL is not set: start the dashboards with `postwise up` "
            "(or `postwise dashboards`), or set DATABASE_URL"
        )
    cells = Cells.from_settings(settings, settings.database_url, read_only=True)
    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    return Sources(
        cells=cells,
        redis=client,
        prefix=settings.database_prefix,
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
        mlflow_ui_url=settings.mlflow_ui_url.rstrip("/"),
        api_url=settings.dashboard_api_url.rstrip("/"),
        session_check_seconds=settings.dashboard_session_check_seconds,
        controls_report_dir=settings.controls_report_directory,
        audit_checkpoint_dir=settings.checkpoint_directory,
        key=sources_key(settings),
    )


def sources_key(settings: Settings) -> str:
    """What identifies the sources ``settings`` name: the same key, the same servers,
    databases, MLflow, API and folders (the query cache and the opened sources use it)."""
    identity = [
        settings.database_url or "",
        settings.database_prefix,
        settings.redis_url or "",
        settings.mlflow_tracking_uri or "",
        settings.mlflow_ui_url,
        settings.dashboard_api_url,
        str(settings.dashboard_session_check_seconds),
        str(settings.controls_report_directory),
        str(settings.checkpoint_directory),
        settings.control_database_url or "",
        *(f"{region}={url}" for region, url in sorted(settings.region_database_urls.items())),
        *settings.regions,
    ]
    return hashlib.sha256("|".join(identity).encode()).hexdigest()[:16]


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` (one per cell) in one frame; empty frames are left out."""
    non_empty = [f for f in frames if not f.empty]
    with warnings.catch_warnings():
        # A cell whose column is all NULL (no bounces there, say) must not decide the
        # column's type, which is what pandas 2 does and warns it will change.
        warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation", FutureWarning)
        return pd.concat(non_empty or list(frames[:1]), ignore_index=True)
