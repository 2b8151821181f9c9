"""Large request bodies (contacts imports) without holding them in memory: the body streams
into a spooled temporary file (memory up to ``SPOOL_MEMORY_BYTES``, disk beyond) while its
SHA-512 is computed, then the request's signature is checked against that digest before a
single record is read (a logged-in user's bearer token is checked before the body is read);
the caller then passes the rate limits like any other request. The importer reads the file
back piece by piece."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import IO, Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ..api.deps import ResourcesDep, SettingsDep
from ..api.permissions import declare
from ..auth import MINIMUM_ROLE, Permission, Principal, allows
from ..auth.signing import signed_target
from ..errors import PayloadTooLarge, PermissionDenied

SPOOL_MEMORY_BYTES = 1024 * 1024


@dataclass
class Upload:
    principal: Principal
    body: IO[bytes]
    size: int
    content_type: str


async def spool(chunks: AsyncIterator[bytes], file: IO[bytes], limit: int) -> tuple[int, str]:
    """Copy ``chunks`` into ``file`` (rewound after); (size, hex SHA-512). 413 over ``limit``."""
    digest = hashlib.sha512()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the {limit}-byte limit of an import")
        digest.update(chunk)
        file.write(chunk)
    file.seek(0)
    return size, digest.hexdigest()


def signed_upload(
    permission: Permission,
) -> Callable[[Request, ResourcesDep, SettingsDep], Coroutine[Any, Any, AsyncIterator[Upload]]]:
    """A dependency yielding the caller's spooled body once its signature holds and its
    role has ``permission``; the file is removed after the response."""

    async def dependency(
        request: Request, resources: ResourcesDep, settings: SettingsDep
    ) -> AsyncIterator[Upload]:
        limit = settings.import_max_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise PayloadTooLarge(f"the body has {length} bytes; an import takes {limit} at most")
        authorization = request.headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
        principal = (
            await run_in_threadpool(resources.ops.sessions.authenticate, bearer)
            if bearer is not None
            else None
        )
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as file:
            size, digest = await spool(request.stream(), file, limit)
            if principal is None:
                path = signed_target(request.scope)
                headers = {k.lower(): v for k, v in request.headers.items()}
                principal = await run_in_threadpool(
                    lambda: resources.authenticator.authenticate(
                        headers, request.method, path, b"", body_sha512=digest
                    )
                )
            await run_in_threadpool(resources.ops.admit, principal)
            if not allows(principal.role, permission):
                raise PermissionDenied(
                    f"the {principal.role.value} role may not "
                    f"{permission.value.replace(':', ' ')} (needs {MINIMUM_ROLE[permission].value})"
                )
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            yield Upload(principal, file, size, content_type.lower())

    declare(dependency, permission)
    return dependency  # type: ignore[return-value]
