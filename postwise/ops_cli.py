"""`postwise ops`: manual override switches of delivery, for an operator with database access.

    postwise ops pause [SCOPE] --reason TEXT          hold mail (all of it without a scope)
    postwise ops force-route ROUTE [SCOPE] --reason TEXT
                                                      send the scope's mail via ROUTE (never
                                                      outside residency: a recipient the route
                                                      may not serve is routed normally)
    postwise ops drain ROUTE [SCOPE] --reason TEXT    ROUTE takes no new mail of the scope
    postwise ops resume SWITCH_ID                     clear a switch (any kind)
    postwise ops list [--all] [--org ORG]             switches in force (--all: with history)

SCOPE is any of ``--org ORG`` (slug or id; without it the switch is platform-wide),
``--region R``, ``--route R`` (a pause of that route only) and ``--sender ORG/DOMAIN``.
Every change is audited in the control database (actor ``cli:<login name>``) and reaches
every worker within about a second (or their database poll, without Redis).
"""

from __future__ import annotations

import argparse
import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from .bootstrap import BootstrapError, organization_id
from .console import echo, fail, table
from .settings import Settings

EXIT_FAILURE = 1


def register(sub: Any) -> None:
    """Add the ``ops`` command and its subcommands to the CLI's subparsers."""
    parser = sub.add_parser("ops", help="manual override switches: pause, force or drain routes")
    actions = parser.add_subparsers(dest="what", required=True)
    pause = actions.add_parser("pause", help="hold sending: everything, or a scope")
    _scope_options(pause, route_option=True)
    pause.set_defaults(handler=_set, kind="pause")
    for name, kind, text in (
        ("force-route", "force_route", "send the scope's mail through ROUTE"),
        ("drain", "drain", "ROUTE takes no new mail of the scope; in-flight mail finishes"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("route", metavar="ROUTE", help="a configured route name")
        _scope_options(action, route_option=False)
        action.set_defaults(handler=_set, kind=kind)
    resume = actions.add_parser("resume", help="clear a switch: paused mail goes, routing resets")
    resume.add_argument("switch_id", metavar="SWITCH_ID")
    resume.set_defaults(handler=_resume)
    listing = actions.add_parser("list", help="the switches in force")
    listing.add_argument("--all", action="store_true", help="cleared switches too")
    listing.add_argument("--org", help="only this organization's switches (slug or id)")
    listing.set_defaults(handler=_list)


def _scope_options(parser: argparse.ArgumentParser, *, route_option: bool) -> None:
    parser.add_argument("--org", help="organization slug or id (default: every organization)")
    parser.add_argument("--region", help="only mail of this region")
    if route_option:
        parser.add_argument("--route", help="only mail going through this route")
    parser.add_argument("--sender", metavar="ORG/DOMAIN", help="one organization's domain")
    parser.add_argument("--reason", required=True, help="why (kept in the audit log)")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _set(args: argparse.Namespace, settings: Settings) -> int:
    from delivery.switches import SwitchError, SwitchRequest, set_switch, topology_of

    with _services(settings) as (cells, client):
        with cells.connection("control") as conn:
            try:
                org_id, domain = _scope(conn, args.org, args.sender)
                request = SwitchRequest(
                    args.kind, args.reason, org_id=org_id, region=args.region,
                    route=args.route, sending_domain=domain,
                )  # fmt: skip
                made = set_switch(conn, request, actor=_actor(), topology=topology_of(settings))
            except (SwitchError, BootstrapError) as exc:
                fail(str(exc))
                return EXIT_FAILURE
        told = _announce(client, settings)
    via = f" via {made.route}" if made.kind != "pause" else ""
    echo(f"switch {made.switch_id} set: {made.kind} {made.scope}{via} ({made.reason})")
    echo(told)
    return 0


def _resume(args: argparse.Namespace, settings: Settings) -> int:
    from delivery.switches import SwitchError, clear

    try:
        switch_id = uuid.UUID(args.switch_id)
    except ValueError:
        fail(f"{args.switch_id!r} is not a switch id (see postwise ops list)")
        return EXIT_FAILURE
    with _services(settings) as (cells, client):
        with cells.connection("control") as conn:
            try:
                cleared = clear(conn, switch_id, actor=_actor())
            except SwitchError as exc:
                fail(f"{exc} (see postwise ops list)")
                return EXIT_FAILURE
        told = _announce(client, settings)
    echo(f"switch {switch_id} cleared: {cleared.kind} {cleared.scope} no longer applies")
    echo(told)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.switches import active_switches, org_switches, switch_history

    with _services(settings, with_redis=False) as (cells, _):
        with cells.connection("control") as conn:
            try:
                org_id = organization_id(conn, args.org) if args.org else None
            except BootstrapError as exc:
                fail(str(exc))
                return EXIT_FAILURE
            if org_id is not None:
                found = org_switches(conn, org_id, include_cleared=args.all)
            elif args.all:
                found = switch_history(conn, datetime(1970, 1, 1, tzinfo=UTC))
            else:
                found = active_switches(conn)
    if not found:
        echo("no switches" + ("" if args.all else " in force"))
        return 0
    rows = [
        [s.switch_id, s.kind, s.scope, s.route if s.kind != "pause" else "",
         f"{s.created_at:%Y-%m-%d %H:%M:%S}", s.created_by,
         f"{s.cleared_at:%Y-%m-%d %H:%M:%S}" if s.cleared_at else "in force", s.reason]
        for s in found
    ]  # fmt: skip
    echo(table(["switch", "kind", "scope", "route", "set at", "by", "cleared", "reason"], rows))
    return 0


def _scope(
    conn: psycopg.Connection, org: str | None, sender: str | None
) -> tuple[uuid.UUID | None, str | None]:
    """The organization and sending domain named by ``--org`` and ``--sender``."""
    org_id = organization_id(conn, org) if org else None
    if sender is None:
        return org_id, None
    owner, _, domain = sender.partition("/")
    if not owner or not domain:
        raise BootstrapError(f"--sender is ORG/DOMAIN, not {sender!r}")
    sender_org = organization_id(conn, owner)
    if org_id is not None and org_id != sender_org:
        raise BootstrapError("--org and --sender name different organizations")
    return sender_org, domain


def _announce(client: Any, settings: Settings) -> str:
    from delivery.switches import announce

    if announce(client, settings.database_prefix):
        return "workers told; in force everywhere within about a second"
    return f"Redis unreachable: workers pick it up within {settings.switch_db_poll_seconds:g} s"


@contextmanager
def _services(settings: Settings, *, with_redis: bool = True) -> Iterator[tuple[Any, Any]]:
    """The cells and (unless not needed) a Redis client, closed on exit."""
    import redis

    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    client = None
    if with_redis and settings.redis_url:
        # Short timeouts: an unreachable Redis only delays the workers (their DB poll).
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
    try:
        with open_cells(settings, database_url) as cells:
            yield cells, client
    finally:
        if client is not None:
            client.close()
