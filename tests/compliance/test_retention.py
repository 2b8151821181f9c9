"""Data expiration: contacts past their retention date go through the erasure cascade (data
key and ciphertexts destroyed, consents deleted, consent evidence kept under a pseudonym
without IP or user agent, training exclusion), audited; contacts not yet due are
untouched. Also through the daily Dagster job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from consent_kit import Contacts
from schedule_kit import run_schedule

from compliance.audit import entries
from compliance.consent import Evidence, OptInTokens, Subject, start_opt_in
from compliance.retention import RETENTION_JOB, anonymize_expired_contacts
from compliance.subjects import subject_ref
from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.job_runs import last_job_run
from warehouse.migrate import temporary_cells

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def retention_settings(settings: Settings) -> Settings:
    """Settings of cells private to this module: retention erases every expired contact of
    a cell, so it must not run over the other tests' histories."""
    return settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_ret"})


@pytest.fixture(scope="module")
def cells(retention_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(retention_settings, database_server_url) as own:
        yield own


@pytest.fixture
def contacts(cells: Cells, settings: Settings) -> Iterator[Contacts]:
    made = Contacts(cells, settings)
    yield made
    made.cleanup()


def contact_row(cells: Cells, region: str, contact_id: uuid.UUID) -> tuple:
    with cells.connection(region) as conn:
        row = conn.execute(
            "SELECT status, email_ciphertext, name_ciphertext, wrapped_data_key, "
            "email_blind_index, attributes, email_domain FROM contacts WHERE contact_id = %s",
            (contact_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_contacts_past_their_date_are_anonymized_and_the_others_kept(
    cells: Cells, contacts: Contacts, settings: Settings
) -> None:
    expired = contacts.add("eu", retention_until=TODAY - timedelta(days=1))
    due_today = contacts.add("eu", retention_until=TODAY)
    forever = contacts.add("eu")
    tokens = OptInTokens(settings.secret_key, 3600)
    with cells.connection("eu") as conn:
        start_opt_in(
            conn, tokens, Subject(expired, contacts.org_id, "eu", "marketing"), 1,
            Evidence("signup_form", "v1", "203.0.113.9", "Mozilla/5.0"),
        )  # fmt: skip
        before = contact_row(cells, "eu", expired)
        report = anonymize_expired_contacts(conn, TODAY)

    assert expired in report.anonymized
    assert due_today not in report.anonymized and forever not in report.anonymized
    with cells.connection("eu") as conn:
        assert conn.execute(
            "SELECT count(*) FROM contacts WHERE contact_id = %s", (expired,)
        ).fetchone() == (0,)  # kept rows carry a pseudonym, not the contact's id
        tombstones = conn.execute(
            "SELECT contact_id, status, email_ciphertext, name_ciphertext, wrapped_data_key, "
            "email_blind_index, attributes, email_domain FROM contacts "
            "WHERE org_id = %s AND status = 'erased'",
            (contacts.org_id,),
        ).fetchall()
        assert len(tombstones) == 1
        pseudonym, status, email, name, key, index, attributes, domain = tombstones[0]
        event = conn.execute(
            "SELECT action, ip, user_agent, policy_version FROM consent_events "
            "WHERE contact_id = %s",
            (pseudonym,),
        ).fetchone()
        excluded = conn.execute(
            "SELECT count(*) FROM erased_subjects WHERE pseudonym = %s", (pseudonym,)
        ).fetchone()
        consents = conn.execute(
            "SELECT count(*) FROM consents WHERE contact_id IN (%s, %s)", (expired, pseudonym)
        ).fetchone()
        audited = [e.action for e in entries(conn, subject=subject_ref(bytes(before[4])))]
        again = anonymize_expired_contacts(conn, TODAY)
    assert (status, bytes(email), name, bytes(key), attributes, domain) == (
        "erased", b"", None, b"", {}, ""
    )  # fmt: skip
    assert bytes(index) != bytes(before[4])
    assert contact_row(cells, "eu", due_today)[0] == "active"
    assert contact_row(cells, "eu", forever)[0] == "active"
    assert event == ("granted", None, None, "v1")  # the proof stays, the personal data goes
    assert consents == (0,) and excluded == (1,)  # and training leaves the contact out
    assert audited[-1] == "contact.retention_anonymized"
    assert expired not in again.anonymized  # idempotent


def test_the_daily_schedule_runs_the_job_in_every_region_and_anonymizes(
    cells: Cells, contacts: Contacts, database_server_url: str, retention_settings: Settings
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    expired = {region: contacts.add(region, retention_until=yesterday) for region in cells.regions}
    runs = run_schedule(
        database_server_url=database_server_url,
        database_prefix=retention_settings.database_prefix,
        module="retention",
        asset="expired_contacts_anonymized",
        job="retention_job",
        schedule="daily_contact_retention",
        when=datetime.now(UTC),
        metadata="anonymized",
    )
    assert runs.cron_schedule == "30 2 * * *"
    assert sorted(runs.metadata) == sorted(cells.regions)
    assert all(anonymized >= 1 for anonymized in runs.metadata.values())
    for region, contact_id in expired.items():
        with cells.connection(region) as conn:
            assert last_job_run(conn, RETENTION_JOB) is not None  # what the controls check
            left = conn.execute(
                "SELECT count(*) FROM contacts WHERE contact_id = %s", (contact_id,)
            ).fetchone()
            erased = conn.execute(
                "SELECT count(*) FROM contacts WHERE org_id = %s AND status = 'erased'",
                (contacts.org_id,),
            ).fetchone()
        assert left == (0,) and erased is not None and erased[0] >= 1
