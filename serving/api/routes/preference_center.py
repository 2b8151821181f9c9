"""Public pages reached from emails, authenticated by the signed token in their path:

- ``GET /t/p/{token}``: the contact's preference center (consents per channel and purpose,
  topics, frequency caps, how long its data is kept); ``POST`` saves the form. The link is
  in the footer of every email (:mod:`delivery.message.build`).
- ``GET /t/optin/{token}``: an opt-in confirmation link (step 2, the email confirmation, or
  step 3, the preference confirmation) shows a form; ``POST`` confirms. A token works once
  and expires (``OPT_IN_TOKEN_TTL_SECONDS``).

A GET never changes anything (link scanners follow links). Errors are pages with the
status and an ``X-Error-Code`` header: 400 a link that is not ours, 409 a link already used
or a consent whose state does not allow the step, 410 an expired link, 422 a form value
out of its limits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from compliance.consent import Evidence, OptInClaims, OptInTokens, Preferences
from compliance.errors import (
    ConsentError,
    InvalidPreferences,
    OptInTokenExpired,
    OptInTokenInvalid,
)
from delivery.message import TrackingUrls

from ...errors import ServingError, ValidationFailed
from ...preferences.pages import (
    confirm_email_page,
    confirm_preferences_page,
    confirmed_page,
    link_error_page,
    preference_page,
)
from ...preferences.service import ContactKey, PreferenceService, retention_date
from ...tracking import Client
from ..deps import CellsDep, ClientDep, SettingsDep, TrackerDep
from ..protobuf import ProtobufRoute
from ..responses import PUBLIC, errors
from .tracking import PRIVATE

router = APIRouter(route_class=ProtobufRoute, tags=["preferences"], responses=errors(*PUBLIC))
Checked = Annotated[list[str], Form(max_length=100)]
Count = Annotated[str, Form(max_length=3, pattern=r"^[0-9]*$")]


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {}}}


def _form_errors() -> dict[str, Any]:
    """422: a form value out of its limits answers the page (HTML); a request the schema
    refuses (a path or form field of the wrong shape) the common JSON error."""
    documented = errors(422)[422]
    documented["description"] = "A form value out of its limits (HTML), or a malformed request"
    documented["content"]["text/html"] = {}
    return documented


LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _html("Not a valid link"),
    409: _html("The link was already used, or the consent does not allow the step"),
    410: _html("The link has expired"),
    422: _form_errors(),
}


def get_service(cells: CellsDep, tracker: TrackerDep, settings: SettingsDep) -> PreferenceService:
    return PreferenceService(
        cells,
        tracker.signer,
        TrackingUrls(settings.tracking_base_url),
        OptInTokens(settings.secret_key, settings.opt_in_token_ttl_seconds),
        settings.consent_policy_version,
    )


Service = Annotated[PreferenceService, Depends(get_service)]


@router.get(
    "/t/p/{token}",
    summary="Preference center page",
    response_class=HTMLResponse,
    responses=LINK_ERRORS,
)
def preference_center(token: str, service: Service) -> HTMLResponse:
    """The contact's preferences as a form; changes nothing."""
    try:
        view = service.read(service.from_link(token))
    except ServingError as exc:
        return _error(exc.status_code, exc.code, exc.detail)
    return HTMLResponse(preference_page(view), headers=PRIVATE)


@router.post(
    "/t/p/{token}",
    summary="Save the preference center form",
    response_class=HTMLResponse,
    responses=LINK_ERRORS,
)
def save_preferences(
    token: str,
    service: Service,
    client: ClientDep,
    consent: Checked = [],  # noqa: B006 (FastAPI copies defaults)
    topic: Checked = [],  # noqa: B006
    max_per_day: Count = "",
    max_per_week: Count = "",
    retention_months: Annotated[str, Form(pattern=r"^(|6|12|24|36)$")] = "",
) -> HTMLResponse:
    """Grants the ticked consents, withdraws the others, stores topics, caps and the data
    expiration date; every change recorded with the client's IP and user agent."""
    try:
        key = service.from_link(token)
        view = service.read(key)
        wanted = {tuple(c.split(":", 1)) for c in consent if ":" in c}
        service.set_consents(key, {(a, b) for a, b in wanted}, _evidence(service, client))
        today = datetime.now(UTC).date()
        chosen = Preferences(
            topic_opt_outs=tuple(t for t in view.topics if t not in topic),
            max_per_day=_count(max_per_day),
            max_per_week=_count(max_per_week),
            retention_until=retention_date(retention_months, today)
            or view.preferences.retention_until,
        )
        saved = service.save(key, chosen, source="preference_center", actor="data_subject")
    except ServingError as exc:
        return _error(exc.status_code, exc.code, exc.detail)
    return HTMLResponse(preference_page(saved, saved=True), headers=PRIVATE)


@router.get(
    "/t/optin/{token}",
    summary="Opt-in confirmation page",
    response_class=HTMLResponse,
    responses=LINK_ERRORS,
)
def opt_in_page(token: str, service: Service) -> HTMLResponse:
    """A confirmation form for step 2 (email) or 3 (preferences); confirms nothing."""
    try:
        claims = service.tokens.read(token)
        if service.token_used(claims):
            return _error(409, "used_opt_in_token", "this confirmation link was already used")
        if claims.step == 2:
            return HTMLResponse(confirm_email_page(), headers=PRIVATE)
        view = service.read(_key(claims))
    except (ConsentError, ServingError) as exc:
        return _failure(exc)
    return HTMLResponse(
        confirm_preferences_page(view.topics, view.preferences, ""), headers=PRIVATE
    )


@router.post(
    "/t/optin/{token}",
    summary="Confirm an opt-in step",
    response_class=HTMLResponse,
    responses=LINK_ERRORS,
)
def confirm_opt_in(
    token: str,
    service: Service,
    client: ClientDep,
    topic: Checked = [],  # noqa: B006
    max_per_day: Count = "",
    max_per_week: Count = "",
) -> HTMLResponse:
    """Spends the token: step 2 confirms the address (and, in a triple opt-in, answers the
    preference form of step 3); step 3 stores the chosen preferences and grants consent."""
    try:
        claims = service.tokens.read(token)
        view = service.read(_key(claims)) if claims.step == 3 else None
        change = service.confirm(claims, _evidence(service, client, "confirmation_link"))
        if view is not None:
            chosen = replace(
                view.preferences,
                topic_opt_outs=tuple(t for t in view.topics if t not in topic),
                max_per_day=_count(max_per_day),
                max_per_week=_count(max_per_week),
            )
            service.save(view.key, chosen, source="opt_in", actor="data_subject")
        if change.next_token is not None:
            following = service.read(_key(claims))
            action = service.confirmation_link(change.next_token)
            page = confirm_preferences_page(following.topics, following.preferences, action)
            return HTMLResponse(page, headers=PRIVATE)
    except (ConsentError, ServingError) as exc:
        return _failure(exc)
    return HTMLResponse(confirmed_page(), headers=PRIVATE)


def _key(claims: OptInClaims) -> ContactKey:
    return ContactKey(claims.contact_id, claims.org_id, claims.region)


def _evidence(
    service: PreferenceService, client: Client, source: str = "preference_center"
) -> Evidence:
    return Evidence(
        source=source,
        policy_version=service.policy_version,
        ip=client.ip,
        user_agent=client.user_agent[:512] or None,
    )


def _count(value: str) -> int | None:
    if not value:
        return None
    number = int(value)
    if number < 1:
        raise ValidationFailed("invalid_preferences", "a limit must be at least 1")
    return number


def _failure(exc: ConsentError | ServingError) -> HTMLResponse:
    if isinstance(exc, ServingError):
        return _error(exc.status_code, exc.code, exc.detail)
    if isinstance(exc, OptInTokenInvalid):
        status = 400
    elif isinstance(exc, OptInTokenExpired):
        status = 410
    elif isinstance(exc, InvalidPreferences):
        status = 422
    else:
        status = 409
    return _error(status, exc.code, str(exc))


def _error(status: int, code: str, detail: str) -> HTMLResponse:
    headers = {**PRIVATE, "X-Error-Code": code}
    if status == 503:
        headers["Retry-After"] = "30"
    return HTMLResponse(link_error_page(status, detail), status, headers)
