"""A multipart/alternative message written out directly: headers folded the way RFC 5322
asks, both parts quoted-printable UTF-8, CRLF line ends.

Writing it here rather than through ``email.message.EmailMessage`` does two things. It keeps
long ASCII header values intact: the standard library folds a value with a word longer than
a line (a List-Unsubscribe URL with its token) into RFC 2047 encoded words, which mailbox
providers do not decode in List-Unsubscribe, so one-click unsubscribe would break. And it is
several times faster, which matters because every message of a campaign is assembled.

Non-ASCII text (a subject, a display name) becomes encoded words; a non-ASCII domain in an
address becomes IDNA; a non-ASCII local part cannot be written without SMTPUTF8 and is
refused.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Iterable
from email.header import Header
from email.utils import formataddr, getaddresses

from .errors import AssemblyError

ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
FOLD_AT = 78  # RFC 5322: lines SHOULD be at most 78 characters ...
LINE_LIMIT = 998  # ... and MUST be at most 998


def mime_alternative(headers: Iterable[tuple[str, str]], text: str, html: str) -> bytes:
    """The message with ``headers`` (in order), a text/plain and a text/html part."""
    # "=" only ever starts "=XX" or a soft line break in quoted-printable, so a boundary
    # that begins with "==" cannot occur in either part.
    boundary = f"==pw_{secrets.token_hex(12)}"
    lines = [header_line(name, value) for name, value in headers]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    for subtype, body in (("plain", text), ("html", html)):
        lines += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            quoted_printable(body),
        ]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


def header_line(name: str, value: str) -> str:
    """``Name: value``, folded at spaces (continuation lines joined by CRLF)."""
    if not value.isascii():
        if name.lower() in ADDRESS_HEADERS:
            value = _ascii_addresses(name, value)
        else:
            return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return _fold(f"{name}: {value}", name)


def quoted_printable(text: str) -> str:
    """``text`` as UTF-8 quoted-printable with CRLF line ends (lines of at most 76)."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    return encoded.decode("ascii").replace("\n", "\r\n")


def _fold(line: str, name: str) -> str:
    if len(line) <= FOLD_AT:
        return line
    words = line.split(" ")
    # The first word of the value stays on the name's line, however long.
    folded, current = [], " ".join(words[:2])
    for word in words[2:]:
        if current.strip() and len(current) + 1 + len(word) > FOLD_AT:
            folded.append(current)
            current = " " + word
        else:
            current += " " + word
    folded.append(current)
    if any(len(part) > LINE_LIMIT for part in folded):
        raise AssemblyError(f"header {name} has a word longer than {LINE_LIMIT} characters")
    return "\r\n".join(folded)


def _ascii_addresses(name: str, value: str) -> str:
    written = []
    for display, address in getaddresses([value]):
        local, _, domain = address.rpartition("@")
        if not local.isascii():
            raise AssemblyError(f"{name} address {address!r} needs SMTPUTF8 (non-ASCII local part)")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise AssemblyError(f"{name} address {address!r} has an invalid domain") from None
        written.append(formataddr((display, f"{local}@{domain}"), charset="utf-8"))
    return ", ".join(written)
