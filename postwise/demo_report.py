"""The demo's report: one self-contained HTML file (charts drawn with matplotlib, embedded
as PNG) and a short summary for the terminal, from the figures the demo gathered."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .console import table


@dataclass
class LoopReport:
    """Everything the report shows; filled in by the demo as its stages finish."""

    campaign_id: str = ""
    routes: list[Any] = field(default_factory=list)  # demo.RouteRow
    uplift: Any = None  # demo_figures.SendTimeUplift
    bandit: Any = None  # demo_figures.BanditResult
    caught: Any = None  # demo_steps.Caught
    series: list[tuple[Any, int, float | None, bool]] = field(default_factory=list)
    promotions: list[Any] = field(default_factory=list)  # demo_steps.Promotion
    audit: list[Any] = field(default_factory=list)  # compliance.audit.cells reports
    stages: dict[str, float] = field(default_factory=dict)


def _percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f} pp"


def summary_lines(report: LoopReport) -> list[str]:
    """The terminal summary: one block per question the loop answers."""
    lines = []
    u = report.uplift
    if u is not None:
        lines.append(
            f"send time   optimized {_percent(u.opened_optimized / max(u.delivered_optimized, 1))}"
            f" of {u.delivered_optimized:,} opened vs holdout "
            f"{_percent(u.opened_holdout / max(u.delivered_holdout, 1))} of "
            f"{u.delivered_holdout:,}: uplift {_points(u.uplift)} "
            f"(95% CI {_points(u.low)} .. {_points(u.high)})"
        )
        lines.append(
            f"            ground truth: {_percent(u.expected_at_once)} sent at once, "
            f"{_percent(u.expected_scheduled)} as scheduled, {_percent(u.expected_oracle)} at the "
            f"oracle's hour: {_percent(u.share_of_oracle, 0)} of the oracle's uplift"
        )
    b = report.bandit
    if b is not None:
        lines.append(
            f"bandit      variants chosen {b.chosen_by}; expected click rate "
            f"{_percent(b.expected_model, 2)} vs uniform {_percent(b.expected_uniform, 2)} "
            f"(oracle {_percent(b.expected_oracle, 2)})"
        )
    c = report.caught
    if c is not None:
        verdict = (
            f"caught: alert on the {c.alert_bucket:%H:%M} hour (score {c.alert_score:.3f} >= "
            f"{c.threshold:.3f}), sender paused at {c.paused_at:%H:%M:%S} UTC, "
            f"{(c.paused_at - c.injected_at).total_seconds():.0f} s after injection"
            if c.caught
            else f"NOT caught (score {c.alert_score}, threshold {c.threshold})"
        )
        if c.repeat_of is not None:
            verdict += f"; the sender had another takeover at {c.repeat_of:%Y-%m-%d %H:%M} UTC"
        lines.append(f"incident    {c.incident.describe()}")
        lines.append(f"            {verdict}")
    for p in report.promotions:
        lines.append(f"retrain     {p.region:<5} {p.model:<16} {p.decision}")
    intact = all(r.intact for r in report.audit) if report.audit else None
    lines.append(
        f"audit       {len(report.audit)} chains, "
        + ("all verified" if intact else "NOT verified" if intact is False else "not checked")
    )
    return lines


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _charts(report: LoopReport) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    charts = []
    if report.routes:
        fig, ax = plt.subplots(figsize=(7, 3))
        names = [r.route for r in report.routes]
        bottom = [0] * len(names)
        for kind in ("delivered", "bounced", "failed", "suppressed"):
            values = [getattr(r, kind) for r in report.routes]
            ax.bar(names, values, bottom=bottom, label=kind)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("messages")
        ax.legend(fontsize=8)
        charts.append(("Sends by outcome and route", _png(fig)))
        plt.close(fig)
    u = report.uplift
    if u is not None and u.uplift is not None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
        from dashboards.queries.engagement import wilson_interval

        arms = [
            (u.opened_holdout, u.delivered_holdout),
            (u.opened_optimized, u.delivered_optimized),
        ]
        rates = [opened / delivered for opened, delivered in arms]
        bounds = [wilson_interval(opened, delivered) for opened, delivered in arms]
        errors = [
            [rate - low for rate, (low, _) in zip(rates, bounds, strict=True)],
            [high - rate for rate, (_, high) in zip(rates, bounds, strict=True)],
        ]
        left.bar(
            ["holdout (at once)", "optimized"], rates, yerr=errors, capsize=6,
            color=["#999", "#2a7"],
        )  # fmt: skip
        left.set_title(f"observed human opens (95% CI); uplift {_points(u.uplift)}", fontsize=9)
        right.bar(
            ["at once", "scheduled", "oracle"],
            [u.expected_at_once, u.expected_scheduled, u.expected_oracle],
            color=["#999", "#2a7", "#27a"],
        )
        right.set_title("ground truth: expected 24 h open rate", fontsize=9)
        charts.append(("Send-time optimization", _png(fig)))
        plt.close(fig)
    b = report.bandit
    if b is not None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
        keys = sorted(b.by_variant)
        left.bar(keys, [b.by_variant[k][1] / max(b.by_variant[k][0], 1) for k in keys])
        left.set_title("observed human click rate by variant", fontsize=9)
        right.bar(
            ["uniform", "model", "oracle"],
            [b.expected_uniform, b.expected_model, b.expected_oracle],
            color=["#999", "#2a7", "#27a"],
        )
        right.set_title("ground truth: expected click rate", fontsize=9)
        charts.append(("Personalization (contextual bandit)", _png(fig)))
        plt.close(fig)
    if report.series:
        fig, ax = plt.subplots(figsize=(9, 3))
        hours = [row[0] for row in report.series]
        ax.bar(hours, [row[1] for row in report.series], width=0.035, color="#27a")
        ax.set_ylabel("messages per hour")
        scores = ax.twinx()
        values = [float("nan") if row[2] is None else row[2] for row in report.series]
        scores.plot(hours, values, color="#c33", marker=".")
        scores.set_ylabel("anomaly score")
        scores.set_ylim(0, 1)
        for row in report.series:
            if row[3]:
                scores.axvline(row[0], color="#c33", linestyle="--")
        fig.autofmt_xdate()
        charts.append(("The injected incident: the sender's hours and anomaly scores", _png(fig)))
        plt.close(fig)
    if report.stages:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.barh(list(report.stages), list(report.stages.values()), color="#27a")
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        charts.append(("Time per stage", _png(fig)))
        plt.close(fig)
    return charts


def write_html(report: LoopReport, path: Path, extra_tables: Sequence[tuple[str, str]]) -> Path:
    """The report as one HTML file at ``path``; ``extra_tables`` are (title, text table)."""
    body = [
        f"<h1>Postwise: the loop, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</h1>",
        f"<p>Campaign {html.escape(report.campaign_id)}</p>",
        "<h2>Summary</h2><pre>" + html.escape("\n".join(summary_lines(report))) + "</pre>",
    ]
    for title, png in _charts(report):
        body.append(f'<h2>{html.escape(title)}</h2><img src="data:image/png;base64,{png}">')
    if report.promotions:
        rows = [[p.region, p.model, p.version or "-", p.decision] for p in report.promotions]
        extra_tables = [
            *extra_tables,
            ("Retrain", table(["region", "model", "version", "decision"], rows)),
        ]
    for title, text in extra_tables:
        body.append(f"<h2>{html.escape(title)}</h2><pre>{html.escape(text)}</pre>")
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Postwise loop report</title>'
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
        "pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
