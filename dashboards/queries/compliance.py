"""Compliance: consent, erasures, suppressions and spam traps of the viewer's organization,
and the audit chain's recorded verification state.

No mart holds these: consent and erasure records are product tables of the region cells
(``consents``, ``consent_events``, ``erasures``, ``erased_subjects``, ``suppressions``,
``spam_trap_hits``), quarantined imports are the control table ``import_quarantines``, and
the audit chain is ``audit_log`` in every database plus the files that
``postwise audit checkpoint`` (signed checkpoints) and ``postwise compliance controls``
(controls reports) write. The dashboards may not run the verifier, so the audit section
reads what those commands recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from warehouse.db import CONTROL

from ..scope import Scope
from ..sources import Sources, concat_frames

OPT_IN_NAMES = {1: "single opt-in", 2: "double opt-in", 3: "three-step opt-in"}
FUNNEL_STAGES = ("signed up", "email confirmed", "preferences confirmed", "granted", "withdrew")
STATUSES = ("granted", "pending", "withdrawn")

_STATES = """
SELECT c.status, count(*)::bigint AS consents
FROM consents c JOIN contacts k USING (contact_id)
WHERE k.org_id = %(org_id)s
GROUP BY c.status
"""

# The consents whose sign-up (step 1 of an opt-in) falls in the range, and how far each has
# come since: its current row keeps the opt-in's length and the steps done, and a withdrawal
# keeps both, so "granted" counts those that completed every step even if they left later.
_FUNNEL = """
WITH entered AS (
    SELECT DISTINCT contact_id, channel, purpose FROM consent_events
    WHERE org_id = %(org_id)s AND step = 1 AND action IN ('requested', 'granted')
      AND occurred_at >= %(since)s AND occurred_at < %(until)s
)
SELECT c.opt_in_steps::int AS steps,
       count(*)::bigint AS "signed up",
       count(*) FILTER (WHERE c.steps_completed >= 2)::bigint AS "email confirmed",
       count(*) FILTER (WHERE c.steps_completed >= 3)::bigint AS "preferences confirmed",
       count(*) FILTER (WHERE c.steps_completed >= c.opt_in_steps)::bigint AS granted,
       count(*) FILTER (WHERE c.status = 'withdrawn')::bigint AS withdrew
FROM entered JOIN consents c USING (contact_id, channel, purpose)
GROUP BY c.opt_in_steps
"""

_ACTIVITY = """
SELECT action, count(*)::bigint AS events
FROM consent_events
WHERE org_id = %(org_id)s AND occurred_at >= %(since)s AND occurred_at < %(until)s
GROUP BY action
"""

_ERASURES = """
SELECT erasure_id::text AS request_id, left(encode(subject_hash, 'hex'), 12) AS subject_hash,
       erased_at, contacts::bigint AS contacts,
       (SELECT coalesce(sum(value::bigint), 0)
        FROM jsonb_each_text(coalesce(removed -> 'removed', '{}')))::bigint AS rows_removed,
       (SELECT coalesce(sum(value::bigint), 0)
        FROM jsonb_each_text(coalesce(removed -> 'pseudonymized', '{}')))::bigint
           AS rows_pseudonymized,
       certificate_audit_id
FROM erasures
WHERE org_id = %(org_id)s AND erased_at >= %(since)s AND erased_at < %(until)s
"""

_ERASED_SUBJECTS = """
SELECT count(*)::bigint AS subjects FROM erased_subjects
WHERE org_id = %(org_id)s AND erased_on BETWEEN %(start)s AND %(end)s
"""

_SUPPRESSIONS = """
SELECT reason, count(*)::bigint AS addresses FROM suppressions
WHERE org_id = %(org_id)s AND created_at >= %(since)s AND created_at < %(until)s
GROUP BY reason
"""

_TRAP_HITS = """
SELECT day, source, kind, sum(hits)::bigint AS hits FROM spam_trap_hits
WHERE org_id = %(org_id)s AND day BETWEEN %(start)s AND %(end)s
GROUP BY day, source, kind
"""

_QUARANTINES = """
SELECT import_id::text AS import_id, created_at, received, held, trap_hits, status, decided_at
FROM import_quarantines
WHERE org_id = %(org_id)s AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at DESC
"""

# Platform records: only counts and the head, plus how many entries are the viewer's; and
# the last verification recorded by `postwise audit verify|checkpoint` or the hourly job.
_HEAD = """
SELECT h.*, v.finished_at AS verified_at, (v.details ->> 'intact')::boolean AS verified_intact
FROM (
    SELECT count(*)::bigint AS entries, max(audit_id) AS head_id, max(occurred_at) AS head_at,
           count(*) FILTER (WHERE org_id = %(org_id)s)::bigint AS organization_entries
    FROM audit_log
) h
LEFT JOIN LATERAL (
    SELECT finished_at, details FROM job_runs
    WHERE job = 'audit_verify' ORDER BY finished_at DESC LIMIT 1
) v ON true
"""


def consent_states(sources: Sources, scope: Scope) -> dict[str, int]:
    """How many of the organization's consents are granted, pending and withdrawn now."""
    frame = sources.region_frame(scope.regions, _STATES, scope.params())
    counts = frame.groupby("status")["consents"].sum() if not frame.empty else {}
    return {status: int(counts.get(status, 0)) for status in STATUSES}


def consent_funnel(sources: Sources, scope: Scope) -> pd.DataFrame:
    """opt_in, stage, consents: of the consents signed up for in the range, how many reached
    each stage of ``FUNNEL_STAGES``, per opt-in kind (stages an opt-in lacks are left out)."""
    frame = sources.region_frame(scope.regions, _FUNNEL, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["opt_in", "stage", "consents"])
    totals = frame.groupby("steps", as_index=False)[list(FUNNEL_STAGES)].sum()
    long = totals.melt("steps", list(FUNNEL_STAGES), "stage", "consents")
    applies = ~(
        ((long["stage"] == "email confirmed") & (long["steps"] < 2))
        | ((long["stage"] == "preferences confirmed") & (long["steps"] < 3))
    )
    long = long[applies].copy()
    long["opt_in"] = long["steps"].map(OPT_IN_NAMES)
    long["consents"] = long["consents"].astype("int64")
    long["rank"] = long["stage"].map({stage: i for i, stage in enumerate(FUNNEL_STAGES)})
    long = long.sort_values(["steps", "rank"])
    return long[["opt_in", "stage", "consents"]].reset_index(drop=True)


def consent_activity(sources: Sources, scope: Scope) -> dict[str, int]:
    """Consent events in the range per action (requested, confirmed, granted, ...)."""
    frame = sources.region_frame(scope.regions, _ACTIVITY, scope.params())
    if frame.empty:
        return {}
    return {str(k): int(v) for k, v in frame.groupby("action")["events"].sum().items()}


def erasures(sources: Sources, scope: Scope) -> pd.DataFrame:
    """The erasures carried out in the range, newest first: request id, a prefix of the
    subject hash (never the address), time, contacts erased, rows removed and rows
    pseudonymized (``removed`` holds both, per table), certificate audit id."""
    frame = sources.region_frame(scope.regions, _ERASURES, scope.params())
    if frame.empty:
        return pd.DataFrame(
            columns=["region", "request_id", "subject_hash", "erased_at", "contacts",
                     "rows_removed", "rows_pseudonymized", "certificate_audit_id"]
        )  # fmt: skip
    return frame.sort_values("erased_at", ascending=False).reset_index(drop=True)


def erased_subjects(sources: Sources, scope: Scope) -> int:
    """Contacts pseudonymized by erasures on the range's days."""
    frame = sources.region_frame(scope.regions, _ERASED_SUBJECTS, scope.params())
    return int(frame["subjects"].sum()) if not frame.empty else 0


def suppressions(sources: Sources, scope: Scope) -> pd.DataFrame:
    """reason, addresses: suppressions added in the range."""
    frame = sources.region_frame(scope.regions, _SUPPRESSIONS, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["reason", "addresses"])
    return frame.groupby("reason", as_index=False)["addresses"].sum()


def trap_hits(sources: Sources, scope: Scope) -> pd.DataFrame:
    """day, source, kind, hits: spam-trap hits on the range's days."""
    frame = sources.region_frame(scope.regions, _TRAP_HITS, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["day", "source", "kind", "hits"])
    return frame.groupby(["day", "source", "kind"], as_index=False)["hits"].sum()


def quarantines(sources: Sources, scope: Scope) -> pd.DataFrame:
    """Contacts imports quarantined in the range (control database), newest first."""
    return sources.frame(CONTROL, _QUARANTINES, scope.params())


def chain_heads(sources: Sources, scope: Scope) -> pd.DataFrame:
    """database, entries, head_id, head_at, organization_entries, verified_at,
    verified_intact: each chain's head and its last recorded verification (None: never)."""
    frames = [
        sources.frame(name, _HEAD, scope.params()).assign(database=name)
        for name in (CONTROL, *sources.regions)
    ]
    frame = concat_frames(frames)
    return frame[
        ["database", "entries", "head_id", "head_at", "organization_entries", "verified_at",
         "verified_intact"]
    ]  # fmt: skip


def newest_checkpoints(directory: Path, now: datetime | None = None) -> pd.DataFrame:
    """database, checkpoint_audit_id, signed_at, age_hours, file, unreadable: the newest
    readable signed checkpoint of each database in ``directory``, and how many newer files
    could not be read. Files are named ``<database>-<audit id, 12 digits>.json``, so files
    are opened newest first and the walk stops at the first readable one (a year of hourly
    checkpoints is tens of thousands of files). Signatures are not checked here
    (``postwise audit verify`` does)."""
    columns = ["database", "checkpoint_audit_id", "signed_at", "age_hours", "file", "unreadable"]
    files: dict[str, list[Path]] = {}
    for path in sorted(directory.glob("*-*.json")) if directory.is_dir() else []:
        database, _, number = path.stem.rpartition("-")
        if number.isdigit():
            files.setdefault(database, []).append(path)  # by name: the 12-digit id orders them
    moment = now or datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    for database, paths in sorted(files.items()):
        unreadable = 0
        for path in reversed(paths):
            try:
                document = json.loads(path.read_bytes())
                audit_id = int(document["audit_id"])
                signed = datetime.fromisoformat(str(document["signed_at"]).replace("Z", "+00:00"))
                age = (moment - signed).total_seconds() / 3600
            except (OSError, ValueError, KeyError, TypeError):
                unreadable += 1
                continue
            rows.append((database, audit_id, signed, age, path.name, unreadable))
            break
        else:
            rows.append((database, None, None, None, None, unreadable))
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class ChainControl:
    """The audit-chain control of the newest controls report."""

    file: str
    generated_at: datetime | None
    all_passed: bool | None
    verdict: str  # pass, fail, not_applicable; "missing" when the report has no such control
    summary: str
    databases: pd.DataFrame  # database, entries, head, checkpoints_matched, intact


def newest_chain_control(directory: Path) -> ChainControl | None:
    """The ``audit_chain`` result of the newest ``controls-*.json`` in ``directory``; None
    when there is no report. A report that cannot be read is an ``unreadable`` verdict."""
    reports = sorted(directory.glob("controls-*.json")) if directory.is_dir() else []
    if not reports:
        return None
    path = reports[-1]
    try:
        document = json.loads(path.read_text())
        generated_at = datetime.fromisoformat(str(document["generated_at"]))
        control = next((c for c in document["controls"] if c.get("control") == "audit_chain"), None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return ChainControl(path.name, None, None, "unreadable", str(exc), pd.DataFrame())
    if control is None:
        return ChainControl(path.name, generated_at, document.get("all_passed"), "missing",
                            "the report has no audit-chain control", pd.DataFrame())  # fmt: skip
    evidence = control.get("evidence") or []
    rows = evidence[0].get("rows", []) if evidence else []
    return ChainControl(
        path.name,
        generated_at,
        document.get("all_passed"),
        str(control.get("verdict", "")),
        str(control.get("summary", "")),
        pd.DataFrame(rows),
    )
