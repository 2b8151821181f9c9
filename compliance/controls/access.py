"""Access controls in the control database: administrators' second factors and API keys'
rotation age."""

from __future__ import annotations

from warehouse.db import CONTROL

from .evidence import EvidenceLog
from .model import ControlResult, Verdict
from .policy import ControlContext

ADMINS_WITHOUT_FACTOR = """
    SELECT u.user_id, u.org_id, u.role, u.created_at
    FROM users u
    WHERE u.disabled_at IS NULL AND u.role = ANY(%(roles)s)
      AND NOT EXISTS (SELECT 1 FROM totp_factors t
                      WHERE t.user_id = u.user_id AND t.confirmed_at IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = u.user_id)
    ORDER BY u.created_at
"""
ADMINS = "SELECT count(*) AS admins FROM users WHERE disabled_at IS NULL AND role = ANY(%(roles)s)"

STALE_API_KEYS = """
    SELECT key_id, org_id, name, role, created_at,
           date_part('day', %(now)s - created_at)::int AS age_days
    FROM api_keys
    WHERE revoked_at IS NULL AND created_at < %(now)s - %(max_age)s
    ORDER BY created_at
"""
LIVE_API_KEYS = "SELECT count(*) AS live_keys FROM api_keys WHERE revoked_at IS NULL"


def admin_second_factor(context: ControlContext) -> ControlResult:
    """Every active user of an administrator role has a confirmed TOTP or a WebAuthn key."""
    log = EvidenceLog()
    params = {"roles": list(context.policy.admin_roles)}
    with context.cells.connection(CONTROL) as conn:
        total = log.query(conn, CONTROL, ADMINS, params, finding="active administrators")
        missing = log.query(
            conn,
            CONTROL,
            ADMINS_WITHOUT_FACTOR,
            params,
            finding="active administrators with no second factor (must be none)",
        )
    admins = total[0]["admins"]
    verdict = Verdict.FAIL if missing else Verdict.PASS
    summary = (
        f"{len(missing)} of {admins} administrators have no second factor"
        if missing
        else f"all {admins} administrators have a second factor"
    )
    return ControlResult(
        "admin_second_factor",
        "Administrators use a second factor",
        verdict,
        summary,
        log.evidence(),
    )


def api_key_rotation(context: ControlContext) -> ControlResult:
    """No live API key is older than the rotation age."""
    log = EvidenceLog()
    max_age = context.policy.api_key_rotation
    params = {"now": context.now, "max_age": max_age}
    with context.cells.connection(CONTROL) as conn:
        live = log.query(conn, CONTROL, LIVE_API_KEYS, finding="API keys not revoked")
        stale = log.query(
            conn,
            CONTROL,
            STALE_API_KEYS,
            params,
            finding=f"live API keys older than {max_age.days} days (must be none)",
        )
    verdict = Verdict.FAIL if stale else Verdict.PASS
    summary = (
        f"{len(stale)} of {live[0]['live_keys']} live API keys are older than {max_age.days} days"
        if stale
        else f"all {live[0]['live_keys']} live API keys are younger than {max_age.days} days"
    )
    return ControlResult(
        "api_key_rotation", "API keys are rotated", verdict, summary, log.evidence()
    )
