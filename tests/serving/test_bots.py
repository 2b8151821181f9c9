"""The tracking endpoints' machine-traffic rules (pure), and their agreement with the
warehouse's classification in dbt."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serving.tracking.bots import (
    APPLE_PROXY_NETWORKS,
    DATACENTER_NETWORKS,
    SCANNER_WINDOW_SECONDS,
    BotRules,
    Hit,
)
from simulator import clients

RULES = BotRules()
LATER = 3600.0


def _reasons(**hit: object) -> tuple[str, ...]:
    defaults: dict[str, object] = {"kind": "open", "user_agent": clients.CLIENTS[0][0], "ip": None}
    return RULES.classify(Hit(**{**defaults, **hit})).reasons  # type: ignore[arg-type]


def test_a_person_reading_an_hour_later_is_no_bot() -> None:
    verdict = RULES.classify(
        Hit("open", clients.CLIENTS[0][0], "73.20.1.5", seconds_after_delivery=LATER)
    )
    assert not verdict.is_bot and verdict.reasons == () and verdict.proxy is None


def test_apple_mail_privacy_protection_is_a_machine_open() -> None:
    verdict = RULES.classify(
        Hit("open", clients.MPP_UA, "17.58.101.4", seconds_after_delivery=LATER)
    )
    assert verdict.is_bot and verdict.proxy == "apple"
    assert verdict.reasons == ("apple_mpp_user_agent", "apple_proxy_ip")


def test_gmails_image_proxy_fetches_for_a_person_even_soon_after_delivery() -> None:
    verdict = RULES.classify(
        Hit("open", clients.GOOGLE_PROXY_UA, "66.249.80.17", seconds_after_delivery=2.0)
    )
    assert not verdict.is_bot and verdict.proxy == "google"


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Barracuda Sentinel)",
        "Mimecast-URL-Protect/1.0",
        "Proofpoint URL Defense",
        "curl/8.4.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124.0 Safari/537.36",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "",
    ],
)
def test_scanner_and_library_user_agents_are_machines(user_agent: str) -> None:
    assert "scanner_user_agent" in _reasons(user_agent=user_agent, seconds_after_delivery=LATER)


def test_phone_names_that_merely_end_in_bot_are_people() -> None:
    ua = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Chrome/120 Mobile"
    assert _reasons(user_agent=ua, ip="24.1.2.3", seconds_after_delivery=LATER) == ()


@pytest.mark.parametrize("ip", ["40.94.12.9", "52.100.7.7", "20.42.1.1", "148.163.130.4"])
def test_clicks_from_cloud_and_mail_security_networks_are_machines(ip: str) -> None:
    assert _reasons(kind="click", ip=ip, seconds_after_delivery=LATER) == ("datacenter_ip",)


def test_hits_within_the_scanner_window_of_delivery_are_machines() -> None:
    assert _reasons(seconds_after_delivery=SCANNER_WINDOW_SECONDS - 0.5) == (
        "seconds_after_delivery",
    )
    assert _reasons(seconds_after_delivery=SCANNER_WINDOW_SECONDS + 0.5) == ()
    assert _reasons(seconds_after_delivery=None) == ()  # delivery time unknown: no judgement


def test_head_requests_prefetches_honeypots_and_known_scanners_are_machines() -> None:
    assert _reasons(kind="click", method="HEAD", seconds_after_delivery=LATER) == ("head_request",)
    prefetch = {"sec-purpose": "prefetch;prerender"}
    assert _reasons(headers=prefetch, seconds_after_delivery=LATER) == ("prefetch",)
    assert _reasons(kind="click", honeypot=True, seconds_after_delivery=LATER) == ("honeypot",)
    assert _reasons(kind="click", known_scanner=True) == ("known_scanner",)


def test_a_malformed_client_address_is_ignored() -> None:
    assert _reasons(ip="not-an-ip", seconds_after_delivery=LATER) == ()


def test_the_rules_use_the_networks_and_window_of_the_warehouse_classification() -> None:
    project = Path(__file__).resolve().parents[2] / "dbt" / "dbt_project.yml"
    machine = yaml.safe_load(project.read_text())["vars"]["machine_traffic"]
    assert set(DATACENTER_NETWORKS) == set(machine["datacenter_cidrs"])
    assert set(APPLE_PROXY_NETWORKS) == set(machine["apple_proxy_cidrs"])
    assert SCANNER_WINDOW_SECONDS == machine["scanner_window_seconds"]
