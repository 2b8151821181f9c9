"""Data residency: where a recipient's personal data may be stored and which routes may
carry it.

A recipient's country (ISO 3166-1 alpha-2) names their region cell
(:func:`warehouse.regions.region_for_country`); their contact, messages and events are
written only there. :func:`validate_residency` is the check made when a message is queued
and again when a route is chosen: the campaign must not have blocked the recipient's region,
and personal data of a recipient in the EU/EEA may only travel over routes that serve the EU
region. Transfers out of the EU are lawful only to countries with an adequacy decision or
under other safeguards (GDPR Article 45 and following), which Postwise does not assume.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from warehouse.errors import UnknownRegion
from warehouse.regions import is_eu, region_for_country

from .errors import ResidencyViolation

EU_REGION = "eu"
GDPR_TRANSFERS = "GDPR Article 45 (transfers on the basis of an adequacy decision)"


@dataclass(frozen=True)
class Recipient:
    """Where a recipient is: their country, and the cell their data lives in."""

    country: str

    @property
    def region(self) -> str:
        return region_for_country(self.country)


@dataclass(frozen=True)
class CampaignScope:
    """What residency needs to know of a campaign (or a one-off message) and its route."""

    campaign: str
    blocked_regions: Collection[str] = ()
    route: str | None = None
    route_regions: Collection[str] | None = None


def validate_residency(recipient: Recipient, campaign: CampaignScope) -> str:
    """The recipient's region when the campaign may reach them; otherwise
    :class:`ResidencyViolation` (a ComplianceError) naming the rule, citing GDPR Article 45."""
    try:
        region = recipient.region
    except UnknownRegion:
        raise ResidencyViolation(
            "unknown_country",
            f"country {recipient.country!r} is not an ISO 3166-1 country Postwise places in a "
            "region, so its data has no lawful home",
            recipient.country,
        ) from None
    if region in campaign.blocked_regions:
        raise ResidencyViolation(
            "blocked_region",
            f"campaign {campaign.campaign} blocks region {region}; the recipient's data may "
            f"not be processed for it ({GDPR_TRANSFERS})",
            recipient.country,
        )
    if campaign.route_regions is not None and region not in campaign.route_regions:
        if is_eu(recipient.country) or region == EU_REGION:
            raise ResidencyViolation(
                "eu_data_leaves_eu",
                f"route {campaign.route} does not serve the EU region; EU personal data may "
                f"not leave EU routes ({GDPR_TRANSFERS})",
                recipient.country,
            )
        raise ResidencyViolation(
            "route_outside_region",
            f"route {campaign.route} does not serve region {region}",
            recipient.country,
        )
    return region
