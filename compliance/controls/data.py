"""Data controls in each region cell: personal data only as ciphertext, suppression
enforced, retention run and effective, erasures complete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg

from ..retention import RETENTION_JOB
from .evidence import EvidenceLog
from .model import ControlResult, Verdict
from .policy import ControlContext

# The ciphertext layout of compliance.crypto: a format byte 0x01, a 12-byte nonce, then the
# AES-GCM output with its 16-byte tag; an erased contact's fields are emptied.
MIN_SEALED_BYTES = 1 + 12 + 16
UNSEALED_CONTACT_FIELDS = """
    SELECT count(*) FILTER (WHERE length(email_ciphertext) < %(min)s
                            OR substring(email_ciphertext FROM 1 FOR 1) <> '\\x01'::bytea)
               AS email_not_sealed,
           count(*) FILTER (WHERE name_ciphertext IS NOT NULL
                            AND (length(name_ciphertext) < %(min)s
                                 OR substring(name_ciphertext FROM 1 FOR 1) <> '\\x01'::bytea))
               AS name_not_sealed,
           count(*) FILTER (WHERE phone_ciphertext IS NOT NULL
                            AND (length(phone_ciphertext) < %(min)s
                                 OR substring(phone_ciphertext FROM 1 FOR 1) <> '\\x01'::bytea))
               AS phone_not_sealed,
           count(*) AS contacts
    FROM contacts WHERE status <> 'erased'
"""
TEXT_COLUMNS = """
    SELECT c.table_schema, c.table_name, c.column_name
    FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    JOIN pg_class k ON k.relname = c.table_name
    JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
    WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
      AND t.table_type = 'BASE TABLE' AND NOT k.relispartition
      AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json')
    ORDER BY 1, 2, 3
"""
# Something shaped like an address in a text value. Most such strings are not people's
# addresses (SMTP replies quote message ids as <id@host>), so each distinct match is looked
# up by blind index: the control fails only on a match that is some contact's address.
ADDRESS_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
KNOWN_ADDRESSES = "SELECT count(*) FROM contacts WHERE email_blind_index = ANY(%s)"


def pii_ciphertext(context: ControlContext) -> ControlResult:
    """Contacts' address and name are sealed, and no text column of any table holds a
    contact's email address in plaintext."""
    log = EvidenceLog()
    problems = []
    for cell in context.cell_names:
        with context.cells.connection(cell) as conn:
            sealed = log.query(
                conn,
                cell,
                UNSEALED_CONTACT_FIELDS,
                {"min": MIN_SEALED_BYTES},
                finding="contacts with an address, name or phone not sealed (must be 0)",
            )[0]
            if (
                sealed["email_not_sealed"]
                or sealed["name_not_sealed"]
                or sealed["phone_not_sealed"]
            ):
                problems.append(f"{cell}: unsealed contact fields")
            found = _plaintext_addresses(conn, cell, context, log)
            problems += [f"{cell}: addresses in {where}" for where in found]
    verdict = Verdict.FAIL if problems else Verdict.PASS
    summary = "; ".join(problems) or (
        f"personal fields sealed and no contact's address in plaintext in "
        f"{len(context.cell_names)} cells"
    )
    return ControlResult(
        "pii_ciphertext",
        "Personal data is stored only as ciphertext",
        verdict,
        summary,
        log.evidence(),
    )


def _plaintext_addresses(
    conn: psycopg.Connection, cell: str, context: ControlContext, log: EvidenceLog
) -> list[str]:
    """Columns of this cell holding a contact's address in plaintext, with evidence."""
    columns = conn.execute(TEXT_COLUMNS).fetchall()
    rows, leaking = [], []
    for schema, table, column in columns:
        sql = (
            f"SELECT DISTINCT (regexp_matches(\"{column}\"::text, %(pattern)s, 'g'))[1] "
            f'FROM "{schema}"."{table}" WHERE "{column}"::text ~ %(pattern)s'
        )
        shaped = [row[0] for row in conn.execute(sql, {"pattern": ADDRESS_PATTERN})]
        if not shaped:
            continue
        indexes = list({context.blind_index(address) for address in shaped})
        row = conn.execute(KNOWN_ADDRESSES, (indexes,)).fetchone()
        contacts = row[0] if row else 0
        where = f"{schema}.{table}.{column}"
        rows.append({"column": where, "address_shaped_values": len(shaped), "contacts": contacts})
        if contacts:
            leaking.append(where)
    log.note(
        cell,
        TEXT_COLUMNS.strip()
        + "\n-- then, for each column: SELECT DISTINCT (regexp_matches(col::text, "
        + f"'{ADDRESS_PATTERN}', 'g'))[1];\n-- each match's blind index looked up in "
        + "contacts: "
        + KNOWN_ADDRESSES,
        rows or [{"columns_scanned": len(columns), "address_shaped_values": 0}],
        finding="address-shaped values per column, and how many are contacts' addresses "
        "(must be 0)",
    )
    return leaking


SENT_WHILE_SUPPRESSED = """
    SELECT m.message_id, m.org_id, s.reason, s.created_at AS suppressed_at, m.sent_at
    FROM messages m
    JOIN contacts c ON c.contact_id = m.contact_id
    JOIN suppressions s ON s.org_id = m.org_id AND s.email_blind_index = c.email_blind_index
    WHERE m.sent_at IS NOT NULL AND m.sent_at > s.created_at + %(grace)s
      AND (s.expires_at IS NULL OR m.sent_at < s.expires_at)
    ORDER BY m.sent_at DESC
"""
SUPPRESSIONS = "SELECT count(*) AS suppressions FROM suppressions"


def suppression_enforced(context: ControlContext) -> ControlResult:
    """No message was sent to an address after it was suppressed for the organization
    (beyond a grace for a send already on the wire)."""
    log = EvidenceLog()
    violations = 0
    suppressions = 0
    for cell in context.cell_names:
        with context.cells.connection(cell) as conn:
            suppressions += log.query(conn, cell, SUPPRESSIONS, finding="suppressions in force")[0][
                "suppressions"
            ]
            violations += len(
                log.query(
                    conn,
                    cell,
                    SENT_WHILE_SUPPRESSED,
                    {"grace": context.policy.suppression_grace},
                    finding="messages sent after their address was suppressed (must be none)",
                )
            )
    verdict = Verdict.FAIL if violations else Verdict.PASS
    summary = (
        f"{violations} messages were sent to suppressed addresses"
        if violations
        else f"no message went to any of {suppressions} suppressed addresses"
    )
    return ControlResult(
        "suppression_enforced", "Suppression is enforced", verdict, summary, log.evidence()
    )


LAST_RETENTION_RUN = """
    SELECT max(finished_at) AS last_run, count(*) AS runs
    FROM job_runs WHERE job = %(job)s
"""
OVERDUE_RETENTION = """
    SELECT count(*) AS overdue FROM contacts
    WHERE retention_until < (%(now)s::timestamptz AT TIME ZONE 'UTC')::date - 1
      AND status <> 'erased'
"""


def retention_ran(context: ControlContext) -> ControlResult:
    """The retention job ran recently in every cell and left no contact past its date."""
    log = EvidenceLog()
    problems = []
    gap = context.policy.retention_max_gap
    for cell in context.cell_names:
        with context.cells.connection(cell) as conn:
            last = log.query(
                conn,
                cell,
                LAST_RETENTION_RUN,
                {"job": RETENTION_JOB},
                finding=f"the retention job's last run (must be within {_hours(gap)} h)",
            )[0]["last_run"]
            overdue = log.query(
                conn,
                cell,
                OVERDUE_RETENTION,
                {"now": context.now},
                finding="contacts more than a day past their retention date (must be 0)",
            )[0]["overdue"]
        if last is None:
            problems.append(f"{cell}: retention never ran")
        elif context.now - last > gap:
            problems.append(f"{cell}: retention last ran {last:%Y-%m-%d %H:%M} UTC")
        if overdue:
            problems.append(f"{cell}: {overdue} contacts past their retention date")
    return _result(
        "retention_ran",
        "Retention runs and takes effect",
        problems,
        f"retention ran within {_hours(gap)} h in every cell; nothing overdue",
        log,
    )


ERASED_STILL_HOLDING = """
    SELECT count(*) AS holding FROM contacts
    WHERE status = 'erased' AND (length(wrapped_data_key) > 0 OR length(email_ciphertext) > 0
                                 OR name_ciphertext IS NOT NULL OR phone_ciphertext IS NOT NULL)
"""
ERASURES_WITHOUT_CERTIFICATE = """
    SELECT e.erasure_id, e.erased_at FROM erasures e
    LEFT JOIN audit_log a ON a.audit_id = e.certificate_audit_id
                         AND a.action = 'erasure.certificate'
    WHERE a.audit_id IS NULL
"""
EVENTS_OF_ERASED = """
    SELECT count(*) AS events FROM email_events e
    JOIN erased_subjects s ON s.pseudonym = e.contact_id
"""
ERASURES = "SELECT count(*) AS erasures FROM erasures"


def erasures_complete(context: ControlContext) -> ControlResult:
    """Every erasure was carried out: keys and ciphertexts destroyed, no events left, a
    certificate in the audit log."""
    log = EvidenceLog()
    problems = []
    erasures = 0
    for cell in context.cell_names:
        with context.cells.connection(cell) as conn:
            erasures += log.query(conn, cell, ERASURES, finding="erasures carried out")[0][
                "erasures"
            ]
            checks: list[tuple[str, str, Callable[[list[dict]], int]]] = [
                (
                    ERASED_STILL_HOLDING,
                    "erased contacts still holding a key or ciphertext",
                    lambda rows: rows[0]["holding"],
                ),
                (
                    EVENTS_OF_ERASED,
                    "events left for erased subjects",
                    lambda rows: rows[0]["events"],
                ),
                (ERASURES_WITHOUT_CERTIFICATE, "erasures without their audit certificate", len),
            ]
            for sql, what, count in checks:
                found = count(log.query(conn, cell, sql, finding=f"{what} (must be 0)"))
                if found:
                    problems.append(f"{cell}: {found} {what}")
    return _result(
        "erasures_complete",
        "Erasure requests are carried out",
        problems,
        f"all {erasures} erasures complete and certified",
        log,
    )


def _result(
    control_id: str, title: str, problems: list[str], ok: str, log: EvidenceLog
) -> ControlResult:
    verdict = Verdict.FAIL if problems else Verdict.PASS
    return ControlResult(control_id, title, verdict, "; ".join(problems) or ok, log.evidence())


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)
