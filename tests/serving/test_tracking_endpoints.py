"""The tracking endpoints over HTTP against a live uvicorn: the pixel, click redirects (and no
open redirect), one-click unsubscribe, de-duplication and the bot flags."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_kit import DESTINATIONS, SendMessage, Sent, events_of

from delivery.message import TrackingSigner
from postwise.settings import Settings
from simulator import clients
from warehouse.db import Cells

IPHONE = clients.CLIENTS[0][0]
SAFARI = clients.CLIENTS[0][1]
HOME_IP = "73.20.1.5"


def _html(sent: Sent) -> str:
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _pixel(sent: Sent) -> str:
    found = re.search(r'<img src="([^"]+)"', _html(sent))
    assert found
    return found.group(1)


def _links(sent: Sent) -> tuple[str, list[str]]:
    """(the hidden honeypot link, the visible links)."""
    anchors = re.findall(r'<a href="([^"]+)"( style="display:none)?', _html(sent))
    hidden = [href for href, style in anchors if style]
    visible = [href for href, style in anchors if not style and "/t/c/" in href]
    assert len(hidden) == 1
    return hidden[0], visible


def _unsubscribe_url(sent: Sent) -> str:
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    return str(message["List-Unsubscribe"]).split(",")[0].strip(" <>")


def _get(url: str, ua: str = IPHONE, ip: str = HOME_IP, method: str = "GET") -> httpx.Response:
    headers = {"User-Agent": ua, "X-Forwarded-For": ip}
    return httpx.request(method, url, headers=headers, follow_redirects=False, timeout=5)


def _an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def _of_type(events: list[dict[str, object]], kind: str) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == kind]


def test_the_pixel_is_an_uncacheable_gif_and_records_one_open_per_window(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    sent = send_message("eu", delivered_at=_an_hour_ago())
    first, again = _get(_pixel(sent)), _get(_pixel(sent))
    for response in (first, again):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert (
            response.content.startswith(b"GIF89a\x01\x00\x01\x00") and len(response.content) == 43
        )
        assert {"no-store", "no-cache"} <= set(response.headers["cache-control"].split(", "))
        assert response.headers["pragma"] == "no-cache"
        assert response.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    opens = _of_type(events_of(serving_cells, "eu", sent.message_id), "opened")
    assert len(opens) == 1  # the repeated fetch within the window counts once
    event = opens[0]
    assert event["is_bot"] is False
    assert (event["org_id"], event["contact_id"]) == (sent.org_id, sent.contact_id)
    assert (event["campaign_type"], event["region"]) == ("marketing", "eu")
    details = event["details"]
    assert isinstance(details, dict)
    assert details["ip"] == HOME_IP and details["user_agent"] == IPHONE
    assert 3500 < details["seconds_after_delivery"] < 3700
    assert "bot_reasons" not in details


def test_an_invalid_pixel_token_still_gets_the_gif_and_records_nothing(
    send_message: SendMessage, serving_cells: Cells, api_url: str
) -> None:
    sent = send_message("na", delivered_at=_an_hour_ago())
    hidden, _ = _links(sent)
    click_token = hidden.rsplit("/", 1)[1]
    for url in (f"{api_url}/t/o/not-a-token.gif", f"{api_url}/t/o/{click_token}.gif"):
        response = _get(url)
        assert response.status_code == 200 and response.content.startswith(b"GIF89a")
    assert events_of(serving_cells, "na", sent.message_id) == []


def test_a_click_redirects_only_to_the_url_signed_into_its_token(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    sent = send_message("apac", delivered_at=_an_hour_ago())
    _, links = _links(sent)
    assert len(links) == 2
    first = _get(links[0], SAFARI)
    assert first.status_code == 302 and first.headers["location"] == DESTINATIONS[0]
    assert first.headers["referrer-policy"] == "no-referrer"
    # Anything added to the link is ignored: the destination comes from the token only.
    second = _get(f"{links[1]}?u=https://evil.example/", SAFARI)
    assert second.status_code == 302 and second.headers["location"] == DESTINATIONS[1]
    _get(links[0], SAFARI)  # a double click within the window
    clicks = _of_type(events_of(serving_cells, "apac", sent.message_id), "clicked")
    assert sorted((c["details"]["link"], c["details"]["url"]) for c in clicks) == [  # type: ignore[index]
        ("0", DESTINATIONS[0]),
        ("1", DESTINATIONS[1]),
    ]
    assert not any(c["is_bot"] for c in clicks)


def _tampered(token: str) -> str:
    payload, signature = token.rsplit(".", 1)
    return f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"


@pytest.mark.parametrize(
    "make_url",
    [
        pytest.param(lambda api, s, link, pixel, unsub: f"{api}/t/c/garbage", id="garbage"),
        pytest.param(
            lambda api, s, link, pixel, unsub: f"{api}/t/c/{_tampered(link.rsplit('/', 1)[1])}",
            id="tampered-payload",
        ),
        pytest.param(
            lambda api, s, link, pixel, unsub: (
                f"{api}/t/c/"
                + TrackingSigner("another-secret-of-length").sign(
                    "click", {"m": str(uuid.uuid4()), "u": "https://evil.example/"}
                )
            ),
            id="foreign-key",
        ),
        pytest.param(
            lambda api, s, link, pixel, unsub: (
                f"{api}/t/c/{pixel.rsplit('/', 1)[1].removesuffix('.gif')}"
            ),
            id="open-token",
        ),
        pytest.param(
            lambda api, s, link, pixel, unsub: f"{api}/t/c/{unsub.rsplit('/', 1)[1]}",
            id="unsubscribe-token",
        ),
    ],
)
def test_tampered_and_foreign_tokens_are_refused_without_a_redirect(
    make_url: object, send_message: SendMessage, api_url: str, api_settings: Settings
) -> None:
    sent = send_message("eu", delivered_at=_an_hour_ago())
    _, links = _links(sent)
    url = make_url(api_url, api_settings, links[0], _pixel(sent), _unsubscribe_url(sent))  # type: ignore[operator]
    response = _get(url)
    assert response.status_code == 400 and "location" not in response.headers
    assert response.json()["code"] == "invalid_token" and response.json()["detail"]


def test_a_signed_destination_that_is_no_web_address_is_refused(
    send_message: SendMessage, api_url: str, api_settings: Settings
) -> None:
    sent = send_message("eu", delivered_at=_an_hour_ago())
    signer = TrackingSigner(api_settings.tracking_secret)
    for url in ("javascript:alert(1)", "//evil.example/", "https://ok.example/\r\nSet-Cookie: x"):
        token = signer.sign("click", {"m": str(sent.message_id), "r": "eu", "l": 0, "u": url})
        response = _get(f"{api_url}/t/c/{token}")
        assert response.status_code == 400 and "location" not in response.headers
        assert response.json()["code"] == "unsafe_url"


def _suppressions(cells: Cells, sent: Sent) -> list[tuple[str, str]]:
    with cells.connection(sent.region) as conn:
        rows = conn.execute(
            "SELECT reason, source FROM suppressions WHERE org_id = %s", (sent.org_id,)
        ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def test_one_click_post_unsubscribes_and_suppresses_once(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    sent = send_message("eu", delivered_at=_an_hour_ago())
    url = _unsubscribe_url(sent)
    page = httpx.get(url, timeout=5)
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert _suppressions(serving_cells, sent) == []  # a GET never unsubscribes
    assert httpx.post(url, timeout=5).status_code == 400  # no List-Unsubscribe=One-Click

    def one_click(_: int) -> httpx.Response:
        return httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=5)

    with ThreadPoolExecutor(4) as pool:  # concurrent repeats, as providers retry
        responses = list(pool.map(one_click, range(4)))
    assert all(r.status_code == 200 for r in responses)
    assert sum("You are unsubscribed" in r.text for r in responses) == 1
    assert _suppressions(serving_cells, sent) == [("unsubscribe", "tracking:list_unsubscribe_post")]
    unsubscribes = _of_type(events_of(serving_cells, "eu", sent.message_id), "unsubscribed")
    assert len(unsubscribes) == 1
    assert unsubscribes[0]["details"]["channel"] == "list_unsubscribe_post"  # type: ignore[index]
    # The page's button is the same POST; the message is unsubscribed already.
    again = httpx.post(url, data={"List-Unsubscribe": "One-Click", "source": "page"}, timeout=5)
    assert again.status_code == 200 and "already unsubscribed" in again.text
    assert len(_of_type(events_of(serving_cells, "eu", sent.message_id), "unsubscribed")) == 1


def test_an_invalid_unsubscribe_link_is_a_page_that_says_so(api_url: str) -> None:
    page = httpx.get(f"{api_url}/t/u/forged", timeout=5)
    assert page.status_code == 400 and "This link does not work" in page.text
    post = httpx.post(f"{api_url}/t/u/forged", data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert post.status_code == 400 and post.headers["x-error-code"] == "invalid_token"


def test_tokens_without_a_region_are_found_in_their_cell(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    sent = send_message("apac", delivered_at=_an_hour_ago(), with_claims=False)
    assert _get(_pixel(sent)).status_code == 200
    post = httpx.post(_unsubscribe_url(sent), data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert post.status_code == 200
    kinds = sorted(str(e["type"]) for e in events_of(serving_cells, "apac", sent.message_id))
    assert kinds == ["opened", "unsubscribed"]
    assert len(_suppressions(serving_cells, sent)) == 1


def _reasons(event: dict[str, object]) -> list[str]:
    details = event["details"]
    assert isinstance(details, dict)
    return list(details.get("bot_reasons", []))


def test_privacy_proxies_fast_hits_and_head_checks_are_flagged_not_dropped(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    mpp = send_message("na", delivered_at=_an_hour_ago())
    _get(_pixel(mpp), clients.MPP_UA, "17.58.101.4")
    (event,) = events_of(serving_cells, "na", mpp.message_id)
    assert event["is_bot"] is True
    assert _reasons(event) == ["apple_mpp_user_agent", "apple_proxy_ip"]
    assert event["details"]["proxy"] == "apple"  # type: ignore[index]

    gmail = send_message("na", delivered_at=_an_hour_ago())
    _get(_pixel(gmail), clients.GOOGLE_PROXY_UA, "66.249.80.17")
    (event,) = events_of(serving_cells, "na", gmail.message_id)
    assert event["is_bot"] is False and event["details"]["proxy"] == "google"  # type: ignore[index]

    fresh = send_message("na")  # delivered just now: a gateway scanning on arrival
    _get(_pixel(fresh))
    _, links = _links(fresh)
    _get(links[0], clients.SCANNER_UAS[1], "40.94.12.9", method="HEAD")
    clicked, opened = sorted(
        events_of(serving_cells, "na", fresh.message_id), key=lambda e: str(e["type"])
    )
    assert opened["is_bot"] is True and _reasons(opened) == ["seconds_after_delivery"]
    assert clicked["is_bot"] is True
    assert _reasons(clicked) == ["head_request", "datacenter_ip", "seconds_after_delivery"]


def test_the_honeypot_marks_its_clicker_as_a_scanner(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    sent = send_message("eu", delivered_at=_an_hour_ago())
    hidden, links = _links(sent)
    scanner_ua, scanner_ip = clients.CLIENTS[2][0], "98.12.40.7"  # looks like a person
    trap = _get(hidden, scanner_ua, scanner_ip)
    assert trap.status_code == 200 and "location" not in trap.headers
    _get(links[1], scanner_ua, scanner_ip)  # the rest of the scanner's burst
    _get(links[1], SAFARI, HOME_IP)  # a person
    clicks = _of_type(events_of(serving_cells, "eu", sent.message_id), "clicked")
    flagged = {(c["details"]["link"], c["is_bot"], tuple(_reasons(c))) for c in clicks}  # type: ignore[index]
    assert flagged == {
        ("honeypot", True, ("honeypot",)),
        ("1", True, ("known_scanner",)),
        ("1", False, ()),
    }
