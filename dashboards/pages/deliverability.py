"""Deliverability: what providers answered, how long delivery took, why mail bounced, how
the sending domains stand against the reputation floor, route health and paused senders."""

import redis
import streamlit as st

from dashboards import charts
from dashboards.cache import current_sources, load
from dashboards.filters import current_scope
from dashboards.queries import deliverability as q
from dashboards.widgets import count_metric, count_text, rate_metric

ROUTE_HEALTH_REFRESH_SECONDS = 10

scope = current_scope("Deliverability")
st.caption(f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y} (UTC).")

replies = load(q.replies, scope)
latencies = load(q.latencies, scope)
bounces = load(q.bounces, scope)
reputation = load(q.reputation, scope)
low = q.below_floor(reputation)
paused = load(q.paused_senders, scope)

bounced = int(bounces["messages"].sum())
hard = int(bounces.loc[bounces["bounce_type"] == "hard", "messages"].sum())
p95 = q.latency_quantile(latencies, 0.95)
columns = st.columns(5)
with columns[0]:
    count_metric("Bounces", bounced)
with columns[1]:
    rate_metric("Hard-bounce share", hard / bounced if bounced else None)
with columns[2]:
    st.metric("p95 delivery latency", "–" if p95 is None else f"{p95:,.1f} s")
with columns[3]:
    count_metric(f"Sender pairs below {q.REPUTATION_FLOOR}", len(low))
with columns[4]:
    count_metric("Paused senders", len(paused))

st.subheader("SMTP replies by route and hour of day")
if replies.empty:
    charts.empty("SMTP replies")
else:
    reply_class = st.radio(
        "Reply class", q.REPLY_CLASSES, horizontal=True, key="deliverability_reply_class"
    )
    shares = q.reply_shares(replies, reply_class)
    charts.show(
        charts.heatmap(
            shares,
            "hour",
            "route",
            "share",
            value_format=".2%",
            title=f"{reply_class} share",
            scheme="orangered",
        )  # fmt: skip
    )
    codes = (
        replies.groupby(["route", "reply_class", "enhanced_code"], as_index=False)["responses"]
        .sum()
        .sort_values("responses", ascending=False)
    )
    with st.expander("Codes by route"):
        st.dataframe(codes, hide_index=True, width="stretch")
    st.caption(
        "Share of your mail's SMTP replies in the chosen class, per route and UTC hour of "
        "day over the selected days."
    )

st.subheader("Delivery latency")
if latencies.empty:
    charts.empty("deliveries")
else:
    per_period = q.latency_percentiles(latencies, scope)
    series = per_period.melt(["route", "period"], list(q.QUANTILES), "percentile", "seconds")
    series["series"] = series["route"] + " " + series["percentile"]
    charts.show(charts.line(series, "period", "seconds", color="series", y_format=",.1f"))
    st.caption(
        "Seconds from queueing to the provider's acceptance, per route and "
        f"{'UTC hour' if scope.days <= 3 else 'UTC day'}: exact percentiles over that "
        "period's messages of every selected region (never averages of percentiles)."
    )

st.subheader("Bounce reasons")
if bounces.empty:
    charts.empty("bounces")
else:
    top = bounces.copy()
    top["reason"] = top["bounce_reason"].str.slice(0, 80)
    by_reason = top.groupby(["reason", "bounce_type"], as_index=False)["messages"].sum()
    keep = by_reason.groupby("reason")["messages"].sum().nlargest(12).index
    charts.show(
        charts.bars(
            by_reason[by_reason["reason"].isin(keep)], "reason", "messages", color="bounce_type"
        )
    )
    with st.expander("Every bounce reason"):
        st.dataframe(bounces, hide_index=True, width="stretch")

st.subheader(f"Domain reputation against the {q.REPUTATION_FLOOR} floor")
if reputation.empty:
    charts.empty("sending-domain reputation")
else:
    domains = sorted(reputation["sending_domain"].unique())
    domain = st.selectbox("Sending domain", domains, key="deliverability_domain")
    shown = reputation[reputation["sending_domain"] == domain].copy()
    shown["provider"] = shown["mailbox_provider"]
    if len(scope.regions) > 1:
        shown["provider"] = shown["provider"] + " (" + shown["region"] + ")"
    charts.show(
        charts.line(
            shown,
            "day",
            "reputation_score",
            color="provider",
            y_format=".2f",
            title="reputation score",
            rule_at=q.REPUTATION_FLOOR,
        )  # fmt: skip
    )
    if not low.empty:
        st.dataframe(
            low[["region", "sending_domain", "mailbox_provider", "day", "reputation_score"]],
            hide_index=True,
            width="stretch",
        )
st.caption(
    f"Below {q.REPUTATION_FLOOR} delivery caps a domain's hourly volume. Only sending domains "
    "no other organization uses are shown (a shared domain's score mixes their mail); the "
    "campaign filter does not apply."
)


@st.fragment(run_every=ROUTE_HEALTH_REFRESH_SECONDS)
def route_health() -> None:
    """Breakers as the workers report them now, and the last hour's outcomes per route."""
    st.subheader("Route health")
    sources = current_sources()
    try:
        reports = q.breaker_reports(sources)
    except redis.RedisError:
        st.warning("Redis cannot be reached: the workers' breaker states are not shown.")
        reports = []
    table = q.route_health(sources, scope, reports)
    if table.empty:
        st.info("No worker reports its routes and no mail went out in the last hour.")
        return
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Breaker state: the worst across the delivery workers reporting now (every "
        "organization shares the routes). Outcome counts: your organization's events of the "
        "last hour in the selected regions; the days and campaign filters do not apply. "
        f"Refreshed every {ROUTE_HEALTH_REFRESH_SECONDS} s."
    )


route_health()

st.subheader("Paused senders and switches")
if paused.empty:
    st.info("No sending domain of yours is paused in these regions.")
else:
    st.dataframe(paused, hide_index=True, width="stretch")
switches = load(q.switches, scope.org_id)
if switches.empty:
    st.info("No operator switch holds your mail.")
else:
    st.dataframe(switches, hide_index=True, width="stretch")
st.caption(
    f"Pauses and switches in force now ({count_text(len(paused))} paused senders, "
    f"{count_text(len(switches))} switches); the days and campaign filters do not apply."
)
