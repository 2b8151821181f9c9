"""The rules a message or contact must pass at ingestion, as pure functions.

Each refusal raises :class:`serving.errors.IngestRejected` with a machine-readable code and
a sentence: ``invalid_address`` (syntax, via email-validator without DNS),
``country_required`` / ``unknown_country`` (a new contact's cell cannot be chosen),
``blocked_region`` (the campaign may not reach the recipient's region), ``no_consent``
(marketing without granted consent), ``suppressed`` (the address is on the list),
``spam_trap`` (the address matches a spam trap; see :mod:`compliance.traps`) and
``payload_too_large`` (413: body, variables or batch over the limit). The same consent and
suppression rule runs again in the delivery worker just before SMTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from compliance.errors import ResidencyViolation
from compliance.residency import CampaignScope, Recipient, validate_residency
from warehouse.errors import UnknownRegion
from warehouse.regions import region_for_country

from ..errors import IngestRejected

# Purposes of consent each campaign type needs; transactional mail needs none (the rule of
# delivery.worker.store, which checks again before sending).
CONSENT_PURPOSE = {"marketing": "marketing", "triggered": "marketing"}
# Suppression reasons that stop transactional mail too (an unsubscribe does not).
TRANSACTIONAL_SUPPRESSIONS = frozenset({"hard_bounce", "complaint", "spam_trap", "erasure"})


@dataclass(frozen=True)
class Limits:
    """Payload limits (from the settings; see ``INGEST_*`` in the README)."""

    request_bytes: int = 10 * 1024 * 1024
    content_bytes: int = 256 * 1024
    variables_bytes: int = 32 * 1024
    batch_messages: int = 1000


def normalized_address(email: str) -> str:
    """The address as email-validator normalizes it (no DNS look-up), or ``invalid_address``."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise IngestRejected(
            "invalid_address", f"{email!r} is not a valid address: {exc}"
        ) from None


def region_of_country(country: str, regions: Iterable[str]) -> str:
    """The configured region cell for ``country``."""
    try:
        region = region_for_country(country)
    except UnknownRegion:
        raise IngestRejected(
            "unknown_country", f"{country!r} is not an ISO 3166-1 country Postwise maps"
        ) from None
    if region not in regions:
        raise IngestRejected(
            "unknown_country", f"{country.upper()} belongs to region {region}, not served here"
        )
    return region


def check_residency(country: str, blocked_regions: Sequence[str], campaign: str) -> None:
    """The campaign may process data of a recipient in ``country`` (see
    :func:`compliance.residency.validate_residency`)."""
    try:
        validate_residency(Recipient(country), CampaignScope(campaign, blocked_regions))
    except ResidencyViolation as exc:
        raise IngestRejected(exc.code, exc.reason) from None


def check_eligibility(
    campaign_type: str,
    consent: str | None,
    suppression_reasons: Iterable[str],
    contact_status: str = "active",
) -> None:
    """Consent and suppression: marketing needs granted marketing consent and an address no
    suppression names; transactional mail is stopped only by hard suppressions."""
    reasons = sorted(set(suppression_reasons))
    purpose = CONSENT_PURPOSE.get(campaign_type)
    if purpose is None:
        blocking = [r for r in reasons if r in TRANSACTIONAL_SUPPRESSIONS]
        if contact_status == "erased":
            raise IngestRejected("suppressed", "the recipient was erased")
    else:
        blocking = reasons
        if contact_status != "active":
            raise IngestRejected("suppressed", f"the recipient is {contact_status}")
        if consent != "granted":
            raise IngestRejected(
                "no_consent",
                f"{campaign_type} mail needs granted {purpose} consent; the recipient's is "
                f"{consent or 'not recorded'}",
            )
    if blocking:
        raise IngestRejected(
            "suppressed", f"the address is on the suppression list ({', '.join(blocking)})"
        )


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_sizes(
    limits: Limits, variables: dict[str, Any], subject: str | None, html: str | None
) -> None:
    """Variables and inline content within their limits (``payload_too_large``, 413)."""
    size = json_size(variables)
    if size > limits.variables_bytes:
        raise IngestRejected(
            "payload_too_large",
            f"variables take {size} bytes; the limit is {limits.variables_bytes}",
            413,
        )
    content = len((subject or "").encode()) + len((html or "").encode())
    if content > limits.content_bytes:
        raise IngestRejected(
            "payload_too_large",
            f"subject and html take {content} bytes; the limit is {limits.content_bytes}",
            413,
        )
