"""Compliance: where the organization's consents stand and how sign-ups went through their
opt-in steps, the erasures carried out, suppressions and spam traps, and whether the audit
chain was last found intact and anchored."""

import pandas as pd
import streamlit as st

from dashboards import charts
from dashboards.cache import current_sources, load
from dashboards.filters import current_scope
from dashboards.queries import compliance
from dashboards.widgets import count_metric
from postwise.settings import get_settings

scope = current_scope("Compliance", reads_marts=False)
sources = current_sources()
st.caption(
    f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y} (UTC), regions {', '.join(scope.regions)}. "
    "Consent, erasure and audit records are not tied to campaigns: the campaign filter "
    "does not apply on this page."
)

st.subheader("Consent")
states = load(compliance.consent_states, scope)
activity = load(compliance.consent_activity, scope)
funnel = load(compliance.consent_funnel, scope)
consent_columns = st.columns(5)
consent_columns[0].metric("Consents granted", f"{states['granted']:,}")
consent_columns[1].metric("Consents pending", f"{states['pending']:,}")
consent_columns[2].metric("Consents withdrawn", f"{states['withdrawn']:,}")
signed_up = int(funnel.loc[funnel["stage"] == "signed up", "consents"].sum())
with consent_columns[3]:
    count_metric("Opt-ins started", signed_up)
with consent_columns[4]:
    count_metric("Withdrawals", activity.get("withdrawn", 0))
st.caption(
    "Granted, pending and withdrawn: every consent as it stands now (all days). Opt-ins "
    "started and withdrawals: consent events in the range."
)
if funnel.empty:
    charts.empty("opt-ins started in this range")
else:
    left, right = st.columns([3, 2])
    with left:
        charts.show(charts.bars(funnel, "stage", "consents", color="opt_in", title="consents"))
    with right:
        table = funnel.pivot(index="stage", columns="opt_in", values="consents")
        order = [s for s in compliance.FUNNEL_STAGES if s in table.index]
        st.dataframe(table.loc[order].fillna(0).astype("int64"), width="stretch")
    st.caption(
        "Consents signed up for in the range and how far each has come since: the email "
        "confirmation (step 2 of double and three-step opt-ins), the preference "
        "confirmation (step 3), granted (every step done), and withdrawn since."
    )

st.subheader("Erasures")
erased = load(compliance.erasures, scope)
columns = st.columns(4)
with columns[0]:
    count_metric("Erasures", len(erased))
with columns[1]:
    count_metric("Contacts erased", int(erased["contacts"].sum()))
with columns[2]:
    count_metric("Rows removed", int(erased["rows_removed"].sum()))
with columns[3]:
    count_metric("Pseudonymized subjects", load(compliance.erased_subjects, scope))
if erased.empty:
    st.info("No erasures in this range.")
else:
    st.dataframe(erased, hide_index=True, width="stretch")
    st.caption("Subjects appear only as a prefix of their hash: never an address.")

st.subheader("Audit chain")
# Files are read on every run, not cached: a report or checkpoint written a moment ago shows.
control = compliance.newest_chain_control(sources.controls_report_dir)
if control is None:
    st.info(
        f"No controls report in {sources.controls_report_dir}: run "
        "`postwise compliance controls` to verify the chains and record the result."
    )
else:
    when = f"{control.generated_at:%d %b %Y %H:%M} UTC" if control.generated_at else "unknown"
    verdict_column, time_column = st.columns(2)
    verdict_column.metric("Audit-chain control", control.verdict)
    time_column.metric("Last verified", when)
    st.caption(f"{control.file}: {control.summary}")
    if not control.databases.empty:
        st.dataframe(control.databases, hide_index=True, width="stretch")

max_age = get_settings().audit_checkpoint_max_age_hours
points = compliance.newest_checkpoints(sources.audit_checkpoint_dir)
heads = load(compliance.chain_heads, scope)
if points.empty:
    st.info(
        f"No signed checkpoints in {sources.audit_checkpoint_dir}: run "
        "`postwise audit checkpoint` (the hourly audit_checkpoints job does it too)."
    )
chains = heads.merge(points, on="database", how="left")
chains["fresh"] = chains["age_hours"].map(lambda age: bool(pd.notna(age) and age <= max_age))
stale = int(((~chains["fresh"]) & (chains["entries"] > 0)).sum())
intact = int(chains["verified_intact"].eq(True).sum())  # None: never verified
stale_column, intact_column = st.columns(2)
with stale_column:
    count_metric("Chains without a fresh checkpoint", stale)
intact_column.metric("Chains last verified intact", f"{intact} of {len(chains)}")
st.dataframe(
    chains[["database", "entries", "head_id", "head_at", "organization_entries",
            "verified_at", "verified_intact", "checkpoint_audit_id", "signed_at",
            "age_hours", "fresh"]],
    hide_index=True,
    width="stretch",
)  # fmt: skip
st.caption(
    f"Every database's chain (control and all regions, whatever the filters): entry count, "
    f"newest entry, how many entries are your organization's, its last verification (as "
    f"`postwise audit verify`, `postwise audit checkpoint` and the hourly audit_checkpoints "
    f"job record it), and its newest signed checkpoint, expected every hour and at most "
    f"{max_age} h old. Signatures are checked by the verifier, not here."
)

st.subheader("Suppressions and spam traps")
left, right = st.columns(2)
with left:
    reasons = load(compliance.suppressions, scope)
    if reasons.empty:
        charts.empty("suppressions added")
    else:
        charts.show(charts.bars(reasons, "reason", "addresses", title="addresses suppressed"))
with right:
    hits = load(compliance.trap_hits, scope)
    count_metric("Spam-trap hits", int(hits["hits"].sum()))
    if hits.empty:
        charts.empty("spam-trap hits")
    else:
        by_kind = hits.groupby(["source", "kind"], as_index=False)["hits"].sum()
        charts.show(charts.bars(by_kind, "source", "hits", color="kind", title="hits"))
held = load(compliance.quarantines, scope)
count_metric("Quarantined imports", len(held))
if not held.empty:
    st.dataframe(held, hide_index=True, width="stretch")
