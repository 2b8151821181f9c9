"""The Compliance page: consent numbers equal SQL over the history's consents; an
organization of the test's own, made through the product's consent workflow, erasure
cascade and audit checkpoints, shows its funnel, erasures, trap hits and quarantined imports
exactly; the audit section reads the signed checkpoints and controls report it is pointed
at, and says how to produce them when there are none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from dashboard_kit import metric, open_page, sum_over_regions, viewer_of

from compliance.audit.cells import checkpoint_cells, record_verifications, verify_cells
from compliance.audit.checkpoints import sign_checkpoint, write_checkpoint
from compliance.audit.log import head
from compliance.consent import (
    Evidence,
    OptInClaims,
    OptInTokens,
    Subject,
    confirm,
    start_opt_in,
    withdraw,
)
from compliance.controls.chains import audit_chain
from compliance.controls.model import ControlsReport
from compliance.controls.policy import ControlContext, ControlPolicy
from compliance.controls.report import write_report
from compliance.crypto import PiiCipher
from compliance.erasure import erase_subject
from dashboards.cache import current_sources
from dashboards.queries import compliance as queries
from dashboards.scope import Scope
from dashboards.widgets import count_text
from postwise.settings import Settings
from warehouse.db import CONTROL, Cells

STATES = """
SELECT count(*) FILTER (WHERE c.status = 'granted'), count(*) FILTER (WHERE c.status = 'pending'),
       count(*) FILTER (WHERE c.status = 'withdrawn')
FROM consents c JOIN contacts k USING (contact_id) WHERE k.org_id = %(org)s
"""
EVENTS = """
SELECT (SELECT count(*) FROM consents c WHERE EXISTS (
            SELECT 1 FROM consent_events e
            WHERE e.org_id = %(org)s AND e.step = 1 AND e.contact_id = c.contact_id
              AND e.channel = c.channel AND e.purpose = c.purpose
              AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s)),
       (SELECT count(*) FROM consent_events
        WHERE org_id = %(org)s AND action = 'withdrawn'
          AND occurred_at >= %(since)s AND occurred_at < %(until)s)
"""
ERASURES = """
SELECT count(*), sum(contacts),
       sum((SELECT sum(value::bigint) FROM jsonb_each_text(removed -> 'removed')))
FROM erasures WHERE org_id = %(org)s AND erased_at >= %(since)s AND erased_at < %(until)s
"""
HITS = """
SELECT sum(hits) FROM spam_trap_hits
WHERE org_id = %(org)s AND day BETWEEN %(start)s AND %(end)s
"""
SUBJECTS = """
SELECT count(*) FROM erased_subjects
WHERE org_id = %(org)s AND erased_on BETWEEN %(start)s AND %(end)s
"""
POLICY = "2026-01"


def window(start: date, end: date) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "since": datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        "until": datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
    }


def test_consent_numbers_equal_sql_over_the_history(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start, end = marts_history.result.start.date(), marts_history.result.end.date()
    at = open_page("compliance", viewer_of(org), days=(start, end))
    assert not at.exception, at.exception

    granted, pending, withdrawn = sum_over_regions(cells, STATES, {"org": org})
    assert granted > 100  # every simulated recipient signed up
    assert metric(at, "Consents granted") == count_text(granted)
    assert metric(at, "Consents pending") == count_text(pending)
    assert metric(at, "Consents withdrawn") == count_text(withdrawn)
    started, withdrawals = sum_over_regions(cells, EVENTS, {"org": org, **window(start, end)})
    assert started > 0  # recipients keep signing up during the history
    assert metric(at, "Opt-ins started") == count_text(started)
    assert metric(at, "Withdrawals") == count_text(withdrawals)

    stranger = open_page("compliance", viewer_of(uuid.uuid4()), days=(start, end))
    assert not stranger.exception, stranger.exception
    assert metric(stranger, "Consents granted") == "0"
    assert metric(stranger, "Erasures") == "0"


@dataclass
class Seeded:
    org_id: uuid.UUID
    today: date
    requested_by: str


@pytest.fixture
def seeded(cells: Cells, settings: Settings) -> Iterator[Seeded]:
    """A new organization: consents through every opt-in kind, an erasure, trap hits,
    suppressions and a quarantined import, all today."""
    org = uuid.uuid4()
    today = datetime.now(UTC).date()
    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) "
            "VALUES (%s, 'Compliance', %s, 'na')",
            (org, f"compliance-{org.hex[:8]}"),
        )
        conn.execute(
            "INSERT INTO import_quarantines (import_id, org_id, imported_by, received, held, "
            "trap_hits) VALUES (%s, %s, 'user:owner', 100, 100, 7)",
            (uuid.uuid4(), org),
        )
    cipher = PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)
    tokens = OptInTokens(settings.secret_key, 3600)
    evidence = Evidence(source="signup_form", policy_version=POLICY)

    def contact(region: str, address: str) -> uuid.UUID:
        contact_id = uuid.uuid4()
        sealed = cipher.seal_contact(contact_id, address, "Ada")
        with cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
                "time_zone) VALUES (%s, %s, %s, %s, %s, %s, %s, 'example.org', 'DE', %s, 'UTC')",
                (contact_id, org, sealed.email_ciphertext, sealed.email_blind_index,
                 sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version, region),
            )  # fmt: skip
        return contact_id

    def opt_in(region: str, steps: int, confirmations: int, address: str = "") -> Subject:
        address = address or f"{uuid.uuid4().hex[:10]}@example.org"
        subject = Subject(contact(region, address), org, region, "marketing")
        with cells.connection(region) as conn:
            start_opt_in(conn, tokens, subject, steps, evidence)
            for step in range(2, 2 + confirmations):
                claims = OptInClaims(uuid.uuid4(), subject.contact_id, org, region, "email",
                                     "marketing", step, 0)  # fmt: skip
                confirm(conn, tokens, claims, evidence)
        return subject

    opt_in("na", 1, 0)  # granted
    opt_in("eu", 2, 1)  # granted
    opt_in("eu", 3, 2)  # granted
    opt_in("eu", 3, 1)  # pending after the email confirmation
    opt_in("apac", 2, 0)  # pending
    leaving = opt_in("na", 2, 1)
    with cells.connection("na") as conn:
        withdraw(conn, leaving, Evidence(source="unsubscribe_link", policy_version=POLICY))
    for region in ("na", "eu"):  # the erasure removes these consents: they leave the funnel
        opt_in(region, 1, 0, "erase-me@example.org")
    requested_by = "privacy-officer@compliance.example"
    erase_subject(cells, cipher, org, "erase-me@example.org", requested_by=requested_by)
    for region, hits in (("na", 3), ("apac", 4)):
        with cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO spam_trap_hits (day, org_id, source, kind, hits) "
                "VALUES (%s, %s, 'feed', 'pristine', %s), (%s, %s, 'feed', 'pristine', 99)",
                (today, org, hits, today - timedelta(days=3), org),
            )
            conn.execute(
                "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
                "VALUES (%s, %s, 'manual', 'test')",
                (org, cipher.blind_index(f"manual-{region}@example.org")),
            )
    yield Seeded(org, today, requested_by)


def test_a_seeded_organization_shows_its_own_records_exactly(
    seeded: Seeded, cells: Cells, app_settings: Settings, audit_record_dirs: tuple[Path, Path]
) -> None:
    org, today = seeded.org_id, seeded.today
    at = open_page("compliance", viewer_of(org), days=(today, today))
    assert not at.exception, at.exception

    assert metric(at, "Consents granted") == "3"
    assert metric(at, "Consents pending") == "2"
    assert metric(at, "Consents withdrawn") == "1"
    assert metric(at, "Opt-ins started") == "6"
    assert metric(at, "Withdrawals") == "1"
    funnel = queries.consent_funnel(
        current_sources(), Scope(org, ("na", "eu", "apac"), today, today)
    )
    reached = {(r.opt_in, r.stage): r.consents for r in funnel.itertuples()}
    assert reached == {
        ("single opt-in", "signed up"): 1, ("single opt-in", "granted"): 1,
        ("single opt-in", "withdrew"): 0,
        ("double opt-in", "signed up"): 3, ("double opt-in", "email confirmed"): 2,
        ("double opt-in", "granted"): 2, ("double opt-in", "withdrew"): 1,
        ("three-step opt-in", "signed up"): 2, ("three-step opt-in", "email confirmed"): 2,
        ("three-step opt-in", "preferences confirmed"): 1,
        ("three-step opt-in", "granted"): 1, ("three-step opt-in", "withdrew"): 0,
    }  # fmt: skip

    days = {"org": org, **window(today, today)}
    count, contacts, removed = sum_over_regions(cells, ERASURES, days)
    assert count == 2 and contacts == 2 and removed >= 2  # the subject had a contact in na and eu
    assert metric(at, "Erasures") == count_text(count)
    assert metric(at, "Contacts erased") == count_text(contacts)
    assert metric(at, "Rows removed") == count_text(removed)
    (subjects,) = sum_over_regions(cells, SUBJECTS, days)
    assert subjects == 2
    assert metric(at, "Pseudonymized subjects") == count_text(subjects)
    listed = next(frame.value for frame in at.dataframe if "subject_hash" in frame.value)
    assert len(listed) == 2 and set(listed["subject_hash"].str.len()) == {12}
    assert "requested_by" not in listed
    shown = " ".join(str(frame.value.to_csv()) for frame in at.dataframe)
    assert seeded.requested_by not in shown and "erase-me" not in shown

    (hits,) = sum_over_regions(cells, HITS, {"org": org, "start": today, "end": today})
    assert hits == 7
    assert metric(at, "Spam-trap hits") == count_text(hits)
    assert metric(at, "Quarantined imports") == "1"

    one_region = open_page("compliance", viewer_of(org), days=(today, today), regions=["apac"])
    assert not one_region.exception, one_region.exception
    assert metric(one_region, "Consents pending") == "1"
    assert metric(one_region, "Spam-trap hits") == "4"
    assert metric(one_region, "Erasures") == "0"


def test_audit_section_reads_the_recorded_checkpoints_and_controls_report(
    cells: Cells, app_settings: Settings, audit_record_dirs: tuple[Path, Path]
) -> None:
    checkpoints, reports = audit_record_dirs
    org = uuid.uuid4()
    at = open_page("compliance", viewer_of(org))
    assert not at.exception, at.exception
    infos = " ".join(info.value for info in at.info)
    assert "postwise audit checkpoint" in infos and "postwise compliance controls" in infos

    key = ec.generate_private_key(ec.SECP521R1())
    written = checkpoint_cells(cells, checkpoints, key)
    now = datetime.now(UTC)
    context = ControlContext(cells, ControlPolicy(), {}, checkpoints, key.public_key(), now,
                             blind_index=lambda address: b"")  # fmt: skip
    result = audit_chain(context)
    write_report(ControlsReport(now - timedelta(days=1), ()), reports)  # an older report
    write_report(ControlsReport(now, (result,)), reports)
    reports = verify_cells(cells, checkpoints, key.public_key())
    record_verifications(cells, reports)
    (checkpoints / "na-999999999999.json").write_text("not json")  # the page reads defensively

    # Another viewer: the chain heads of the first look are cached for 30 s.
    at = open_page("compliance", viewer_of(uuid.uuid4()))
    assert not at.exception, at.exception
    assert metric(at, "Chains last verified intact") == f"{len(reports)} of {len(reports)}"
    assert metric(at, "Audit-chain control") == result.verdict.value == "pass"
    assert metric(at, "Last verified") == f"{now:%d %b %Y %H:%M} UTC"
    assert metric(at, "Chains without a fresh checkpoint") == "0"
    unreadable = queries.newest_checkpoints(checkpoints).set_index("database")["unreadable"]
    assert unreadable.to_dict() == {name: int(name == "na") for name in written}
    assert all(path is not None for path in written.values())

    # A checkpoint five hours old is stale against the two-hour expectation.
    stale_dir = checkpoints.parent / f"stale-{uuid.uuid4().hex[:6]}"
    with cells.connection(CONTROL) as conn:
        newest = head(conn)
    assert newest is not None
    write_checkpoint(stale_dir, sign_checkpoint(key, CONTROL, newest, at=now - timedelta(hours=5)))
    frame = queries.newest_checkpoints(stale_dir)
    assert list(frame["database"]) == [CONTROL]
    assert 4.9 < frame["age_hours"].iloc[0] < 5.1
