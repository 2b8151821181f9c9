"""Serving errors: each carries the HTTP status and a machine-readable ``code`` the API
answers with, beside a human sentence.

ServingError
 ├── TrackingError            a tracking link that cannot be honoured (400)
 │    ├── InvalidTrackingLink    bad signature, another kind's token, malformed claims
 │    ├── UnsafeRedirect         a click token whose destination is no http(s) URL
 │    ├── NotOneClick            an unsubscribe POST without ``List-Unsubscribe=One-Click``
 │    └── UnknownRecipient       an unsubscribe link whose contact no cell knows
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


class ServiceUnavailable(ServingError):
    status_code = 503
    code = "unavailable"
