"""Outbound webhook targets: only public https endpoints by default, checked when an
endpoint is registered and again before every post (what a name resolves to can change)."""

from __future__ import annotations

import pytest
from campaign_kit import own_api

from postwise.settings import Settings
from serving.auth import Role
from serving.webhooks.targets import UnsafeWebhookTarget, check_target
from warehouse.db import Cells


def _resolves_to(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://hooks.acme.example/in", ("93.184.216.34",)),  # not https
        ("https://127.0.0.1/in", ("127.0.0.1",)),
        ("https://hooks.acme.example/in", ("10.0.0.7",)),
        ("https://hooks.acme.example/in", ("93.184.216.34", "192.168.1.4")),  # any private
        ("https://metadata.acme.example/", ("169.254.169.254",)),  # cloud metadata
        ("https://v6.acme.example/", ("fd00::1",)),
        ("https://v6.acme.example/", ("::1",)),
    ],
)
def test_private_loopback_link_local_and_plain_http_targets_are_refused(
    url: str, addresses: tuple[str, ...]
) -> None:
    with pytest.raises(UnsafeWebhookTarget):
        check_target(url, allow_private=False, resolve=_resolves_to(*addresses))


def test_a_public_https_endpoint_is_accepted() -> None:
    check_target(
        "https://hooks.acme.example/in",
        allow_private=False,
        resolve=_resolves_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"),
    )


def test_allowing_private_targets_accepts_loopback_http_but_not_other_schemes() -> None:
    check_target("http://127.0.0.1:8080/in", allow_private=True)
    with pytest.raises(UnsafeWebhookTarget):
        check_target("ftp://127.0.0.1/in", allow_private=True)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeWebhookTarget, match="does not resolve"):
        check_target("https://nowhere.invalid/", allow_private=False)


def test_registering_a_loopback_endpoint_is_refused_by_default(
    api_settings: Settings, serving_cells: Cells
) -> None:
    strict = api_settings.model_copy(update={"webhook_allow_private_targets": False})
    with own_api(strict, serving_cells) as (_, tenants):
        owner = tenants.client(tenants.org(), Role.OWNER)
        refused = owner.post(
            "/v1/webhooks/endpoints",
            json={"url": "https://127.0.0.1:8443/in", "event_types": ["campaign.sent"]},
        )
        listed = owner.get("/v1/webhooks/endpoints").json()

    assert (refused.status_code, refused.json()["code"]) == (422, "unsafe_webhook_target")
    assert "not a public address" in refused.json()["detail"]
    assert listed == []
