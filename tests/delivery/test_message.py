"""Message assembly: inlined CSS, safe HTML, signed click links and open pixel, the text
part, bulk-sender headers, header injection refused, DKIM signatures that verify."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import UTC, datetime

import dkim
import pytest

from delivery.message import (
    HONEYPOT,
    Envelope,
    HeaderInjection,
    InvalidToken,
    Tracking,
    TrackingSigner,
    TrackingUrls,
    assemble,
    generate_ed25519_key,
    generate_rsa_key,
    html_to_text,
)

SIGNER = TrackingSigner("a-test-secret-of-some-length")
TRACKING = Tracking(SIGNER, TrackingUrls("https://t.postwise.example"), "unsub@bounce.example")
MESSAGE_ID = uuid.UUID("7d4f0c8e-2b1a-4c3d-9e8f-0a1b2c3d4e5f")
CONTACT_ID = uuid.uuid4()
ORG_ID = uuid.uuid4()
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
BASE = {"m": str(MESSAGE_ID), "r": "eu", "t": int(NOW.timestamp())}
HTML = """<html><head><style>p.lead { color: #c00; font-weight: bold }</style></head>
<body><p class="lead">Hello Ada,</p>
<p>Our <a href="https://shop.example/autumn?utm=1&amp;x=2">autumn offers</a> are here.
Questions? <a href="mailto:help@acme.example">Write to us</a>.</p>
<script>steal()</script><p onclick="steal()">Bye</p></body></html>"""
ENVELOPE = Envelope(
    from_address="news@news.acme.example",
    from_name="Acme News",
    to_address="ada@example.org",
    subject="Autumn offers",
    sending_domain="news.acme.example",
)


def _parse(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def _build(**changes: object) -> bytes:
    kwargs: dict[str, object] = {
        "message_id": MESSAGE_ID,
        "contact_id": CONTACT_ID,
        "envelope": ENVELOPE,
        "html": HTML,
        "tracking": TRACKING,
        "now": NOW,
        "region": "eu",
        "org_id": ORG_ID,
    }
    kwargs.update(changes)
    return assemble(**kwargs)  # type: ignore[arg-type]


def test_the_html_part_is_inlined_safe_and_tracked() -> None:
    message = _parse(_build())
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<style" not in html and "script" not in html and "onclick" not in html
    assert re.search(r'<p[^>]*style="[^"]*color:\s*#c00', html)
    links = re.findall(r'href="(https://t\.postwise\.example/t/c/[^"]+)"', html)
    assert len(links) == 2  # the sender's link and the hidden honeypot
    payloads = [SIGNER.verify("click", link.rsplit("/", 1)[1]) for link in links]
    assert payloads[1] == {**BASE, "l": 0, "u": "https://shop.example/autumn?utm=1&x=2"}
    token = links[1].rsplit("/", 1)[1]
    assert 'href="mailto:help@acme.example"' in html  # not tracked
    pixel = re.search(r'<img src="https://t\.postwise\.example/t/o/([^"]+)\.gif"', html)
    assert pixel and SIGNER.verify("open", pixel.group(1)) == BASE
    with pytest.raises(InvalidToken):
        SIGNER.verify("unsubscribe", token)  # a click token is no unsubscribe token


def test_a_hidden_honeypot_link_is_in_the_html_only() -> None:
    message = _parse(_build())
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    hidden = re.search(
        r'<a href="https://t\.postwise\.example/t/c/([^"]+)" style="display:none',
        (html_part.get_content()),
    )
    assert hidden and SIGNER.verify("click", hidden.group(1)) == {**BASE, "l": HONEYPOT}
    assert hidden.group(1) not in text_part.get_content()  # nobody reading text sees it


def test_tokens_without_a_region_or_organization_still_name_the_message() -> None:
    message = _parse(_build(region=None, org_id=None))
    https = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    assert SIGNER.verify("unsubscribe", https.rsplit("/", 1)[1]) == {
        "m": str(MESSAGE_ID),
        "t": int(NOW.timestamp()),
        "c": str(CONTACT_ID),
    }


def test_the_text_part_and_bulk_sender_headers() -> None:
    message = _parse(_build())
    text_part = message.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert "Hello Ada," in text and "autumn offers (https://t.postwise.example/t/c/" in text
    assert message["Message-ID"] == f"<{MESSAGE_ID}@news.acme.example>"
    assert message["From"] == "Acme News <news@news.acme.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (part.strip(" <>") for part in message["List-Unsubscribe"].split(","))
    assert https.startswith("https://t.postwise.example/t/u/")
    assert SIGNER.verify("unsubscribe", https.rsplit("/", 1)[1]) == {
        **BASE,
        "c": str(CONTACT_ID),
        "o": str(ORG_ID),
    }
    assert mailto.startswith("mailto:unsub@bounce.example?subject=unsubscribe-")
    assert _parse(_build())["Message-ID"] == message["Message-ID"]  # stable across retries


@pytest.mark.parametrize(
    "envelope",
    [
        Envelope("news@a.example", "x@y.example", "Hi\r\nBcc: all@y.example", "a.example"),
        Envelope("news@a.example", "x@y.example\nCc: z@y.example", "Hi", "a.example"),
        Envelope("news@a.example", "x@y.example", "Hi", "a.example", from_name="A\rB"),
        Envelope("news@a.example", "x@y.example", "Hi", "a.example", headers={"X-Tag": "a\nb"}),
    ],
    ids=["subject", "to", "from-name", "extra-header"],
)
def test_a_line_break_in_any_header_value_is_refused(envelope: Envelope) -> None:
    with pytest.raises(HeaderInjection, match="line break"):
        _build(envelope=envelope)


def test_rsa_and_ed25519_signatures_verify_against_the_published_keys() -> None:
    keys = [
        generate_rsa_key("news.acme.example", "pw-rsa"),
        generate_ed25519_key("news.acme.example", "pw-ed"),
    ]
    records = {
        f"{k.selector}._domainkey.{k.domain}.".encode(): k.dns_record().encode() for k in keys
    }
    raw = _build(dkim_keys=keys)
    assert raw.count(b"DKIM-Signature:") == 2
    assert b"a=ed25519-sha256" in raw and b"a=rsa-sha256" in raw

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    assert dkim.verify(raw, dnsfunc=dns)  # the outermost signature (RSA)
    tampered = raw.replace(b"Autumn offers", b"Winter offers", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)
    signatures = dkim.DKIM(raw)
    for index in range(2):
        assert signatures.verify(idx=index, dnsfunc=dns)


def test_html_to_text_keeps_paragraphs_lists_and_links() -> None:
    text = html_to_text(
        "<h1>Title</h1><p>One <b>two</b></p><ul><li>a</li><li>b</li></ul>"
        '<p><a href="https://x.example/">link</a></p><style>p{}</style>'
    )
    assert text == "Title\n\nOne two\n\n- a\n\n- b\n\nlink (https://x.example/)\n"


def test_long_header_values_are_folded_at_spaces_never_encoded() -> None:
    raw = _build()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    line = next(h for h in unfolded.split("\r\n") if h.startswith("List-Unsubscribe:"))
    assert "=?" not in line  # providers do not decode encoded words in List-Unsubscribe
    assert line.startswith("List-Unsubscribe: <https://t.postwise.example/t/u/")
    assert all(len(h) <= 998 for h in head.split("\r\n"))


def test_non_ascii_subjects_and_names_are_encoded_words() -> None:
    envelope = Envelope(
        "news@news.acme.example", "ada@example.org", "Grüße aus Köln", "news.acme.example",
        from_name="Zoë",
    )  # fmt: skip
    raw = _build(envelope=envelope)
    assert raw.isascii()
    message = _parse(raw)
    assert message["Subject"] == "Grüße aus Köln"
    assert message["From"] == "Zoë <news@news.acme.example>"


def test_every_message_links_to_the_recipient_s_preference_center() -> None:
    message = _parse(_build())
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    found = re.findall(r'href="https://t\.postwise\.example/t/p/([^"]+)"', html_part.get_content())
    assert len(found) == 1  # in the footer, signed, and not a click-tracked link
    claims = SIGNER.verify("preferences", found[0])
    assert claims == {"c": str(CONTACT_ID), "o": str(ORG_ID), "r": "eu"}
    assert f"https://t.postwise.example/t/p/{found[0]}" in text_part.get_content()
    with pytest.raises(InvalidToken):
        SIGNER.verify("unsubscribe", found[0])
