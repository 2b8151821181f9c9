"""``postwise users create`` and ``postwise api-keys create``: bootstrap an organization's
first owner and API keys from the command line (both in the control database, audited).

``postwise users create --org SLUG --email E --role R [--password-file F]`` makes a user (the
password is prompted twice unless read from a file or stdin; a password from the breached
list is refused and the refusal audited); ``postwise api-keys create --org SLUG --role R
--public-key FILE`` issues an API key for the P-521 public key in FILE and shows it once.
``--home-region`` creates the organization when it does not exist yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bootstrap import BootstrapError
from .console import echo
from .settings import Settings

if TYPE_CHECKING:
    from warehouse.db import Cells

ROLES = ("owner", "campaign_manager", "analyst")


def register(sub: Any) -> None:
    """Add ``postwise users`` and ``postwise api-keys`` to the CLI's subcommands."""
    users = sub.add_parser("users", help="users of an organization").add_subparsers(
        dest="what", required=True
    )
    user_create = users.add_parser("create", help="create a user (bootstrap an owner)")
    _account_options(user_create)
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--name", default="", help="display name")
    user_create.add_argument("--password-file", help="read the password from this file")
    user_create.set_defaults(handler=_users_create)

    keys = sub.add_parser("api-keys", help="API keys of an organization").add_subparsers(
        dest="what", required=True
    )
    key_create = keys.add_parser("create", help="create an API key for a P-521 public key")
    _account_options(key_create)
    key_create.add_argument("--public-key", required=True, help="PEM file of the public key")
    key_create.add_argument("--name", default="bootstrap key")
    key_create.set_defaults(handler=_api_keys_create)


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BootstrapError(f"cannot read {path}: {exc}") from None


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_file:
        return _read_file(args.password_file).rstrip("\r\n")
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise BootstrapError("the passwords differ")
    return first


def _refuse_breached(cells: Cells, password: str) -> None:
    """Refuse (and audit, in a transaction of its own) a password of the breached list."""
    from compliance.audit import record
    from serving.auth.passwords import BreachedPassword, check_new_password

    try:
        check_new_password(password)
    except BreachedPassword as exc:
        with cells.connection("control") as conn:
            record(
                conn,
                actor="operator:cli",
                action="password.breached_refused",
                details={"purpose": "user_created", "times_seen": exc.times_seen},
            )
        raise BootstrapError(str(exc)) from None
    except ValueError:
        return  # too short or too long: bootstrap_user says so


def _users_create(args: argparse.Namespace, settings: Settings) -> int:
    from serving.auth import Role

    from .bootstrap import bootstrap_user, find_or_create_org
    from .runtime import open_cells, resolve_database_url

    password = _read_password(args)
    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells:
        _refuse_breached(cells, password)
        with cells.connection("control") as conn:
            org = find_or_create_org(conn, args.org, args.home_region, settings.regions)
            user = bootstrap_user(conn, org, args.email, password, Role(args.role), args.name)
    made = " (organization created)" if org.created else ""
    echo(f"user {user.user_id} {user.email} ({user.role.value}) in {org.slug}{made}")
    return 0


def _api_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from serving.auth import Role

    from .bootstrap import bootstrap_api_key, find_or_create_org
    from .runtime import open_cells, resolve_database_url

    public_key = _read_file(args.public_key)
    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells, cells.connection("control") as conn:
        org = find_or_create_org(conn, args.org, args.home_region, settings.regions)
        issued = bootstrap_api_key(conn, org, args.name, Role(args.role), public_key)
    echo(f"key {issued.key_id} ({args.role}) in {org.slug}; shown once:")
    echo(issued.api_key)
    return 0


def _account_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", required=True, help="the organization's slug")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--home-region", help="create the organization in this region if missing")
