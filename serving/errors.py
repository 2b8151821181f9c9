"""Serving errors: each carries the HTTP status and a machine-readable ``code`` the API
answers with, beside a human sentence.

ServingError
 ├── TrackingError            a tracking link that cannot be honoured (400)
 │    ├── InvalidTrackingLink    bad signature, another kind's token, malformed claims
 │    ├── UnsafeRedirect         a click token whose destination is no http(s) URL
 │    ├── NotOneClick            an unsubscribe POST without ``List-Unsubscribe=One-Click``
 │    └── UnknownRecipient       an unsubscribe link whose contact no cell knows
 ├── AuthenticationFailed     no, a bad, a stale or a replayed credential (401)
 ├── PermissionDenied         the caller's role lacks the route's permission (403)
 │    └── SecondFactorRequired  an administrator signed in without a second factor
 ├── NotFound                 no such resource in the caller's organization (404)
 ├── ValidationFailed         a body or parameter the API cannot accept (422)
 ├── Conflict                 the resource's state forbids the change (409): a name taken,
 │                            an archived template, a campaign no longer a draft
 ├── IngestRejected           a message, contact or suppression refused at ingestion, with its
 │                            own status and code (invalid_address, no_consent, suppressed,
 │                            blocked_region: 422; template_not_found: 404; ...)
 ├── PayloadTooLarge          a body, message, variables or batch over its limit (413)
 ├── UnsupportedMediaType     a body in a format the route does not read (415)
 ├── RateLimited              over a rate limit of the key, user or organization (429,
 │                            with ``retry_after`` seconds for the Retry-After header)
 └── ServiceUnavailable       PostgreSQL (or another backing service) cannot answer (503)
"""

from __future__ import annotations


class ServingError(Exception):
    """Base of every serving error."""

    status_code = 500
    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TrackingError(ServingError):
    """A tracking link that cannot be honoured."""

    status_code = 400
    code = "invalid_tracking_link"


class InvalidTrackingLink(TrackingError):
    code = "invalid_token"


class UnsafeRedirect(TrackingError):
    code = "unsafe_url"


class NotOneClick(TrackingError):
    code = "not_one_click"


class UnknownRecipient(TrackingError):
    code = "unknown_recipient"


class DocumentGone(TrackingError):
    """A genuine secure link whose document expired or no longer exists."""

    status_code = 404
    code = "document_unavailable"


class AuthenticationFailed(ServingError):
    """The request does not prove who sent it; ``code`` says how."""

    status_code = 401

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class PermissionDenied(ServingError):
    status_code = 403
    code = "forbidden"


class SecondFactorRequired(PermissionDenied):
    """A user of an administrator role (or raised to one) whose token carries no second
    factor: they may only enrol and use one (see :mod:`serving.auth.mfa`)."""

    code = "second_factor_required"


class NotFound(ServingError):
    """No such resource, or one of another organization (the two are not told apart)."""

    status_code = 404

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ValidationFailed(ServingError):
    status_code = 422

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ServiceUnavailable(ServingError):
    status_code = 503
    code = "unavailable"


class IngestRejected(ServingError):
    """One message, imported row or suppression refused at ingestion; a batch reports it
    per item instead of raising it."""

    def __init__(self, code: str, detail: str, status_code: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.status_code = status_code


class PayloadTooLarge(ServingError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServingError):
    status_code = 415
    code = "unsupported_media_type"


class Conflict(ServingError):
    """The request is valid but the resource's current state forbids it."""

    status_code = 409

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class RateLimited(ServingError):
    """Over a rate limit; ``scope`` names it (key, user, org, login)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"too many requests for this {scope}; retry in {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after
