"""The FastAPI application factory.

``create_app(settings)`` builds the app without touching anything: the database pools and
Redis are opened when the server starts (lifespan) and closed when it stops. Under
``uvicorn --factory serving.api.main:create_app`` (what ``postwise api`` runs) the settings
come from the environment through :func:`postwise.settings.get_settings`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Scope

from postwise.settings import Settings, get_settings

from ..resilience import ApiMetrics, GuardMiddleware
from .audit_trail import AuditTrail
from .handlers import install_error_handlers
from .resources import Resources
from .responses import install_openapi
from .routes import (
    account,
    auth_users,
    break_glass,
    campaigns,
    domains,
    factors,
    health,
    metrics,
    models,
    passwords,
    quarantines,
    templates,
    tracking,
    webhooks,
)
from .routes.contact_phones import router as contact_phones_router
from .routes.contacts import router as contacts_router
from .routes.erasures import router as erasures_router
from .routes.messages import router as messages_router
from .routes.ops_switches import router as ops_switches_router
from .routes.preference_center import router as preference_center_router
from .routes.preferences import router as preferences_router
from .routes.secure_links import router as secure_links_router
from .routes.suppressions import router as suppressions_router

TITLE = "Postwise API"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (default: the process's settings)."""
    resolved = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = Resources.open(resolved)
        try:
            yield
        finally:
            await app.state.resources.aclose()

    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description="Postwise: message ingestion, model serving, tracking and administration.",
        lifespan=lifespan,
    )
    app.state.settings = resolved  # what deps.SettingsDep answers (no dependency override)
    app.include_router(tracking.router)
    app.include_router(secure_links_router)
    app.include_router(account.router)
    app.include_router(passwords.router)
    app.include_router(preference_center_router)
    for router in (messages_router, contacts_router, suppressions_router, preferences_router):
        app.include_router(router)
    app.include_router(contact_phones_router)
    for router in (models.router, auth_users.router, metrics.router, health.router):
        app.include_router(router)
    app.include_router(erasures_router)
    app.add_middleware(
        GuardMiddleware,
        timeout_seconds=resolved.api_request_timeout_seconds,
        metrics_of=_metrics_of,
    )
    for router in (templates.router, campaigns.router, domains.router, webhooks.router):
        app.include_router(router)
    app.include_router(factors.router)
    app.include_router(break_glass.router)
    app.include_router(ops_switches_router)
    app.include_router(quarantines.router)
    app.add_middleware(AuditTrail)  # outermost: audited answers are not sent unrecorded
    install_error_handlers(app)
    install_openapi(app)
    return app


def _metrics_of(scope: Scope) -> ApiMetrics | None:
    """The app's metrics once it has started (None before)."""
    resources = getattr(scope["app"].state, "resources", None)
    return resources.ops.metrics if resources is not None else None
