"""Health checks for load balancers and orchestrators (no credentials, no details).

- ``GET /health``: the process is up (liveness).
- ``GET /health/ready``: the control database and Redis answer and no breaker is open
  (readiness); 503 otherwise, naming what failed.
"""

from __future__ import annotations

from typing import Literal

import psycopg
import redis
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..deps import ResourcesDep
from ..protobuf import ProtobufRoute
from ..resources import Resources
from ..responses import errors

router = APIRouter(route_class=ProtobufRoute, tags=["operations"])
NOT_READY = {
    "status": "unavailable",
    "checks": {"postgres:control": "ok", "redis": "failing", "breaker:redis": "open"},
}


class HealthPublic(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


@router.get("/health", response_model=HealthPublic, summary="Liveness", responses=errors(504))
def health() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/health/ready",
    response_model=HealthPublic,
    summary="Readiness: the control database, Redis and the breakers",
    responses={
        503: {
            "model": HealthPublic,
            "description": "Something the API needs is down",
            "content": {"application/json": {"example": NOT_READY}},
        },
        **errors(504),
    },
)
async def ready(resources: ResourcesDep) -> JSONResponse:
    checks = await run_in_threadpool(_checks, resources)
    ok = all(value in ("ok", "closed") for value in checks.values())
    body = HealthPublic(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _checks(resources: Resources) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with resources.cells.connection("control") as conn:
            conn.execute("SELECT 1")
        checks["postgres:control"] = "ok"
    except psycopg.Error:
        checks["postgres:control"] = "failing"
    if resources.redis is not None:
        try:
            resources.redis.ping()
            checks["redis"] = "ok"
        except redis.RedisError:
            checks["redis"] = "failing"
    for name, state in resources.ops.breakers.states().items():
        checks.setdefault(f"breaker:{name}", state)
    return checks
