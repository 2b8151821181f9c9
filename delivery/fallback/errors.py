"""What can go wrong on the fallback channel (each fails its message alone, never the worker).

FallbackError
 ├── NoFallbackRecipient     the contact has no phone number to send the link to
 ├── DocumentRenderFailed    the message's HTML could not be turned into a PDF
 ├── InvalidDocumentLink     a secure link that is forged or malformed
 │    └── DocumentUnavailable  a genuine link whose document expired, or was shredded
 └── GatewayError            the gateway did not take the delivery (``gateway``, ``status``)
      ├── GatewayUnavailable   transient: timeouts, refused connections, 5xx, 429 after retries
      └── GatewayRejected      permanent: the gateway refused the request (4xx, bad number)
"""

from __future__ import annotations


class FallbackError(Exception):
    """Base of the fallback channel's errors; the message says why."""


class NoFallbackRecipient(FallbackError):
    """The recipient cannot be reached on the fallback channel (no phone number)."""


class DocumentRenderFailed(FallbackError):
    """The rendered message could not be turned into a PDF."""


class InvalidDocumentLink(FallbackError):
    """A secure-link token that does not verify."""


class DocumentUnavailable(InvalidDocumentLink):
    """A genuine secure link whose document is gone: expired, purged, or its contact erased."""


class GatewayError(FallbackError):
    """The gateway did not accept the delivery."""

    def __init__(
        self, gateway: str, reason: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(f"{gateway}: {reason}")
        self.gateway = gateway
        self.reason = reason
        self.status = status  # the HTTP status, None when no answer came
        self.code = code  # the gateway's own error code, when it gave one


class GatewayUnavailable(GatewayError):
    """Transient: the gateway could not be reached or was overloaded, even after retries."""


class GatewayRejected(GatewayError):
    """Permanent: the gateway refused the request; sending it again would not help."""
