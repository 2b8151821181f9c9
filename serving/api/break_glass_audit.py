"""Auditing every request made under a break-glass grant.

``deps.get_principal`` marks a request whose user's role a live grant raised
(``request.state.break_glass``); this ASGI middleware writes a ``break_glass.action`` entry
(method, path, status) to the control database's audit log as the answer starts, before the
caller sees it. An answer whose entry cannot be written is not sent.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth.break_glass import record_action
from ..auth.roles import Principal


class BreakGlassAudit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                principal = state.get("break_glass")
                if isinstance(principal, Principal) and principal.grant_id is not None:
                    await run_in_threadpool(_record, scope, principal, int(message["status"]))
            await send(message)

        await self.app(scope, receive, audited)


def _record(scope: Scope, principal: Principal, status: int) -> None:
    assert principal.grant_id is not None
    cells = scope["app"].state.resources.cells
    with cells.connection("control") as conn:
        record_action(
            conn,
            grant_id=principal.grant_id,
            org_id=principal.org_id,
            actor=principal.subject,
            method=scope["method"],
            path=scope["path"],
            status=status,
        )
