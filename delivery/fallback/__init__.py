"""The fallback channel: the last resort of a message whose email delivery was exhausted,
for campaigns that opt in (``fallback_channel``).

- :mod:`.channel` decides nothing about eligibility (the worker calls it only for exhausted
  deliveries) and does the work: phone number, PDF, secure link, gateway;
- :mod:`.pdf` renders the message's HTML as a PDF without touching the network;
- :mod:`.documents` keeps the PDFs sealed and signs their expiring links (``/t/f/{token}``);
- :mod:`.phones` keeps recipients' phone numbers sealed;
- :mod:`.gateway` is the interface gateways implement; :mod:`.twilio` the SMS adapter;
- :mod:`.errors` the exception tree; :mod:`.wiring` builds it all from the settings.
"""

from .channel import FallbackChannel, FallbackResult
from .documents import DocumentLinks, open_document, purge_expired, store_document
from .errors import (
    DocumentRenderFailed,
    DocumentUnavailable,
    FallbackError,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    InvalidDocumentLink,
    NoFallbackRecipient,
)
from .gateway import FallbackDelivery, FallbackGateway, GatewayReceipt
from .phones import InvalidPhoneNumber, normalize_phone, phone_of, store_phone
from .twilio import TwilioSmsGateway

__all__ = [
    "DocumentLinks",
    "DocumentRenderFailed",
    "DocumentUnavailable",
    "FallbackChannel",
    "FallbackDelivery",
    "FallbackError",
    "FallbackGateway",
    "FallbackResult",
    "GatewayError",
    "GatewayReceipt",
    "GatewayRejected",
    "GatewayUnavailable",
    "InvalidDocumentLink",
    "InvalidPhoneNumber",
    "NoFallbackRecipient",
    "TwilioSmsGateway",
    "normalize_phone",
    "open_document",
    "phone_of",
    "purge_expired",
    "store_document",
    "store_phone",
]
