"""The trap-address store of a region cell (``spam_traps``), keyed by the HMAC blind index
contacts and suppressions use, so no trap address is kept in plaintext.

:func:`sync` replaces one feed source's addresses with a file's: the blind indexes are
streamed into a temporary table with COPY, then one INSERT of the new and one DELETE of the
gone ones, all in one transaction (a failed sync changes nothing). :func:`match` is the
look-up enqueue and imports run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import psycopg

from compliance.audit import record
from compliance.crypto import PiiCipher

from .errors import TrapFeedError
from .patterns import TrapMatch

log = logging.getLogger(__name__)

FEED_KIND = "feed"
BEHAVIOURAL_SOURCE = "behavioural"
# Sources the shipped pattern lists and behavioural detection count under; feeds may not
# take them, so a feed sync can never remove what those put in.
RESERVED_PREFIXES = ("postwise:", BEHAVIOURAL_SOURCE, "disposable-email-domains")
MAX_SOURCE_CHARS = 100
PROGRESS_EVERY = 200_000


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed: addresses ``added``, ``removed``, ``unchanged`` (distinct)."""

    source: str
    lines: int
    added: int
    removed: int
    unchanged: int
    seconds: float

    def summary(self) -> str:
        return f"added {self.added}, removed {self.removed}, unchanged {self.unchanged}"


def check_source(source: str) -> str:
    """A feed's source name, or :class:`TrapFeedError` when empty, too long or reserved."""
    name = source.strip()
    if not name or len(name) > MAX_SOURCE_CHARS:
        raise TrapFeedError(f"a source name has 1 to {MAX_SOURCE_CHARS} characters")
    if name.lower().startswith(RESERVED_PREFIXES):
        raise TrapFeedError(f"source names starting {', '.join(RESERVED_PREFIXES)} are reserved")
    return name


def feed_addresses(lines: Iterable[str]) -> Iterator[str]:
    """The addresses of a feed: one a line, ``#`` comments and blank lines skipped; in a CSV
    the first column is the address and a first entry whose first field is ``email`` is a
    header. A line without ``@`` raises :class:`TrapFeedError` with its number."""
    first = True
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        address = text.split(",", 1)[0].strip().strip('"').strip()
        if first and address.lower() == "email":
            first = False
            continue
        first = False
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain:
            raise TrapFeedError(f"{address[:80]!r} is not an email address", number)
        yield address


def sync(
    conn: psycopg.Connection,
    cipher: PiiCipher,
    lines: Iterable[str],
    source: str,
    *,
    actor: str,
    region: str,
    allow_empty: bool = False,
) -> SyncReport:
    """Make ``source``'s trap addresses in this cell exactly those of ``lines`` (see
    :func:`feed_addresses`); audited. Running it twice with the same file changes nothing
    the second time. An empty feed would remove everything, so it needs ``allow_empty``."""
    name = check_source(source)
    started = time.perf_counter()
    with conn.transaction():
        # One sync of a source at a time; two at once would each miss the other's rows.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('spam_traps:' || %s))", (name,))
        conn.execute(
            "CREATE TEMP TABLE trap_feed (email_blind_index bytea NOT NULL) ON COMMIT DROP"
        )
        count = _copy_indexes(conn, cipher, lines, name)
        if count == 0 and not allow_empty:
            raise TrapFeedError("the feed has no addresses; it would remove every one")
        # Indexed and analyzed, the anti-joins below are index or hash joins; without it the
        # planner may loop over the whole feed once per stored trap.
        conn.execute("CREATE INDEX ON trap_feed (email_blind_index)")
        conn.execute("ANALYZE trap_feed")
        added = conn.execute(
            "INSERT INTO spam_traps (email_blind_index, source, kind) "
            "SELECT DISTINCT f.email_blind_index, %s, %s FROM trap_feed f "
            "WHERE NOT EXISTS (SELECT 1 FROM spam_traps t WHERE t.source = %s "
            "  AND t.org_id IS NULL AND t.email_blind_index = f.email_blind_index) "
            "ON CONFLICT DO NOTHING",
            (name, FEED_KIND, name),
        ).rowcount
        removed = conn.execute(
            "DELETE FROM spam_traps t WHERE t.source = %s AND t.org_id IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM trap_feed f "
            "  WHERE f.email_blind_index = t.email_blind_index)",
            (name,),
        ).rowcount
        distinct = conn.execute(
            "SELECT count(DISTINCT email_blind_index) FROM trap_feed"
        ).fetchone()
        report = SyncReport(
            source=name,
            lines=count,
            added=added,
            removed=removed,
            unchanged=int(distinct[0] if distinct else 0) - added,
            seconds=time.perf_counter() - started,
        )
        record(
            conn,
            actor=actor,
            action="traps.sync",
            subject=f"trap_source:{name}",
            details={
                "region": region,
                "addresses": count,
                "added": report.added,
                "removed": report.removed,
                "unchanged": report.unchanged,
            },
        )
    log.info("trap feed %s in %s: %s (%.1f s)", name, region, report.summary(), report.seconds)
    return report


def _copy_indexes(
    conn: psycopg.Connection, cipher: PiiCipher, lines: Iterable[str], source: str
) -> int:
    count = 0
    started = time.perf_counter()
    with conn.cursor().copy("COPY trap_feed (email_blind_index) FROM STDIN") as copy:
        for address in feed_addresses(lines):
            copy.write_row((cipher.blind_index(address),))
            count += 1
            if count % PROGRESS_EVERY == 0:
                elapsed = time.perf_counter() - started
                log.info(
                    "trap feed %s: %d addresses loaded (%.0f/s)", source, count, count / elapsed
                )
    return count


def match(
    conn: psycopg.Connection, indexes: Sequence[bytes], org_id: uuid.UUID
) -> dict[bytes, TrapMatch]:
    """The trap entries among ``indexes`` that apply to ``org_id`` (feeds, and the org's own
    behavioural suspects); a feed wins over a behavioural entry for the same address."""
    if not indexes:
        return {}
    rows = conn.execute(
        "SELECT email_blind_index, source, kind FROM spam_traps "
        "WHERE email_blind_index = ANY(%s) AND (org_id IS NULL OR org_id = %s)",
        (list(indexes), org_id),
    ).fetchall()
    found: dict[bytes, TrapMatch] = {}
    # An address on several lists is rare; the choice among them is made here, not sorted
    # in SQL, so the common case stays an index scan.
    for raw, source, kind in sorted(rows, key=_preference):
        found.setdefault(bytes(raw), TrapMatch(source, kind))
    return found


def match_one(conn: psycopg.Connection, index: bytes, org_id: uuid.UUID) -> TrapMatch | None:
    """The trap entry for one blind index that applies to ``org_id``, or None (the check a
    single message makes; see :func:`match`)."""
    rows = conn.execute(
        "SELECT email_blind_index, source, kind FROM spam_traps "
        "WHERE email_blind_index = %s AND (org_id IS NULL OR org_id = %s)",
        (index, org_id),
    ).fetchall()
    if not rows:
        return None
    _, source, kind = min(rows, key=_preference)
    return TrapMatch(source, kind)


def _preference(row: tuple[bytes, str, str]) -> tuple[bool, str]:
    return row[2] == "behavioural", row[1]
