"""Overview: how the scope's mail did, against the period before, and what is happening
right now."""

import streamlit as st

from dashboards import charts
from dashboards.cache import current_sources, load
from dashboards.filters import current_scope
from dashboards.queries import overview
from dashboards.widgets import count_metric, rate_metric

LIVE_REFRESH_SECONDS = 5

scope = current_scope("Overview")
st.caption(
    f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y} (UTC), compared with the "
    f"{scope.days} days before."
)

now, before = load(overview.totals, scope), load(overview.totals, scope.previous())
columns = st.columns(3)
with columns[0]:
    count_metric("Sends", now.sent, before.sent)
    count_metric("Complaints", now.complaints, before.complaints, inverse=True)
with columns[1]:
    rate_metric("Delivery rate", now.delivery_rate, before.delivery_rate)
    count_metric("Unsubscribes", now.unsubscribes, before.unsubscribes, inverse=True)
with columns[2]:
    rate_metric("Human open rate", now.open_rate, before.open_rate)
    rate_metric("Human click rate", now.click_rate, before.click_rate)

st.subheader("Trends")
days = load(overview.daily, scope)
if days.empty:
    charts.empty("mail")
else:
    rates = overview.with_rates(days)
    left, right = st.columns(2)
    with left:
        volume = days.melt("day", ["sent", "delivered"], "series", "messages")
        charts.show(charts.line(volume, "day", "messages", color="series", title="messages"))
    with right:
        shares = rates.melt("day", ["open_rate", "click_rate"], "series", "rate")
        charts.show(charts.line(shares, "day", "rate", color="series", y_format=".1%"))


@st.fragment(run_every=LIVE_REFRESH_SECONDS)
def live() -> None:
    """The last hour, per minute, refreshed every few seconds while the page is open."""
    st.subheader("Live: the last 60 minutes")
    counts = overview.live_counts(current_sources(), scope.org_id)
    if counts.empty:
        st.info("Live counters need Redis (REDIS_URL).")
        return
    totals = counts.groupby("kind")["count"].sum()
    cells = st.columns(3)
    for cell, (kind, label) in zip(
        cells,
        [("sent", "Accepted"), ("opened", "Human opens"), ("clicked", "Human clicks")],
        strict=True,
    ):
        cell.metric(f"{label}, last hour", f"{int(totals.get(kind, 0)):,}")
    charts.show(charts.line(counts, "minute", "count", color="kind", title="per minute"))
    st.caption("Every organization's campaigns and regions together; refreshed every 5 s.")


live()
