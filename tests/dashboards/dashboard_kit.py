"""Running the dashboards in tests: AppTest on the entry file with a viewer already logged
in, and SQL of the tests' own to compare the headline numbers with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboards.auth import Viewer
from warehouse.db import Cells

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
PAGES = ("overview", "deliverability", "engagement", "models", "anomalies", "compliance")


def viewer_of(org_id: uuid.UUID, role: str = "analyst") -> Viewer:
    """A viewer the gate will not re-check during a test (its check never ages)."""
    return Viewer(
        email=f"{role}@dashboards.example",
        org_id=org_id,
        role=role,
        subject=f"user:{uuid.uuid4()}",
        home_region="na",
        access_token="unused",
        refresh_token="unused",
        checked_at=float("inf"),
    )


def open_page(
    page: str,
    viewer: Viewer,
    *,
    days: tuple[date, date] | None = None,
    regions: Sequence[str] | None = None,
    campaign: uuid.UUID | None = None,
    timeout: float = 120,
) -> AppTest:
    """The app at ``page`` (a name of ``PAGES``) for ``viewer`` with the filters set."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state["viewer"] = viewer
    # Filters go in through their widgets' session state: AppTest's tree loses the
    # sidebar once it switches pages, so the widgets cannot be set after the switch.
    if days is not None:
        at.session_state["filter_days"] = days
    if regions is not None:
        at.session_state["filter_regions"] = list(regions)
    if campaign is not None:
        at.session_state["filter_campaign"] = campaign
    at.run()
    assert not at.exception, at.exception
    at.switch_page(f"pages/{page}.py")
    at.run()
    return at


def metric(at: AppTest, label: str) -> str:
    """The displayed value of the metric labelled ``label``."""
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; there are {[m.label for m in at.metric]}"
    return found[0]


def sum_over_regions(cells: Cells, query: str, params: dict[str, Any]) -> list[Any]:
    """``query`` (one row of numbers) run in every region cell, added column by column."""
    totals: list[Any] | None = None
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(query, params).fetchone()
        assert row is not None
        values = [v or 0 for v in row]
        totals = values if totals is None else [a + b for a, b in zip(totals, values, strict=True)]
    return totals or []
