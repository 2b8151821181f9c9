"""``GET /metrics``: the API's Prometheus metrics (see :mod:`serving.resilience.metrics`).

The metrics describe the whole process, not one organization, so no tenant credential
opens them: with ``METRICS_TOKEN`` set a scraper sends ``Authorization: Bearer <token>``;
without it only loopback clients (a sidecar, the host's Prometheus) are answered.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response

from ...errors import AuthenticationFailed
from ...resilience.metrics import CONTENT_TYPE
from ..deps import ResourcesDep, SettingsDep
from ..protobuf import ProtobufRoute
from ..responses import errors
from .ops_switches import switch_metrics

router = APIRouter(route_class=ProtobufRoute, tags=["operations"])


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE: {}}},
        **errors(504, examples={401: ("metrics_token_required", "send the metrics token")}),
    },
)
def metrics(request: Request, resources: ResourcesDep, settings: SettingsDep) -> Response:
    token = settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise AuthenticationFailed("metrics_token_required", "send the metrics token")
    elif not _loopback(request.client.host if request.client else None):
        raise AuthenticationFailed(
            "metrics_token_required", "set METRICS_TOKEN to scrape metrics from other hosts"
        )
    # The delivery switches and paused senders, read at scrape time (operators' view).
    exposition = resources.ops.metrics.exposition() + switch_metrics(resources.cells)
    return Response(exposition, media_type=CONTENT_TYPE)
