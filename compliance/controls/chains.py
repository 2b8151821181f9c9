"""The audit chains verify end to end and each has a recent signed checkpoint."""

from __future__ import annotations

from ..audit.cells import chain_names, verify_cells
from ..audit.checkpoints import checkpoints_of
from ..audit.log import head
from .evidence import EvidenceLog
from .model import ControlResult, Verdict
from .policy import ControlContext

HEAD = "SELECT audit_id, occurred_at FROM audit_log ORDER BY audit_id DESC LIMIT 1"


def audit_chain(context: ControlContext) -> ControlResult:
    """Every database's chain verifies against its signed checkpoints, and the newest
    checkpoint of each non-empty chain is younger than the policy's maximum age."""
    log = EvidenceLog()
    problems = []
    if context.public_key is None:
        problems.append("no audit signing key: checkpoints cannot be verified")
    reports = verify_cells(context.cells, context.checkpoint_dir, context.public_key)
    log.note(
        "all databases",
        "compliance.audit.verify_cells: recompute every row hash and link; "
        "match each signed checkpoint",
        [
            {
                "database": r.database,
                "entries": r.entries,
                "head": r.head_id,
                "checkpoints_matched": r.checkpoints_matched,
                "intact": r.intact,
            }
            for r in reports
        ],
        finding="each chain recomputed from its first entry (all must be intact)",
    )
    problems += [report.summary() for report in reports if not report.intact]
    max_age = context.policy.checkpoint_max_age
    newest_rows = []
    for name in chain_names(context.cells):
        with context.cells.connection(name) as conn:
            chain_head = head(conn)
        points = checkpoints_of(context.checkpoint_dir, name)
        newest = max((point for _, point in points), key=lambda p: p.audit_id, default=None)
        newest_rows.append(
            {
                "database": name,
                "head": chain_head.audit_id if chain_head else None,
                "checkpoint_audit_id": newest.audit_id if newest else None,
                "signed_at": newest.signed_at if newest else None,
            }
        )
        if chain_head is None:
            continue
        if newest is None:
            problems.append(f"{name}: no checkpoint")
        elif context.now - newest.signed_at > max_age:
            problems.append(f"{name}: newest checkpoint signed {newest.signed_at:%Y-%m-%d %H:%M}")
    log.note(
        str(context.checkpoint_dir),
        "the newest signed checkpoint file of each chain",
        newest_rows,
        finding=f"newest checkpoint per chain (must be younger than {max_age})",
    )
    verdict = Verdict.FAIL if problems else Verdict.PASS
    summary = "; ".join(problems) or (
        f"{len(reports)} chains intact, each checkpointed within {max_age}"
    )
    return ControlResult(
        "audit_chain",
        "The audit chain verifies and is anchored",
        verdict,
        summary,
        log.evidence(),
    )
