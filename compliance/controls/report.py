"""A controls report written as dated JSON (for machines) and HTML (for auditors)."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .model import ControlResult, ControlsReport, Evidence


def report_document(report: ControlsReport) -> dict[str, Any]:
    """The JSON form of ``report``."""
    return {
        "generated_at": report.generated_at.isoformat(),
        "all_passed": report.all_passed,
        "controls": [
            {
                "control": result.control_id,
                "title": result.title,
                "verdict": result.verdict.value,
                "summary": result.summary,
                "evidence": [asdict(evidence) for evidence in result.evidence],
            }
            for result in report.results
        ],
    }


def write_report(report: ControlsReport, directory: Path) -> tuple[Path, Path]:
    """Write ``controls-<UTC time>.json`` and ``.html`` into ``directory``; returns both."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"controls-{report.generated_at:%Y-%m-%dT%H%M%SZ}"
    json_path = directory / f"{stem}.json"
    html_path = directory / f"{stem}.html"
    json_path.write_text(json.dumps(report_document(report), indent=2, default=str) + "\n")
    html_path.write_text(render_html(report))
    return json_path, html_path


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2433}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #d0d5dd;
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f2f4f7}
.pass{color:#067647;font-weight:600}.fail{color:#b42318;font-weight:600}
.not_applicable{color:#667085;font-weight:600}pre{background:#f8f9fb;padding:.5rem;
overflow-x:auto;border:1px solid #e4e7ec}section{margin-bottom:2rem}
"""


def render_html(report: ControlsReport) -> str:
    """A standalone HTML page: the verdicts, then each control's evidence queries."""
    when = f"{report.generated_at:%Y-%m-%d %H:%M} UTC"
    passed = sum(result.passed for result in report.results)
    rows = "".join(
        f"<tr><td><a href='#{r.control_id}'>{_e(r.title)}</a></td>"
        f"<td class='{r.verdict.value}'>{_e(r.verdict.value.replace('_', ' '))}</td>"
        f"<td>{_e(r.summary)}</td></tr>"
        for r in report.results
    )
    sections = "".join(_section(result) for result in report.results)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Postwise controls report {when}</title><style>{STYLE}</style></head><body>"
        f"<h1>Controls report</h1><p>Generated {when}: {passed} of {len(report.results)} "
        f"controls hold.</p><table><tr><th>Control</th><th>Verdict</th><th>Summary</th></tr>"
        f"{rows}</table>{sections}</body></html>\n"
    )


def _section(result: ControlResult) -> str:
    evidence = "".join(_evidence(item) for item in result.evidence)
    return (
        f"<section id='{result.control_id}'><h2>{_e(result.title)} "
        f"<span class='{result.verdict.value}'>{_e(result.verdict.value)}</span></h2>"
        f"<p>{_e(result.summary)}</p>{evidence}</section>"
    )


def _evidence(item: Evidence) -> str:
    columns = list(item.rows[0]) if item.rows else []
    head = "".join(f"<th>{_e(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(row.get(column))}</td>" for column in columns) + "</tr>"
        for row in item.rows
    )
    table = f"<table><tr>{head}</tr>{body}</table>" if item.rows else "<p>(no rows)</p>"
    return f"<h3>{_e(item.source)}: {_e(item.finding)}</h3><pre>{_e(item.query)}</pre>{table}"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))
