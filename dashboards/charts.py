"""Every chart of the dashboards, in Altair, so they look and behave alike: time on x, one
colour per series, tooltips with the exact values, the container's width."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
import streamlit as st

HEIGHT = 260


def line(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    y_format: str = ",.0f",
    title: str = "",
    rule_at: float | None = None,
    x_type: str = "T",
) -> alt.LayerChart | alt.Chart:
    """A line per ``color`` value over ``x`` (a time; ``x_type="Q"`` for a number, such as
    weeks since an event); ``rule_at`` draws a dashed threshold."""
    encoding: dict[str, object] = {
        "x": alt.X(f"{x}:{x_type}", title=None if x_type == "T" else x),
        "y": alt.Y(f"{y}:Q", title=title or y, axis=alt.Axis(format=y_format)),
        "tooltip": [alt.Tooltip(f"{x}:{x_type}"), alt.Tooltip(f"{y}:Q", format=y_format)],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
        encoding["tooltip"] = [*encoding["tooltip"], alt.Tooltip(f"{color}:N")]  # type: ignore[misc]
    chart = alt.Chart(frame).mark_line(point=len(frame) < 60).encode(**encoding)
    if rule_at is None:
        return chart.properties(height=HEIGHT)
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [rule_at]}))
        .mark_rule(strokeDash=[6, 4], color="#d62728")
        .encode(y="threshold:Q")
    )
    return alt.layer(chart, rule).properties(height=HEIGHT)


def bars(
    frame: pd.DataFrame,
    category: str,
    value: str,
    *,
    color: str | None = None,
    value_format: str = ",.0f",
    title: str = "",
    horizontal: bool = True,
) -> alt.Chart:
    """Bars of ``value`` per ``category`` (stacked by ``color``), largest first."""
    cat = (
        alt.Y(f"{category}:N", sort="-x", title=None)
        if horizontal
        else alt.X(f"{category}:N", title=None)
    )
    val = (alt.X if horizontal else alt.Y)(
        f"{value}:Q", title=title or value, axis=alt.Axis(format=value_format)
    )
    encoding: dict[str, object] = {
        "y" if horizontal else "x": cat,
        "x" if horizontal else "y": val,
        "tooltip": [alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=value_format)],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    return alt.Chart(frame).mark_bar().encode(**encoding).properties(height=HEIGHT)


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    *,
    x_sort: Sequence[str] | Sequence[float] | None = None,
    y_sort: Sequence[str] | Sequence[float] | None = None,
    value_format: str = ",.0f",
    title: str = "",
    scheme: str = "blues",
) -> alt.Chart:
    """Cells of ``value`` at (``x``, ``y``), both categorical."""
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", sort=x_sort if x_sort is not None else "ascending", title=x),
            y=alt.Y(f"{y}:O", sort=y_sort if y_sort is not None else "ascending", title=y),
            color=alt.Color(
                f"{value}:Q",
                title=title or value,
                scale=alt.Scale(scheme=scheme),  # type: ignore[arg-type]
            ),
            tooltip=[
                alt.Tooltip(f"{x}:O"),
                alt.Tooltip(f"{y}:O"),
                alt.Tooltip(f"{value}:Q", format=value_format),
            ],
        )
        .properties(height=HEIGHT)
    )


def interval(
    frame: pd.DataFrame,
    category: str,
    estimate: str,
    low: str,
    high: str,
    *,
    value_format: str = ".1%",
    title: str = "",
) -> alt.LayerChart:
    """A point per ``category`` with its confidence interval, and a rule at zero."""
    base = alt.Chart(frame).encode(y=alt.Y(f"{category}:N", title=None))
    bars_ = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(f"{low}:Q", title=title or estimate, axis=alt.Axis(format=value_format)),
        x2=f"{high}:Q",
    )
    points = base.mark_point(filled=True, size=70).encode(
        x=f"{estimate}:Q",
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip(f"{estimate}:Q", format=value_format),
            alt.Tooltip(f"{low}:Q", format=value_format),
            alt.Tooltip(f"{high}:Q", format=value_format),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888").encode(x="zero:Q")
    return alt.layer(bars_, points, zero).properties(height=max(80, 40 * len(frame)))


def with_bands(
    chart: alt.Chart | alt.LayerChart,
    bands: pd.DataFrame,
    start: str = "start",
    end: str = "end",
    *,
    color: str = "#d62728",
) -> alt.LayerChart:
    """``chart`` over shaded bands from ``start`` to ``end`` (times, e.g. flagged windows)."""
    shade = (
        alt.Chart(bands)
        .mark_rect(opacity=0.18, color=color)
        .encode(
            x=alt.X(f"{start}:T", title=None),
            x2=f"{end}:T",
            tooltip=[alt.Tooltip(f"{start}:T"), alt.Tooltip(f"{end}:T")],
        )
    )
    return alt.layer(shade, chart).properties(height=HEIGHT)


def show(chart: alt.Chart | alt.LayerChart) -> None:
    """Draw a chart at the container's width."""
    st.altair_chart(chart, width="stretch")


def empty(what: str) -> None:
    """Say plainly that there is nothing to draw."""
    st.info(f"No {what} for these filters.")
