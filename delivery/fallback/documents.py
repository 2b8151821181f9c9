"""The PDFs behind secure links: sealed under the recipient's data key in the cell, served
through a signed, expiring token (``/t/f/{token}`` on the tracking host).

The token names the message and its region and carries its own expiry; the row carries the
same expiry, and rows past it are purged (:func:`purge_expired`). A document can be opened
only while its contact's data key exists: an erasure shreds it with the contact.

Connections come from the caller; each function runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from compliance.crypto import PiiCipher
from compliance.errors import ComplianceError

from .errors import DocumentUnavailable, InvalidDocumentLink

FIELD = "fallback_pdf"  # associated data: a sealed PDF opens only as this contact's PDF
SALT = "fallback-document"


@dataclass(frozen=True)
class DocumentRef:
    """What a verified secure-link token names."""

    message_id: uuid.UUID
    region: str


class DocumentLinks:
    """Signs and checks secure-link tokens and builds their URLs."""

    def __init__(self, secret_key: str, base_url: str, ttl: timedelta) -> None:
        if len(secret_key) < 16:
            raise ValueError("the link secret must have at least 16 characters")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl

    def url(self, message_id: uuid.UUID, region: str) -> str:
        """The signed URL of a message's PDF."""
        token = self._serializer.dumps({"m": message_id.hex, "r": region})
        return f"{self.base_url}/t/f/{token}"

    def verify(self, token: str) -> DocumentRef:
        """The document ``token`` names; raises :class:`InvalidDocumentLink` when it is
        forged, malformed or older than the links' lifetime."""
        try:
            payload = self._serializer.loads(token, max_age=int(self.ttl.total_seconds()))
        except SignatureExpired:
            raise DocumentUnavailable("this link has expired") from None
        except BadSignature:
            raise InvalidDocumentLink("this link is not valid") from None
        try:
            return DocumentRef(uuid.UUID(hex=payload["m"]), str(payload["r"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidDocumentLink("this link is not valid") from None


def store_document(
    conn: psycopg.Connection,
    cipher: PiiCipher,
    message_id: uuid.UUID,
    pdf: bytes,
    expires_at: datetime,
) -> None:
    """Seal ``pdf`` under the message's recipient's data key and keep it until
    ``expires_at`` (a second call for the same message replaces it)."""
    row = conn.execute(
        "SELECT m.org_id, c.contact_id, c.wrapped_data_key, c.kek_version FROM messages m "
        "JOIN contacts c ON c.contact_id = m.contact_id WHERE m.message_id = %s",
        (message_id,),
    ).fetchone()
    if row is None:
        raise DocumentUnavailable(f"message {message_id} has no contact to seal its PDF for")
    org_id, contact_id, wrapped, kek_version = row
    sealed = cipher.seal_bytes(contact_id, FIELD, pdf, wrapped, kek_version)
    conn.execute(
        "INSERT INTO fallback_documents (message_id, org_id, pdf_ciphertext, expires_at) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (message_id) DO UPDATE SET "
        "pdf_ciphertext = excluded.pdf_ciphertext, expires_at = excluded.expires_at, "
        "created_at = now()",
        (message_id, org_id, sealed, expires_at),
    )


def open_document(conn: psycopg.Connection, cipher: PiiCipher, message_id: uuid.UUID) -> bytes:
    """The PDF of ``message_id`` while it is kept; raises :class:`DocumentUnavailable` when
    it expired, was purged, or its contact was erased."""
    row = conn.execute(
        "SELECT d.pdf_ciphertext, c.contact_id, c.wrapped_data_key, c.kek_version "
        "FROM fallback_documents d JOIN messages m ON m.message_id = d.message_id "
        "JOIN contacts c ON c.contact_id = m.contact_id "
        "WHERE d.message_id = %s AND d.expires_at > %s",
        (message_id, datetime.now(UTC)),
    ).fetchone()
    if row is None:
        raise DocumentUnavailable("this document is no longer available")
    sealed, contact_id, wrapped, kek_version = row
    try:
        return cipher.open_bytes(contact_id, FIELD, sealed, wrapped, kek_version)
    except ComplianceError:
        raise DocumentUnavailable("this document is no longer available") from None


def purge_expired(conn: psycopg.Connection, now: datetime | None = None) -> int:
    """Delete the documents whose links have expired; returns how many."""
    cursor = conn.execute(
        "DELETE FROM fallback_documents WHERE expires_at <= %s", (now or datetime.now(UTC),)
    )
    return cursor.rowcount
