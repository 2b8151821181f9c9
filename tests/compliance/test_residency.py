"""validate_residency: the campaign's blocked regions and the route's regions decide, and
EU personal data never leaves EU routes (GDPR Article 45)."""

from __future__ import annotations

import pytest

from compliance.errors import ComplianceError, ResidencyViolation
from compliance.residency import CampaignScope, Recipient, validate_residency


def violation(country: str, scope: CampaignScope) -> ResidencyViolation:
    with pytest.raises(ResidencyViolation) as caught:
        validate_residency(Recipient(country), scope)
    assert isinstance(caught.value, ComplianceError)
    return caught.value


def test_a_recipient_is_placed_in_the_cell_of_their_country() -> None:
    assert validate_residency(Recipient("de"), CampaignScope("c")) == "eu"
    assert validate_residency(Recipient("BR"), CampaignScope("c")) == "na"
    assert validate_residency(Recipient("JP"), CampaignScope("c")) == "apac"


def test_a_campaign_that_blocks_a_region_cannot_reach_recipients_there() -> None:
    found = violation("FR", CampaignScope("spring-sale", blocked_regions=("eu",)))
    assert found.code == "blocked_region" and "Article 45" in str(found)
    assert validate_residency(Recipient("US"), CampaignScope("spring-sale", ("eu",))) == "na"


def test_eu_data_may_only_travel_over_routes_that_serve_the_eu() -> None:
    virginia = CampaignScope("c", route="virginia", route_regions=("na", "apac"))
    found = violation("IE", virginia)
    assert found.code == "eu_data_leaves_eu"
    assert "GDPR Article 45" in found.reason and found.country == "IE"
    frankfurt = CampaignScope("c", route="frankfurt", route_regions=("eu",))
    assert validate_residency(Recipient("IE"), frankfurt) == "eu"
    assert violation("US", frankfurt).code == "route_outside_region"


def test_a_country_without_a_region_has_no_lawful_home() -> None:
    assert violation("ZZ", CampaignScope("c")).code == "unknown_country"
