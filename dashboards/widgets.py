"""Headline numbers, formatted the same way on every page (tests parse them back with
:func:`count_text` and :func:`rate_text`)."""

from __future__ import annotations

import streamlit as st


def count_text(value: int | float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def rate_text(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def count_metric(
    label: str, value: int, before: int | None = None, *, inverse: bool = False
) -> None:
    """A count, with its change against the previous period in percent."""
    delta = None
    if before is not None:
        delta = f"{(value - before) / before:+.1%}" if before else ("new" if value else None)
    st.metric(
        label,
        count_text(value),
        delta=delta,
        delta_color="inverse" if inverse else "normal",
        help=None if before is None else f"previous period: {count_text(before)}",
    )


def rate_metric(
    label: str, value: float | None, before: float | None = None, *, inverse: bool = False
) -> None:
    """A rate, with its change against the previous period in percentage points."""
    delta = None
    if value is not None and before is not None:
        delta = f"{(value - before) * 100:+.2f} pp"
    st.metric(
        label,
        rate_text(value),
        delta=delta,
        delta_color="inverse" if inverse else "normal",
        help=None if before is None else f"previous period: {rate_text(before)}",
    )


def points_text(value: float | None, digits: int = 2) -> str:
    """A difference of two rates, signed, in percentage points."""
    return "–" if value is None else f"{value * 100:+.{digits}f} pp"
