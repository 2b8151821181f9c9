"""A user's own password: changing it (the current one proves the caller), with the new one
refused when it is weak or found in the shipped breached-password list.

Every refusal of a breached password, here and at user creation, is written to the control
audit log (``password.breached_refused``, the number of times it was seen, never the
password), as is every change (``password.changed``).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from compliance.audit import record
from warehouse.db import Cells

from ...auth import Principal
from ...auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    BreachedPassword,
    WeakPassword,
)
from ...auth.users import WrongPassword, change_password
from ...errors import ValidationFailed
from ..deps import CellsDep, PrincipalDep
from ..protobuf import ProtobufRoute
from ..responses import SIGNED_IN, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["account"], responses=errors(*SIGNED_IN)
)


class PasswordChange(BaseModel):
    current_password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, examples=["a long passphrase"]
    )
    new_password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        examples=["another long passphrase"],
    )


def refuse_breached(
    cells: Cells, principal: Principal, exc: BreachedPassword, purpose: str, subject: str = ""
) -> ValidationFailed:
    """Audit the refusal of a breached password; the 422 ``breached_password`` to raise."""
    with cells.connection("control") as conn:
        record(
            conn,
            actor=principal.subject,
            action="password.breached_refused",
            subject=subject or principal.subject,
            org_id=principal.org_id,
            details={"purpose": purpose, "times_seen": exc.times_seen},
        )
    return ValidationFailed("breached_password", str(exc))


@router.put(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password (users only; API keys have none)",
    responses=errors(
        examples={
            422: (
                "breached_password",
                "this password appears in lists of breached passwords (seen 2 times there); "
                "choose another",
            ),
        }
    ),
)
async def put_password(body: PasswordChange, principal: PrincipalDep, cells: CellsDep) -> None:
    if not principal.is_user:
        raise ValidationFailed("not_a_user", "passwords belong to users; API keys have none")
    await run_in_threadpool(_change, cells, principal, body)


def _change(cells: Cells, principal: Principal, body: PasswordChange) -> None:
    user_id = uuid.UUID(principal.subject.removeprefix("user:"))
    try:
        with cells.connection("control") as conn:
            change_password(conn, user_id, body.current_password, body.new_password)
            record(
                conn,
                actor=principal.subject,
                action="password.changed",
                subject=principal.subject,
                org_id=principal.org_id,
            )
    except WrongPassword as exc:
        raise ValidationFailed("wrong_password", str(exc)) from None
    except BreachedPassword as exc:
        raise refuse_breached(cells, principal, exc, "password_changed") from None
    except WeakPassword as exc:
        raise ValidationFailed("weak_password", str(exc)) from None
