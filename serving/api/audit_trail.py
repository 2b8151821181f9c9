"""The API's audit trail: administrative actions and everything done under break-glass.

An ASGI middleware writes one entry to the control database's audit log as the answer
starts, before the caller sees it (an answer whose entry cannot be written is not sent: when
the database is down the caller gets a 503 in its place, as for any other dependency
failure):

- ``break_glass.action`` for every request of a user whose role a live break-glass grant
  raised (``deps.get_principal`` marks it in ``request.state.break_glass``);
- ``api.<route name>`` for every other authenticated call that changes administrative
  state: users, API keys, webhooks, templates, campaigns and their sends, suppressions, and
  one's own second factors (:data:`AUDITED_PERMISSIONS`, :data:`AUDITED_PREFIXES`).

Entries name the route template and the method and status; path parameters are kept where
they identify administrative objects (a user, key, template, campaign) and withheld where
they could identify a recipient (:data:`PERSONAL_PARAMETERS`), since the control database
holds no recipient data and an audit entry can never be erased. Message sending, contact
writes and tracking are data-plane traffic, audited where they change consent or erase
(in the region cells), not here.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from compliance.audit import record

from ..auth.break_glass import record_action
from ..auth.roles import Permission, Principal
from ..resilience.middleware import fault_answer, send_answer
from .permissions import route_rules

log = logging.getLogger(__name__)

AUDITED_PERMISSIONS = frozenset(
    {
        Permission.USERS_MANAGE,
        Permission.API_KEYS_MANAGE,
        Permission.WEBHOOKS_MANAGE,
        Permission.TEMPLATES_WRITE,
        Permission.CAMPAIGNS_WRITE,
        Permission.CAMPAIGNS_SEND,
        Permission.SUPPRESSIONS_WRITE,
        Permission.IMPORTS_REVIEW,
    }
)
AUDITED_PREFIXES = ("/v1/factors",)
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PERSONAL_PARAMETERS = frozenset({"contact_id", "token", "email"})


class AuditTrail:
    """Audits administrative calls and break-glass requests (see the module docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._audited: frozenset[tuple[str, str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        replaced = False  # the answer gave way to a 503: its remaining parts are dropped

        async def audited(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                entry = self._entry(scope, state, int(message["status"]))
                if entry is not None:
                    try:
                        await run_in_threadpool(_write, scope, *entry)
                    except Exception as exc:
                        status, code, detail, retry_after = fault_answer(exc)
                        if status != 503:
                            raise
                        log.warning("audit entry not written, answering %d: %s", status, exc)
                        replaced = True
                        await send_answer(send, status, code, detail, retry_after)
                        return
            await send(message)

        await self.app(scope, receive, audited)

    def _entry(
        self, scope: Scope, state: dict[str, Any], status: int
    ) -> tuple[Principal, str, int] | None:
        raised = state.get("break_glass")
        if isinstance(raised, Principal) and raised.grant_id is not None:
            return raised, "break_glass", status
        principal = state.get("principal")
        route = scope.get("route")
        if not isinstance(principal, Principal) or route is None:
            return None
        if (scope["method"], getattr(route, "path", "")) not in self._audited_routes(scope):
            return None
        return principal, "api", status

    def _audited_routes(self, scope: Scope) -> frozenset[tuple[str, str]]:
        if self._audited is None:
            self._audited = frozenset(
                (rule.method, rule.path)
                for rule in route_rules(scope["app"])
                if rule.method in CHANGING_METHODS
                and (
                    rule.permission in AUDITED_PERMISSIONS or rule.path.startswith(AUDITED_PREFIXES)
                )
            )
        return self._audited


def shown_path(scope: Scope) -> str:
    """The request's route with its path parameters, personal ones withheld."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return "(no route)"
    shown = template
    for name, value in (scope.get("path_params") or {}).items():
        if name not in PERSONAL_PARAMETERS:
            shown = shown.replace("{" + name + "}", str(value))
    return shown


def _write(scope: Scope, principal: Principal, kind: str, status: int) -> None:
    cells = scope["app"].state.resources.cells
    method, path = scope["method"], shown_path(scope)
    with cells.connection("control") as conn:
        if kind == "break_glass":
            assert principal.grant_id is not None
            record_action(
                conn,
                grant_id=principal.grant_id,
                org_id=principal.org_id,
                actor=principal.subject,
                method=method,
                path=path,
                status=status,
            )
            return
        name = getattr(scope.get("route"), "name", "") or "call"
        record(
            conn,
            actor=principal.subject,
            action=f"api.{name}",
            subject=f"{method} {path}",
            org_id=principal.org_id,
            details={"method": method, "path": path, "status": status, "role": principal.role},
        )
