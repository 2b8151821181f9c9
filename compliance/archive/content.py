"""What an archived row holds, and the content checksum both sides compute the same way.

The Parquet schema keeps every column of ``email_events`` except the personal ones in
clear. For a row with a contact, ``contact_id`` and ``details`` (click URLs, user agents,
IP addresses) are sealed together under that contact's data key into ``sealed``, and the
row names its subject by ``subject`` (the subject hash, hex: what erasures are recorded
under) instead of the contact id. Rows without a contact keep ``details`` in clear.

The content checksum is the sum, as an exact integer, of the first 8 bytes (signed,
big-endian) of SHA-256 over each row's canonical line: the columns below as text joined by
U+001F, NULL as ``\\N``, the time as microseconds since the epoch, ``details`` as
PostgreSQL's own ``jsonb`` text. A sum does not depend on row order, so PostgreSQL
aggregates it in one pass and the Parquet side streams it batch by batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import pyarrow as pa

SEPARATOR = "\x1f"
NULL = "\\N"

ARCHIVE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("message_id", pa.string()),
        ("org_id", pa.string()),
        ("campaign_id", pa.string()),
        ("campaign_type", pa.string()),
        ("region", pa.string()),
        ("type", pa.string()),
        ("smtp_code", pa.int16()),
        ("enhanced_code", pa.string()),
        ("route", pa.string()),
        ("is_bot", pa.bool_()),
        ("ingest_seq", pa.int64()),
        ("subject", pa.string()),  # subject hash (hex) of the row's contact; null: none
        ("details", pa.string()),  # jsonb text, only for rows without a contact
        ("sealed", pa.binary()),  # contact_id and details, under the contact's data key
    ]
)

# The canonical line, in order. The SQL side below must list the same columns.
LINE_COLUMNS = (
    "event_id",
    "event_time",
    "message_id",
    "contact_id",
    "org_id",
    "campaign_id",
    "campaign_type",
    "region",
    "type",
    "smtp_code",
    "enhanced_code",
    "route",
    "is_bot",
    "details",
    "ingest_seq",
)

_SQL_LINE = f"""concat_ws(E'\\x1f',
    event_id::text,
    (extract(epoch FROM event_time) * 1000000)::bigint::text,
    coalesce(message_id::text, '{NULL}'),
    coalesce(contact_id::text, '{NULL}'),
    org_id::text,
    coalesce(campaign_id::text, '{NULL}'),
    campaign_type,
    region,
    type,
    coalesce(smtp_code::text, '{NULL}'),
    coalesce(enhanced_code, '{NULL}'),
    coalesce(route, '{NULL}'),
    is_bot::text,
    details::text,
    ingest_seq::text)"""

# count(*) and the content checksum of one partition ({} is its quoted name).
SQL_CHECKSUM = (
    "SELECT count(*), coalesce(sum(('x' || left(encode(sha256(convert_to("
    + _SQL_LINE
    + ", 'UTF8')), 'hex'), 16))::bit(64)::bigint::numeric), 0)::text FROM {}"
)


def row_line(values: Sequence[object]) -> str:
    """The canonical line of one row, ``values`` in :data:`LINE_COLUMNS` order, with the
    time already in microseconds and booleans as Python bools."""
    parts = []
    for value in values:
        if value is None:
            parts.append(NULL)
        elif isinstance(value, bool):
            parts.append("true" if value else "false")
        else:
            parts.append(str(value))
    return SEPARATOR.join(parts)


def line_hash(line: str) -> int:
    """The signed 64-bit prefix of SHA-256 over one canonical line."""
    return int.from_bytes(hashlib.sha256(line.encode()).digest()[:8], "big", signed=True)


def checksum(lines: Iterable[str]) -> int:
    """The content checksum of rows given by their canonical lines."""
    return sum(line_hash(line) for line in lines)
