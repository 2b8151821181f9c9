"""Anomalies: when a sender's volume looked wrong to the anomaly model, the windows it
flagged and the pauses that followed."""

import streamlit as st

from dashboards import charts
from dashboards.cache import load
from dashboards.filters import current_scope
from dashboards.queries import anomalies
from dashboards.widgets import count_metric

scope = current_scope("Anomalies")
st.caption(
    f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y} (UTC). A sender is a sending domain in "
    "one region; the campaign filter does not apply (volume and scores are per sender). "
    "Pauses in force now are counted and listed whatever the days."
)

scored = load(anomalies.series, scope)
flagged = anomalies.windows(scored)
linked = anomalies.link_pauses(load(anomalies.pauses, scope), flagged)

columns = st.columns(4)
with columns[0]:
    count_metric("Alerted hours", int(scored["is_alert"].sum()), inverse=True)
with columns[1]:
    count_metric("Flagged windows", len(flagged), inverse=True)
with columns[2]:
    count_metric("Senders paused now", anomalies.paused_now(linked), inverse=True)
with columns[3]:
    st.metric(
        "Median time to pause",
        anomalies.hours_text(anomalies.median_time_to_pause(linked)),
        help="from a window's first alerted hour to the anomaly sensor's pause",
    )


def sender_charts(region: str, domain: str) -> None:
    """Volume and score of one sender, its flagged windows shaded."""
    rows = scored[(scored["region"] == region) & (scored["sending_domain"] == domain)]
    bands = flagged[(flagged["region"] == region) & (flagged["sending_domain"] == domain)]
    left, right = st.columns(2)
    with left:
        volume = rows.dropna(subset=["messages"])
        if volume.empty:
            st.info("No send volume in the marts for this sender in these days: scores only.")
        else:
            chart = charts.line(volume, "bucket_start", "messages", title="messages per hour")
            charts.show(charts.with_bands(chart, bands))
    with right:
        scores = rows.dropna(subset=["anomaly_score"])
        if scores.empty:
            charts.empty("anomaly scores")
        else:
            threshold = float(scores["threshold"].iloc[-1])
            chart = charts.line(
                scores, "bucket_start", "anomaly_score", y_format=".2f", rule_at=threshold,
                title="anomaly score",
            )  # fmt: skip
            charts.show(charts.with_bands(chart, bands))


st.subheader("Series")
if scored.empty:
    charts.empty("send volume or anomaly scores")
else:
    choices = anomalies.senders(scored)
    region, domain = st.selectbox(
        "Sender", choices, format_func=lambda s: f"{s[1]} ({s[0]})", key="anomalies_sender"
    )
    sender_charts(region, domain)
    st.caption("Shaded: flagged windows. Dashed: the model's alert threshold.")

st.subheader("Flagged windows")
if flagged.empty:
    charts.empty("flagged windows")
else:
    causes = linked.dropna(subset=["window_start"])[
        ["region", "sending_domain", "window_start", "paused_at", "time_to_pause"]
    ]
    table = flagged.merge(
        causes,
        how="left",
        left_on=["region", "sending_domain", "start"],
        right_on=["region", "sending_domain", "window_start"],
    ).drop(columns="window_start")
    table["time_to_pause"] = anomalies.hours_texts(table["time_to_pause"])
    st.dataframe(table, hide_index=True)

st.subheader("Pauses")
if linked.empty:
    charts.empty("pauses")
else:
    shown = linked.assign(
        status=linked["resumed_at"].isna().map({True: "paused", False: "resumed"}),
        time_to_pause=anomalies.hours_texts(linked["time_to_pause"]),
    )
    st.dataframe(
        shown[
            [
                "region",
                "sending_domain",
                "status",
                "source_label",
                "reason",
                "paused_at",
                "resumed_at",
                "window_start",
                "time_to_pause",
            ]
        ],  # fmt: skip
        hide_index=True,
        column_config={"source_label": "source", "window_start": "caused by window from"},
    )
