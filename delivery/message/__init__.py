"""Message assembly: tracking links and pixel, plain-text part, bulk-sender headers
(List-Unsubscribe one-click, stable Message-ID) and DKIM signatures (RSA and Ed25519)."""

from .build import HONEYPOT, Envelope, Tracking, assemble
from .dkim_keys import DkimKey, generate_ed25519_key, generate_rsa_key, sign
from .errors import AssemblyError, HeaderInjection, InvalidToken
from .text import html_to_text
from .tracking import TrackingSigner, TrackingUrls

__all__ = [
    "HONEYPOT",
    "AssemblyError",
    "DkimKey",
    "Envelope",
    "HeaderInjection",
    "InvalidToken",
    "Tracking",
    "TrackingSigner",
    "TrackingUrls",
    "assemble",
    "generate_ed25519_key",
    "generate_rsa_key",
    "html_to_text",
    "sign",
]
