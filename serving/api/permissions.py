"""Which permission each route of the app requires, read from the routes themselves.

Permission dependencies (``deps.require``, ``ingest.upload.signed_upload``) register
themselves here when they are made; :func:`route_rules` walks each route's dependency tree
for them, so the matrix below is always the one the app enforces. A route with no
permission dependency is either open to any signed-in caller (it depends on the caller's
identity, registered with :func:`declare_sign_in`) or public.

``python -m serving.api.permissions`` prints the matrix as the markdown table kept in
``serving/PERMISSIONS.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from ..auth.roles import MINIMUM_ROLE, ROLE_ORDER, Permission, Role

_PERMISSIONS: dict[Callable[..., Any], Permission] = {}
_SIGN_IN: set[Callable[..., Any]] = set()
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


def declare(dependency: Callable[..., Any], permission: Permission) -> None:
    """Record that ``dependency`` grants only callers whose role holds ``permission``."""
    _PERMISSIONS[dependency] = permission


def declare_sign_in(dependency: Callable[..., Any]) -> None:
    """Record that ``dependency`` establishes who the caller is (401 otherwise)."""
    _SIGN_IN.add(dependency)


@dataclass(frozen=True)
class RouteRule:
    """One method of one route and who may call it."""

    method: str
    path: str
    name: str
    permission: Permission | None
    signed_in: bool  # the caller must authenticate (always so when a permission is set)

    @property
    def minimum_role(self) -> Role | None:
        return MINIMUM_ROLE[self.permission] if self.permission is not None else None

    @property
    def access(self) -> str:
        if self.permission is not None:
            return self.permission.value
        return "any signed-in role" if self.signed_in else "public"


def _walk(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _walk(sub)


def route_rules(app: FastAPI) -> list[RouteRule]:
    """Every API route method of ``app`` (not the docs pages) with its permission, in the
    app's order; a route whose tree holds two permissions is an error."""
    rules: list[RouteRule] = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or route.path is None:
            continue
        calls = list(_walk(dependant))
        found = {_PERMISSIONS[c] for c in calls if c in _PERMISSIONS}
        if len(found) > 1:
            raise ValueError(f"{route.path} requires several permissions: {sorted(found)}")
        permission = next(iter(found), None)
        signed_in = permission is not None or any(c in _SIGN_IN for c in calls)
        for method in sorted(set(route.methods or ()) - IGNORED_METHODS):
            rules.append(RouteRule(method, route.path, route.name or "", permission, signed_in))
    return rules


def matrix_markdown(app: FastAPI) -> str:
    """The routes of ``app`` against the roles, as a markdown document."""
    roles = list(reversed(ROLE_ORDER))
    lines = [
        "# Permission matrix",
        "",
        "Generated from the routes (`python -m serving.api.permissions > serving/PERMISSIONS.md`);"
        " a test keeps it current. Roles are ordered owner > campaign_manager > analyst: a"
        " role holds every permission of the roles below it (`serving/auth/roles.py`).",
        "",
        "| permission | least role | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission, least in MINIMUM_ROLE.items():
        marks = " | ".join("yes" if role.includes(least) else "no" for role in roles)
        lines.append(f"| `{permission.value}` | {least.value} | {marks} |")
    lines += [
        "",
        "| method | path | needs | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for rule in route_rules(app):
        needed = rule.minimum_role
        marks = " | ".join(
            "yes" if needed is None or role.includes(needed) else "**403**" for role in roles
        )
        lines.append(f"| {rule.method} | `{rule.path}` | {rule.access} | {marks} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    # Run as ``-m``, this file is ``__main__``: the registry the routes filled is the one
    # of the imported module.
    from . import permissions
    from .main import create_app

    sys.stdout.write(permissions.matrix_markdown(create_app()))


if __name__ == "__main__":
    main()
