"""A contact's consents and preferences, for sender applications and staff:

- ``GET /v1/contacts/{contact_id}/preferences``: consents (channel permissions), topics
  opted out of, frequency caps, data expiration date, and the contact's preference-center
  link;
- ``PUT /v1/contacts/{contact_id}/preferences``: replaces the preferences;
- ``POST /v1/contacts/{contact_id}/opt-ins``: step 1 of a one-, two- or three-step opt-in
  (the sign-up); answers the confirmation link to send the contact (none for one step);
- ``POST /v1/contacts/{contact_id}/consents:withdraw``: withdraws a consent.

Consent changes carry the data subject's evidence (source, IP, user agent, policy
version) into ``consent_events``; every change is audited with the caller's key or user.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from compliance.consent import ConsentChange, Evidence, Preferences, Subject, start_opt_in
from compliance.errors import ConsentError

from ...auth import Permission, Principal
from ...errors import Conflict
from ...preferences.schemas import (
    ConsentChanged,
    ConsentEvidence,
    ConsentState,
    ConsentWithdrawal,
    OptInStart,
    OptInStarted,
    PreferencesPublic,
    PreferencesUpdate,
)
from ...preferences.service import ContactKey, PreferenceService
from ..deps import require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors
from .preference_center import Service

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["preferences"], responses=errors(*AUTHENTICATED)
)
Reader = Annotated[Principal, Depends(require(Permission.CONTACTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CONTACTS_WRITE))]
NOT_FOUND = {404: ("contact_not_found", "no contact 7d0f... in your organization")}


@router.get(
    "/contacts/{contact_id}/preferences",
    summary="A contact's consents and preferences",
    response_model=PreferencesPublic,
    responses=errors(examples=NOT_FOUND),
)
async def get_preferences(
    contact_id: uuid.UUID, principal: Reader, service: Service
) -> PreferencesPublic:
    return await run_in_threadpool(_public, service, principal.org_id, contact_id)


@router.put(
    "/contacts/{contact_id}/preferences",
    summary="Replace a contact's preferences",
    response_model=PreferencesPublic,
    responses=errors(
        examples={
            **NOT_FOUND,
            422: ("invalid_preferences", "max_per_day must be between 1 and 100"),
        }
    ),
)
async def put_preferences(
    contact_id: uuid.UUID, body: PreferencesUpdate, principal: Writer, service: Service
) -> PreferencesPublic:
    def run() -> PreferencesPublic:
        key = service.find(principal.org_id, contact_id)
        chosen = Preferences(
            tuple(body.topic_opt_outs), body.max_per_day, body.max_per_week, body.retention_until
        )
        service.save(key, chosen, source="api", actor=_actor(principal))
        return _public(service, principal.org_id, contact_id)

    return await run_in_threadpool(run)


@router.post(
    "/contacts/{contact_id}/opt-ins",
    summary="Start an opt-in (sign-up: step 1 of 1, 2 or 3)",
    status_code=201,
    response_model=OptInStarted,
    responses=errors(examples={**NOT_FOUND, 409: ("consent_state", "consent is already granted")}),
)
async def start(
    contact_id: uuid.UUID, body: OptInStart, principal: Writer, service: Service
) -> OptInStarted:
    def run() -> OptInStarted:
        key = service.find(principal.org_id, contact_id)
        subject = _subject(key, body)
        with service.cells.connection(key.region) as conn:
            try:
                change = start_opt_in(
                    conn, service.tokens, subject, body.steps, _evidence(service, body, principal)
                )
            except ConsentError as exc:
                raise Conflict(exc.code, str(exc)) from None
        link = service.confirmation_link(change.next_token) if change.next_token else None
        return OptInStarted(
            contact_id=contact_id,
            status=change.status,
            opt_in_steps=change.steps,
            steps_completed=change.completed,
            confirmation_url=link,
        )

    return await run_in_threadpool(run)


@router.post(
    "/contacts/{contact_id}/consents:withdraw",
    summary="Withdraw a contact's consent",
    response_model=ConsentChanged,
    responses=errors(examples={**NOT_FOUND, 409: ("consent_state", "the contact was erased")}),
)
async def withdraw_consent(
    contact_id: uuid.UUID, body: ConsentWithdrawal, principal: Writer, service: Service
) -> ConsentChanged:
    def run() -> ConsentChange:
        key = service.find(principal.org_id, contact_id)
        evidence = _evidence(service, body, principal)
        try:
            return service.withdraw(key, body.channel, body.purpose, evidence)
        except ConsentError as exc:
            raise Conflict(exc.code, str(exc)) from None

    change = await run_in_threadpool(run)
    return ConsentChanged(
        contact_id=contact_id,
        channel=change.subject.channel,
        purpose=change.subject.purpose,
        status=change.status,
        changed=change.changed,
    )


def _public(
    service: PreferenceService, org_id: uuid.UUID, contact_id: uuid.UUID
) -> PreferencesPublic:
    view = service.read(service.find(org_id, contact_id))
    return PreferencesPublic(
        contact_id=contact_id,
        region=view.key.region,
        consents=[ConsentState.model_validate(c, from_attributes=True) for c in view.consents],
        topic_opt_outs=list(view.preferences.topic_opt_outs),
        max_per_day=view.preferences.max_per_day,
        max_per_week=view.preferences.max_per_week,
        retention_until=view.preferences.retention_until,
        preference_center_url=service.link(view.key),
    )


def _subject(key: ContactKey, body: ConsentEvidence) -> Subject:
    return Subject(key.contact_id, key.org_id, key.region, body.purpose, body.channel)


def _actor(principal: Principal) -> str:
    return principal.subject


def _evidence(service: PreferenceService, body: ConsentEvidence, principal: Principal) -> Evidence:
    return Evidence(
        source=body.source,
        policy_version=body.policy_version or service.policy_version,
        ip=str(body.ip) if body.ip is not None else None,
        user_agent=body.user_agent,
        actor=_actor(principal),
    )
