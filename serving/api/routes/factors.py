"""Second factors: the signed-in user enrols, lists and removes TOTP and WebAuthn factors,
and a password login that answered ``mfa_required`` is finished with one.

Enrolment is open to any signed-in user (it is all an owner without a factor may do); a
user who already has a factor changes factors only with a token that proved one. The
login step takes the ``mfa_token`` the login answered and a TOTP code, or a WebAuthn
assertion over the challenge of ``/v1/auth/mfa/webauthn/options``, and answers the usual
token pair, whose access token carries ``amr: ["pwd", "mfa"]``. API keys are not users
and have no second factor.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...auth.mfa import TotpEnrolment
from ...auth.mfa.store import FactorRow
from ...auth.tokens import TokenClaims
from ...errors import NotFound
from ..deps import PrincipalDep, ResourcesDep
from ..protobuf import ProtobufRoute
from ..responses import PUBLIC, SIGNED_IN, errors
from .auth_users import TokenPublic

router = APIRouter(route_class=ProtobufRoute, prefix="/v1", tags=["second factors"])
CODE = Field(pattern=r"^[0-9]{6}$", description="the 6-digit code", examples=["492039"])
MFA_TOKEN = Field(min_length=1, max_length=4096, description="the mfa_token of the login's answer")
NEEDS_FACTOR = {
    403: ("second_factor_required", "sign in with your second factor to change your factors")
}
CredentialPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,1400}$", description="the credential id, base64url")
]


class FactorPublic(BaseModel):
    kind: str = Field(description="totp or webauthn", examples=["webauthn"])
    factor_id: str = Field(description="totp, or the WebAuthn credential id (base64url)")
    name: str = Field(examples=["security key"])
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: FactorRow) -> FactorPublic:
        return cls(**row.__dict__)


class TotpEnrolmentPublic(BaseModel):
    secret: str = Field(description="base32 secret, shown once", examples=["JBSWY3DPEHPK3PXP"])
    otpauth_uri: str = Field(description="for an authenticator app (QR code)")

    @classmethod
    def of(cls, enrolment: TotpEnrolment) -> TotpEnrolmentPublic:
        return cls(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


class TotpConfirm(BaseModel):
    code: str = CODE


class WebAuthnRegistration(BaseModel):
    credential: dict[str, Any] = Field(
        description="the PublicKeyCredential of navigator.credentials.create(), JSON-encoded "
        "(id, rawId, response.clientDataJSON, response.attestationObject, type)"
    )
    name: str = Field("security key", min_length=1, max_length=100, examples=["YubiKey 5"])


class MfaTicket(BaseModel):
    mfa_token: str = MFA_TOKEN


class MfaTotp(BaseModel):
    mfa_token: str = MFA_TOKEN
    code: str = CODE


class MfaWebAuthn(BaseModel):
    mfa_token: str = MFA_TOKEN
    credential: dict[str, Any] = Field(
        description="the PublicKeyCredential of navigator.credentials.get(), JSON-encoded"
    )


@router.get(
    "/factors",
    response_model=list[FactorPublic],
    summary="Your second factors",
    responses=errors(*SIGNED_IN, examples={422: ("not_a_user", "API keys have no factors")}),
)
def list_factors(principal: PrincipalDep, resources: ResourcesDep) -> list[FactorPublic]:
    return [FactorPublic.of(row) for row in resources.ops.factors.factors(principal)]


@router.post(
    "/factors/totp",
    response_model=TotpEnrolmentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Start a TOTP enrolment: a new secret, pending until a code confirms it",
    responses=errors(
        *SIGNED_IN,
        examples={
            **NEEDS_FACTOR,
            409: ("totp_already_enrolled", "remove the current TOTP factor first"),
            422: ("not_a_user", "API keys have no factors"),
        },
    ),
)
def begin_totp(principal: PrincipalDep, resources: ResourcesDep) -> TotpEnrolmentPublic:
    return TotpEnrolmentPublic.of(resources.ops.factors.begin_totp(principal))


@router.post(
    "/factors/totp/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm the pending TOTP secret with one of its codes",
    responses=errors(
        *SIGNED_IN,
        examples={
            **NEEDS_FACTOR,
            404: ("no_pending_totp", "start a TOTP enrolment first"),
            422: ("invalid_code", "the code does not match the new secret"),
        },
    ),
)
def confirm_totp(body: TotpConfirm, principal: PrincipalDep, resources: ResourcesDep) -> None:
    resources.ops.factors.confirm_totp(principal, body.code)


@router.delete(
    "/factors/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove your TOTP factor",
    responses=errors(
        *SIGNED_IN,
        examples={
            **NEEDS_FACTOR,
            404: ("factor_not_found", "no TOTP factor is enrolled"),
            422: ("not_a_user", "API keys have no factors"),
        },
    ),
)
def remove_totp(principal: PrincipalDep, resources: ResourcesDep) -> None:
    resources.ops.factors.remove_totp(principal)


@router.post(
    "/factors/webauthn/options",
    summary="Options for navigator.credentials.create() (the challenge lasts 5 minutes)",
    responses=errors(
        *SIGNED_IN, examples={**NEEDS_FACTOR, 422: ("not_a_user", "API keys have no factors")}
    ),
)
def webauthn_registration_options(
    principal: PrincipalDep, resources: ResourcesDep
) -> dict[str, Any]:
    return resources.ops.factors.begin_webauthn(principal)


@router.post(
    "/factors/webauthn",
    response_model=FactorPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a security key from its attestation",
    responses=errors(
        *SIGNED_IN,
        examples={
            **NEEDS_FACTOR,
            409: ("credential_exists", "this credential is registered already"),
            422: ("invalid_attestation", "Unexpected client data origin"),
        },
    ),
)
def register_webauthn(
    body: WebAuthnRegistration, principal: PrincipalDep, resources: ResourcesDep
) -> FactorPublic:
    return FactorPublic.of(
        resources.ops.factors.finish_webauthn(principal, body.credential, body.name)
    )


@router.delete(
    "/factors/webauthn/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove one of your security keys",
    responses=errors(
        *SIGNED_IN,
        examples={
            **NEEDS_FACTOR,
            404: ("factor_not_found", "no such credential of yours"),
            422: ("not_a_user", "API keys have no factors"),
        },
    ),
)
def remove_webauthn(
    credential_id: CredentialPath, principal: PrincipalDep, resources: ResourcesDep
) -> None:
    resources.ops.factors.remove_webauthn(principal, _raw_id(credential_id))


def _raw_id(credential_id: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(credential_id + "=" * (-len(credential_id) % 4))
    except (binascii.Error, ValueError):
        raise NotFound("factor_not_found", "no such credential of yours") from None


LOGIN_STEP_ERRORS = errors(
    *PUBLIC,
    401,
    429,
    examples={
        401: ("invalid_second_factor", "the code is not valid"),
        429: ("rate_limited", "too many requests for this login; retry in 40 s"),
    },
)


def _ticket(request: Request, resources: ResourcesDep, mfa_token: str) -> TokenClaims:
    """The live login ticket, once the attempt passes the login rate limit."""
    ticket = resources.ops.factors.ticket(mfa_token)
    ip = request.client.host if request.client else None
    resources.ops.admit_login(ip, f"mfa:{ticket.user_id}")
    return ticket


def _verified(request: Request, resources: ResourcesDep, ticket: TokenClaims) -> None:
    """The second step succeeded: the device it came from becomes the user's (the
    login-risk score's ``new_device`` signal, see :mod:`serving.auth.protection`)."""
    protection = resources.ops.protection
    ip = request.client.host if request.client else None
    protection.verified(ticket.user_id, ticket.org_id, protection.client(request.headers, ip))


@router.post(
    "/auth/mfa/totp",
    response_model=TokenPublic,
    summary="Finish a login with a TOTP code",
    responses=LOGIN_STEP_ERRORS,
)
async def login_totp(body: MfaTotp, request: Request, resources: ResourcesDep) -> TokenPublic:
    ticket = await run_in_threadpool(_ticket, request, resources, body.mfa_token)
    pair = await run_in_threadpool(resources.ops.factors.login_totp, ticket, body.code)
    await run_in_threadpool(_verified, request, resources, ticket)
    return TokenPublic.of(pair)


@router.post(
    "/auth/mfa/webauthn/options",
    summary="Options for navigator.credentials.get() to finish a login with a security key",
    responses=LOGIN_STEP_ERRORS,
)
async def login_webauthn_options(
    body: MfaTicket, request: Request, resources: ResourcesDep
) -> dict[str, Any]:
    ticket = await run_in_threadpool(_ticket, request, resources, body.mfa_token)
    return await run_in_threadpool(resources.ops.factors.login_webauthn_options, ticket)


@router.post(
    "/auth/mfa/webauthn",
    response_model=TokenPublic,
    summary="Finish a login with a security key's assertion",
    responses=LOGIN_STEP_ERRORS,
)
async def login_webauthn(
    body: MfaWebAuthn, request: Request, resources: ResourcesDep
) -> TokenPublic:
    ticket = await run_in_threadpool(_ticket, request, resources, body.mfa_token)
    pair = await run_in_threadpool(resources.ops.factors.login_webauthn, ticket, body.credential)
    await run_in_threadpool(_verified, request, resources, ticket)
    return TokenPublic.of(pair)
