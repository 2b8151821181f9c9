"""The pieces of the fallback channel's document: the PDF is rendered without fetching
anything, secure-link tokens refuse tampering and age, phone numbers are E.164 and sealed,
documents are sealed at rest and purged once expired."""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from worker_kit import WORKER_REGION, CampaignMaker, Person

from compliance.crypto import PiiCipher
from compliance.erasure.cascade import erase_contact
from delivery.fallback import (
    DocumentLinks,
    DocumentUnavailable,
    InvalidDocumentLink,
    InvalidPhoneNumber,
    NoFallbackRecipient,
    normalize_phone,
    open_document,
    phone_of,
    purge_expired,
    store_document,
    store_phone,
)
from delivery.fallback.pdf import html_and_subject, render_pdf
from postwise.settings import Settings
from warehouse.db import Cells


def _png() -> str:
    """A small red PNG as base64: the only kind of image a rendered message may carry is a
    data: URI."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 0, 0)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


PNG = _png()


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that counts what is asked of it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_rendering_fetches_nothing_and_keeps_data_uri_images(
    counting_server: tuple[str, list[str]],
) -> None:
    base, hits = counting_server
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/style.css">'
        f"<style>@import url({base}/more.css); body {{ background: url({base}/bg.png) }}</style>"
        f'</head><body><img src="{base}/o/pixel.gif" width="1" height="1">'
        f'<img src="data:image/png;base64,{PNG}" width="20" height="20">'
        "<h1>Your order</h1><p>It ships on Friday.</p></body></html>"
    )
    with_image = render_pdf(html)
    without_image = render_pdf(html.replace(f"data:image/png;base64,{PNG}", ""))

    assert with_image.startswith(b"%PDF-") and without_image.startswith(b"%PDF-")
    assert hits == []  # neither the pixel, the stylesheets nor the background
    assert b"/Subtype /Image" in with_image and b"/Subtype /Image" not in without_image


def test_the_html_and_subject_come_from_the_assembled_message() -> None:
    mime = (
        b"Subject: =?utf-8?q?Caf=C3=A9_news?=\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>rich</p>\r\n--b--\r\n"
    )
    assert html_and_subject(mime) == ("<p>rich</p>", "Café news")
    text_only = b"Subject: Hi\r\nContent-Type: text/plain\r\n\r\n1 < 2\r\n"
    assert html_and_subject(text_only) == ("<pre>1 &lt; 2\r\n</pre>", "Hi")


def test_secure_link_tokens_refuse_tampering_other_keys_and_age() -> None:
    links = DocumentLinks("a-secret-of-some-length", "https://t.example/", timedelta(days=7))
    message_id = uuid.uuid4()
    url = links.url(message_id, "eu")
    assert url.startswith("https://t.example/t/f/")
    token = url.rsplit("/", 1)[-1]
    ref = links.verify(token)
    assert (ref.message_id, ref.region) == (message_id, "eu")

    with pytest.raises(InvalidDocumentLink):
        links.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    other = DocumentLinks("another-secret-entirely", "https://t.example", timedelta(days=7))
    with pytest.raises(InvalidDocumentLink):
        other.verify(token)
    short = DocumentLinks("a-secret-of-some-length", "https://t.example", timedelta(seconds=1))
    time.sleep(2.1)
    with pytest.raises(DocumentUnavailable, match="expired"):
        short.verify(token)


def test_phone_numbers_are_normalized_to_e164_or_refused() -> None:
    assert normalize_phone(" +49 (151) 123-456.78 ") == "+4915112345678"
    assert normalize_phone("0049 151 1234 5678") == "+4915112345678"
    for bad in ("015112345678", "+0151123", "+49 151 abc", "+1234", "+1234567890123456"):
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone(bad)


def test_phones_and_documents_are_sealed_under_the_contact_key_and_purged_when_expired(
    worker_settings: Settings, worker_cells: Cells, make_campaign: CampaignMaker
) -> None:
    cipher = PiiCipher.from_settings(
        worker_settings.key_encryption_key, worker_settings.blind_index_key
    )
    first, second = make_campaign([Person("one@mail.example"), Person("two@mail.example")])
    now = datetime.now(UTC)
    with worker_cells.connection(WORKER_REGION) as conn:
        contacts = dict(
            conn.execute(
                "SELECT message_id, contact_id FROM messages WHERE message_id = ANY(%s)",
                ([first, second],),
            ).fetchall()
        )
        store_phone(conn, cipher, contacts[first], "+81 90 1111 2222")
        assert phone_of(conn, cipher, contacts[first]) == "+819011112222"
        with pytest.raises(NoFallbackRecipient):
            phone_of(conn, cipher, contacts[second])
        raw = conn.execute(
            "SELECT phone_ciphertext FROM contacts WHERE contact_id = %s", (contacts[first],)
        ).fetchone()
        assert raw is not None and b"1111" not in bytes(raw[0])

        store_document(conn, cipher, first, b"%PDF-1.7 first", now + timedelta(days=1))
        store_document(conn, cipher, second, b"%PDF-1.7 second", now - timedelta(seconds=1))
        assert open_document(conn, cipher, first) == b"%PDF-1.7 first"
        with pytest.raises(DocumentUnavailable):
            open_document(conn, cipher, second)  # expired: refused before it is purged
        assert purge_expired(conn) >= 1
        left = conn.execute(
            "SELECT message_id FROM fallback_documents WHERE message_id = ANY(%s)",
            ([first, second],),
        ).fetchall()
        assert left == [(first,)]
        store_phone(conn, cipher, contacts[first], None)
        with pytest.raises(NoFallbackRecipient):
            phone_of(conn, cipher, contacts[first])
        conn.execute("DELETE FROM fallback_documents WHERE message_id = %s", (first,))


def test_an_erasure_removes_the_phone_number_and_the_documents(
    worker_settings: Settings, worker_cells: Cells, make_campaign: CampaignMaker
) -> None:
    cipher = PiiCipher.from_settings(
        worker_settings.key_encryption_key, worker_settings.blind_index_key
    )
    (message_id,) = make_campaign([Person("erase.me@mail.example")])
    with worker_cells.connection(WORKER_REGION) as conn:
        row = conn.execute(
            "SELECT m.org_id, c.contact_id, c.email_blind_index FROM messages m "
            "JOIN contacts c USING (contact_id) WHERE m.message_id = %s",
            (message_id,),
        ).fetchone()
        assert row is not None
        org_id, contact_id, blind_index = row
        store_phone(conn, cipher, contact_id, "+819011112222")
        store_document(conn, cipher, message_id, b"%PDF-1.7", datetime.now(UTC) + timedelta(1))
        done = erase_contact(conn, org_id, contact_id, blind_index, [message_id])
        assert done.removed["fallback_documents"] == 1
        left = conn.execute(
            "SELECT count(*) FROM fallback_documents WHERE message_id = %s", (message_id,)
        ).fetchone()
        phones = conn.execute(
            "SELECT count(*) FROM contacts WHERE contact_id = %s AND phone_ciphertext IS NOT NULL",
            (done.pseudonym,),
        ).fetchone()
    assert left == (0,) and phones == (0,)
