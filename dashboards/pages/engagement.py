"""Engagement: when people open, whether send-time optimization beats sending at once,
which content variant wins and how the bandit shares them out, and how engagement fades."""

import streamlit as st

from dashboards import charts
from dashboards.cache import load
from dashboards.filters import current_scope
from dashboards.queries import engagement
from dashboards.widgets import count_text, points_text, rate_text

scope = current_scope("Engagement")
st.caption(f"Mail queued {scope.start:%d %b %Y} – {scope.end:%d %b %Y} (UTC).")

hours = load(engagement.open_hours, scope)
variants = load(engagement.variants, scope)
best = engagement.best_hour(hours)
leader = None if variants.empty else variants.iloc[0]
columns = st.columns(4)
columns[0].metric("Human opens", count_text(int(hours["opens"].sum()) if len(hours) else 0))
columns[1].metric("Best hour (UTC)", "–" if best is None else f"{best:02d}:00")
columns[2].metric("Leading variant", "–" if leader is None else str(leader["variant"]))
columns[3].metric(
    "Leading variant click rate",
    rate_text(None if leader is None else float(leader["click_rate"])),
    help="the variant with the best inverse-propensity estimate; its observed click rate",
)

st.subheader("Send-time optimization against its holdout")
uplifts = load(engagement.uplifts, scope)
if uplifts.empty:
    st.info(
        "No campaign in these filters has a send-time holdout with delivered mail in both "
        "arms: give an optimal campaign a holdout share to measure it."
    )
else:
    cells = st.columns(min(4, len(uplifts)))
    for cell, row in zip(cells, uplifts.itertuples(), strict=False):
        cell.metric(
            f"Open-rate uplift: {row.name}",
            points_text(row.uplift),
            help=f"95% interval {points_text(row.low)} to {points_text(row.high)}; "
            f"{row.delivered_optimized:,} optimized and {row.delivered_holdout:,} holdout "
            "messages",
        )
    charts.show(charts.interval(uplifts, "name", "uplift", "low", "high", title="open-rate uplift"))
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        uplifts.drop(columns=["campaign_id"]),
        hide_index=True,
        column_config=dict.fromkeys(
            ("optimized_rate", "holdout_rate", "uplift", "low", "high"), percent
        ),
    )
    st.caption(
        f"Human opens within {engagement.HORIZON_HOURS} h of delivery, among delivered "
        "messages at least that old. The holdout is sent at once (the campaign's "
        "unoptimized time); the optimized arm at each recipient's best time, or at once "
        "without a score. Interval: 95% Newcombe hybrid score."
    )

st.subheader("Human opens by hour and weekday (UTC)")
if hours.empty:
    charts.empty("human opens")
else:
    charts.show(
        charts.heatmap(
            hours, "hour", "weekday", "opens", y_sort=list(engagement.WEEKDAYS), title="opens"
        )
    )
    st.caption("First human opens of the mail queued in these days, by when they came (UTC).")

st.subheader("Content variants")
if variants.empty:
    charts.empty("content variants")
else:
    left, right = st.columns(2)
    with left:
        charts.show(
            charts.bars(
                variants, "variant", "ips_click_rate", value_format=".2%", title="click rate (IPS)"
            )
        )
    with right:
        shares = load(engagement.allocation, scope)
        charts.show(
            charts.line(shares, "day", "share", color="variant", y_format=".0%", title="share")
        )
    st.dataframe(
        variants,
        hide_index=True,
        column_config={
            "click_rate": st.column_config.NumberColumn(format="percent"),
            "ips_click_rate": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        "Delivered messages carrying a variant. IPS: each exposure weighted by 1 / the "
        "probability the bandit gave its variant (self-normalized), the click rate had "
        "everyone got it. Share: the variants' part of each day's deliveries."
    )

st.subheader("Engagement decay by signup cohort")
decay = load(engagement.decay, scope)
if decay.empty:
    charts.empty("decay curves")
else:
    left, right = st.columns(2)
    for column, curve, label in (
        (left, "weeks_since_signup", "weeks since signup"),
        (right, "weeks_since_last_open", "weeks since the last open (-1 = never)"),
    ):
        with column:
            curve_rows = decay[decay["curve"] == curve].rename(columns={"week_index": label})
            charts.show(
                charts.line(
                    curve_rows, label, "open_rate", color="signup_month", y_format=".0%",
                    title="open rate", x_type="Q",
                )
            )  # fmt: skip
    st.caption(
        "Every day and campaign of the history (the days and campaign filters do not apply); "
        "the regions filter does."
    )
