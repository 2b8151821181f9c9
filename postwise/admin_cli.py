"""``postwise admin``: operator commands for administrator security.

``postwise admin break-glass --org ORG --user EMAIL --reason TEXT --minutes N [--role R]``
raises a user's role for N minutes (owner by default) when no owner can act through the
API; ``postwise admin break-glass-revoke --org ORG --grant ID`` ends a grant early. Both
are written to the control database's audit log as ``operator:<login name>`` and the grant
raises the same alert as one made through the API (see :mod:`serving.auth.break_glass`).
"""

from __future__ import annotations

import argparse
import getpass
import uuid
from typing import Any

from .bootstrap import BootstrapError
from .console import echo
from .settings import Settings

ROLES = ("owner", "campaign_manager", "analyst")


def register(sub: Any) -> None:
    """Add ``postwise admin`` to the CLI's subcommands."""
    admin = sub.add_parser("admin", help="operator commands: break-glass access").add_subparsers(
        dest="what", required=True
    )
    grant = admin.add_parser(
        "break-glass", help="raise a user's role for a few minutes (alerted, audited)"
    )
    grant.add_argument("--org", required=True, help="the organization's slug")
    grant.add_argument("--user", required=True, help="the user's email address")
    grant.add_argument("--reason", required=True, help="why (mandatory, kept in the audit log)")
    grant.add_argument("--minutes", required=True, type=int, help="how long the grant lasts")
    grant.add_argument("--role", default="owner", choices=ROLES, help="the role granted")
    grant.set_defaults(handler=_break_glass)
    revoke = admin.add_parser("break-glass-revoke", help="end a break-glass grant now")
    revoke.add_argument("--org", required=True, help="the organization's slug")
    revoke.add_argument("--grant", required=True, type=uuid.UUID, help="the grant's id")
    revoke.set_defaults(handler=_break_glass_revoke)


def operator() -> str:
    return f"operator:{getpass.getuser()}"


def _break_glass(args: argparse.Namespace, settings: Settings) -> int:
    from serving.auth import Role
    from serving.auth.break_glass import GrantRefused, GrantTargetMissing, grant

    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells, cells.connection("control") as conn:
        org_id, user_id = _user(conn, args.org, args.user)
        try:
            made = grant(
                conn,
                org_id=org_id,
                user_id=user_id,
                role=Role(args.role),
                reason=args.reason,
                minutes=args.minutes,
                granted_by=operator(),
                max_minutes=settings.break_glass_max_minutes,
                webhook_attempts=settings.webhook_max_attempts,
            )
        except (GrantRefused, GrantTargetMissing) as exc:
            raise BootstrapError(str(exc)) from None
    echo(
        f"break-glass grant {made.grant_id}: {args.user} is {made.role.value} in {args.org} "
        f"until {made.expires_at.isoformat()}"
    )
    return 0


def _break_glass_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from serving.auth.break_glass import GrantTargetMissing, revoke

    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells, cells.connection("control") as conn:
        row = conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (args.org,)).fetchone()
        if row is None:
            raise BootstrapError(f"no organization {args.org!r}")
        try:
            revoke(conn, row[0], args.grant, operator())
        except GrantTargetMissing as exc:
            raise BootstrapError(str(exc)) from None
    echo(f"break-glass grant {args.grant} revoked")
    return 0


def _user(conn: Any, slug: str, email: str) -> tuple[uuid.UUID, uuid.UUID]:
    row = conn.execute(
        "SELECT o.org_id, u.user_id FROM orgs o JOIN users u USING (org_id) "
        "WHERE o.slug = %s AND u.email = %s AND u.disabled_at IS NULL",
        (slug, email.strip().lower()),
    ).fetchone()
    if row is None:
        raise BootstrapError(f"no active user {email} in organization {slug!r}")
    return row[0], row[1]
