"""The sidebar filters every page shares: campaign, regions and a range of days. The
organization is the viewer's and cannot be changed. Widget values survive page changes
because the entry file draws them before it runs the page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import streamlit as st

from .cache import load
from .queries import catalog
from .scope import Scope

DEFAULT_DAYS = 30
SCOPE = "scope"


def sidebar_filters(org_id: uuid.UUID, regions: tuple[str, ...]) -> Scope:
    """Draw the filters and return the scope they select (also kept in session state)."""
    st.sidebar.selectbox(
        "Organization",
        [org_id],
        format_func=lambda org: load(catalog.organization_name, org),
        disabled=True,
        key="filter_org",
        help="Your login's organization: nobody sees another organization's data here.",
    )
    campaigns = load(catalog.campaigns, org_id)
    names = {None: "All campaigns"} | {
        row.campaign_id: f"{row.name} ({row.campaign_type})" for row in campaigns.itertuples()
    }
    campaign_id = st.sidebar.selectbox(
        "Campaign", list(names), format_func=lambda c: names[c], key="filter_campaign"
    )
    chosen = st.sidebar.multiselect(
        "Regions", list(regions), default=list(regions), key="filter_regions"
    )
    newest = load(catalog.newest_day, org_id) or datetime.now(UTC).date()
    picked = st.sidebar.date_input(
        "Days (UTC)",
        value=(newest - timedelta(days=DEFAULT_DAYS - 1), newest),
        key="filter_days",
    )
    start, end = _range(picked, newest)
    scope = Scope(org_id, tuple(chosen or regions), start, end, campaign_id)
    st.session_state[SCOPE] = scope
    return scope


def _range(picked: object, newest: date) -> tuple[date, date]:
    """A date_input gives one date while the second is being picked: a one-day range."""
    if isinstance(picked, tuple | list):
        days = [d for d in picked if isinstance(d, date)]
        if len(days) == 2:
            return min(days), max(days)
        if days:
            return days[0], days[0]
    if isinstance(picked, date):
        return picked, picked
    return newest - timedelta(days=DEFAULT_DAYS - 1), newest


def current_scope(title: str, *, reads_marts: bool = True) -> Scope:
    """The scope the sidebar selected in this run; pages call this first. A page that
    reads the dbt marts stops here, saying what to do, while a selected region's marts are
    not built yet (a new installation)."""
    scope = st.session_state.get(SCOPE)
    if not isinstance(scope, Scope):
        raise RuntimeError("the sidebar filters were not drawn before the page")
    st.title(title)
    unbuilt = load(catalog.unbuilt_regions, scope.regions) if reads_marts else []
    if unbuilt:
        st.info(
            f"The marts of {', '.join(unbuilt)} are not built yet: materialize the dbt "
            "assets in the Dagster UI (or run `make demo` for a simulated history), then "
            "reload this page."
        )
        st.stop()
    return scope
