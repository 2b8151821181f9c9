"""The controls report: on a simulated installation every control holds once its jobs have
run, and each control fails, naming the evidence, when what it guards is broken."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from consent_kit import Contacts
from settings_env import settings_environment

from compliance.audit import record
from compliance.audit.cells import checkpoint_cells
from compliance.audit.checkpoints import load_signing_key
from compliance.controls import (
    ControlContext,
    ControlPolicy,
    Verdict,
    controls_report,
    run_controls,
)
from compliance.controls.access import admin_second_factor, api_key_rotation
from compliance.controls.chains import audit_chain
from compliance.controls.data import (
    erasures_complete,
    pii_ciphertext,
    retention_ran,
    suppression_enforced,
)
from compliance.controls.policy import ADMIN_ROLES
from compliance.controls.routes import route_tls
from compliance.crypto import PiiCipher
from compliance.erasure import erase_subject
from compliance.retention import RETENTION_JOB
from postwise.settings import RouteSettings, Settings
from serving.auth.mfa.policy import is_admin_role
from serving.auth.roles import Role
from simulator.history import HistoryOptions, simulate_history
from warehouse.db import CONTROL, Cells
from warehouse.job_runs import record_job_run
from warehouse.migrate import temporary_cells

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LOOPBACK = {"primary": RouteSettings(host="127.0.0.1", port=2525, regions=("na",), tls="none")}


@pytest.fixture(scope="module")
def own_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Cells private to the module: controls sweep every table of every database."""
    home = tmp_path_factory.mktemp("controls-home")
    return settings.model_copy(
        update={"database_prefix": f"{settings.database_prefix}_ctl", "postwise_home": home}
    )


@pytest.fixture(scope="module")
def cells(own_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(own_settings, database_server_url) as own:
        simulate_history(
            own, own_settings,
            HistoryOptions(contacts=300, days=10, seed=7, org_slug="controls",
                           end=NOW - timedelta(days=1)),
            progress=False,
        )  # fmt: skip
        yield own


@pytest.fixture(scope="module")
def signing_key(own_settings: Settings):  # type: ignore[no-untyped-def]
    return load_signing_key(own_settings.checkpoint_key_file, create=True)


@pytest.fixture
def context(cells: Cells, own_settings: Settings, signing_key) -> ControlContext:  # type: ignore[no-untyped-def]
    """The installation after its jobs ran: retention recorded, chains checkpointed."""
    for region in cells.regions:
        with cells.connection(region) as conn:
            record_job_run(conn, RETENTION_JOB, 0)
    checkpoint_cells(cells, own_settings.checkpoint_directory, signing_key)
    return ControlContext(
        cells=cells,
        policy=ControlPolicy(),
        routes=LOOPBACK,
        checkpoint_dir=own_settings.checkpoint_directory,
        public_key=signing_key.public_key(),
        now=datetime.now(UTC),
        blind_index=PiiCipher.from_settings(
            own_settings.key_encryption_key, own_settings.blind_index_key
        ).blind_index,
    )


@pytest.fixture
def contacts(cells: Cells, own_settings: Settings) -> Iterator[Contacts]:
    made = Contacts(cells, own_settings)
    yield made
    made.cleanup()


def test_every_control_holds_on_a_simulated_installation_after_its_jobs_ran(
    context: ControlContext,
) -> None:
    report = run_controls(context)

    verdicts = {result.control_id: result.verdict for result in report.results}
    assert verdicts == {
        "pii_ciphertext": Verdict.PASS,
        "admin_second_factor": Verdict.PASS,
        "audit_chain": Verdict.PASS,
        "retention_ran": Verdict.PASS,
        "erasures_complete": Verdict.PASS,
        "route_tls": Verdict.NOT_APPLICABLE,  # the simulator's routes are on loopback
        "suppression_enforced": Verdict.PASS,
        "api_key_rotation": Verdict.PASS,
    }, [r.summary for r in report.results]
    assert report.all_passed
    for result in report.results:
        assert result.evidence, result.control_id
        assert all(item.query and item.finding for item in result.evidence)


def test_the_report_is_written_as_dated_json_and_html_with_the_evidence_queries(
    cells: Cells, own_settings: Settings, context: ControlContext, tmp_path: Path
) -> None:
    report, json_path, html_path = controls_report(own_settings, cells, tmp_path)

    stamp = f"{report.generated_at:%Y-%m-%dT%H%M%SZ}"
    assert json_path.name == f"controls-{stamp}.json" and html_path.name == f"controls-{stamp}.html"
    document = json.loads(json_path.read_text())
    assert [c["control"] for c in document["controls"]] == [r.control_id for r in report.results]
    assert all(c["verdict"] in {"pass", "fail", "not_applicable"} for c in document["controls"])
    suppression = next(c for c in document["controls"] if c["control"] == "suppression_enforced")
    assert any("JOIN suppressions" in e["query"] for e in suppression["evidence"])
    page = html_path.read_text()
    assert page.startswith("<!doctype html>") and "Controls report" in page
    assert "FROM api_keys" in page and "totp_factors" in page


def test_a_plaintext_address_anywhere_fails_the_ciphertext_control(
    cells: Cells, context: ControlContext, contacts: Contacts
) -> None:
    contact = contacts.add("eu", email="Ada.Lovelace@example.org")
    with cells.connection("eu") as conn:
        conn.execute(
            "INSERT INTO messages (message_id, org_id, campaign_type, contact_id, last_error) "
            "VALUES (%s, %s, 'triggered', %s, %s), (%s, %s, 'triggered', %s, %s)",
            (uuid.uuid4(), contacts.org_id, contact, "250 2.0.0 <ab12@mx.example.net> queued",
             uuid.uuid4(), contacts.org_id, contact,
             "550 5.1.1 <ada.lovelace@example.org>: no such user"),
        )  # fmt: skip
    try:
        result = pii_ciphertext(context)
        assert result.verdict is Verdict.FAIL
        assert "eu: addresses in public.messages.last_error" in result.summary
    finally:
        with cells.connection("eu") as conn:
            conn.execute("DELETE FROM messages WHERE contact_id = %s", (contact,))


@pytest.mark.parametrize(
    ("column", "plaintext"),
    [("name_ciphertext", "Ada Lovelace"), ("phone_ciphertext", "+4915112345678")],
)
def test_an_unsealed_contact_field_fails_the_ciphertext_control(
    cells: Cells, context: ControlContext, contacts: Contacts, column: str, plaintext: str
) -> None:
    contact = contacts.add("na")
    with cells.connection("na") as conn:
        conn.execute(
            f"UPDATE contacts SET {column} = convert_to(%s, 'UTF8') WHERE contact_id = %s",
            (plaintext, contact),
        )
    result = pii_ciphertext(context)
    assert result.verdict is Verdict.FAIL and "na: unsealed contact fields" in result.summary


def _org(cells: Cells) -> uuid.UUID:
    org = uuid.uuid4()
    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'na')",
            (org, f"Org {org.hex[:8]}", f"ctl-{org.hex[:12]}"),
        )
    return org


def test_an_owner_without_a_second_factor_fails_until_one_is_confirmed(
    cells: Cells, context: ControlContext
) -> None:
    org, user = _org(cells), uuid.uuid4()
    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO users (user_id, org_id, email, role) VALUES (%s, %s, %s, 'owner')",
            (user, org, f"owner-{user.hex[:8]}@example.com"),
        )
    failing = admin_second_factor(context)
    assert failing.verdict is Verdict.FAIL
    assert str(user) in json.dumps([e.rows for e in failing.evidence])

    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO totp_factors (user_id, secret_ciphertext) VALUES (%s, '\\x00')", (user,)
        )
        assert admin_second_factor(context).verdict is Verdict.FAIL  # pending, not confirmed
        conn.execute("UPDATE totp_factors SET confirmed_at = now() WHERE user_id = %s", (user,))
    assert admin_second_factor(context).verdict is Verdict.PASS


def test_the_administrator_roles_are_the_ones_the_api_demands_a_second_factor_of() -> None:
    assert set(ADMIN_ROLES) == {role.value for role in Role if is_admin_role(role)}


def test_an_api_key_past_its_rotation_age_fails_and_a_revoked_one_does_not(
    cells: Cells, context: ControlContext
) -> None:
    org, key = _org(cells), uuid.uuid4()
    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, org_id, name, prefix, key_hash, role, created_at) "
            "VALUES (%s, %s, 'old', %s, 'x', 'campaign_manager', now() - interval '91 days')",
            (key, org, f"pk_{key.hex[:12]}"),
        )
    result = api_key_rotation(context)
    assert result.verdict is Verdict.FAIL and "older than 90 days" in result.summary
    assert str(key) in json.dumps([e.rows for e in result.evidence])
    with cells.connection(CONTROL) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s", (key,))
    assert api_key_rotation(context).verdict is Verdict.PASS


def test_the_chain_control_needs_a_recent_checkpoint_and_a_key(
    cells: Cells, context: ControlContext, own_settings: Settings, signing_key, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with cells.connection("apac") as conn:
        record(conn, actor="test", action="controls.probe", subject="", details={})
    checkpoint_cells(cells, own_settings.checkpoint_directory, signing_key)
    with cells.connection("apac") as conn:
        record(conn, actor="test", action="controls.probe", subject="", details={})
    assert audit_chain(context).verdict is Verdict.PASS  # entries after a checkpoint are fine
    unanchored = audit_chain(replace(context, checkpoint_dir=tmp_path))
    assert unanchored.verdict is Verdict.FAIL and "apac: no checkpoint" in unanchored.summary
    later = replace(context, now=context.now + timedelta(hours=3))
    stale = audit_chain(later)
    assert stale.verdict is Verdict.FAIL and "newest checkpoint signed" in stale.summary
    unkeyed = audit_chain(replace(context, public_key=None))
    assert unkeyed.verdict is Verdict.FAIL and "no audit signing key" in unkeyed.summary


def test_the_chain_control_fails_on_a_tampered_chain(cells: Cells, context: ControlContext) -> None:
    with cells.connection("apac") as conn:
        entry = record(conn, actor="test", action="controls.tamper", subject="", details={})
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE audit_log SET details = '{\"edited\": true}' WHERE audit_id = %s",
            (entry.audit_id,),
        )
    try:
        result = audit_chain(context)
        assert result.verdict is Verdict.FAIL
        assert f"apac: TAMPERED, first bad entry {entry.audit_id}" in result.summary
    finally:
        with cells.connection("apac") as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM audit_log WHERE audit_id >= %s", (entry.audit_id,))


def test_retention_fails_when_it_has_not_run_or_left_a_contact_past_its_date(
    cells: Cells, context: ControlContext, contacts: Contacts
) -> None:
    later = replace(context, now=context.now + timedelta(days=3))
    missed = retention_ran(later)
    assert missed.verdict is Verdict.FAIL and "retention last ran" in missed.summary

    contacts.add("eu", retention_until=date.today() - timedelta(days=5))
    overdue = retention_ran(context)
    assert overdue.verdict is Verdict.FAIL
    assert "eu: 1 contacts past their retention date" in overdue.summary


def test_erasures_are_complete_until_an_erased_subjects_event_comes_back(
    cells: Cells, context: ControlContext, own_settings: Settings
) -> None:
    cipher = PiiCipher.from_settings(own_settings.key_encryption_key, own_settings.blind_index_key)
    with cells.connection("eu") as conn:
        row = conn.execute(
            "SELECT org_id, contact_id, email_ciphertext, wrapped_data_key, kek_version "
            "FROM contacts "
            "WHERE status <> 'erased' ORDER BY contact_id LIMIT 1"
        ).fetchone()
    assert row is not None
    org_id, contact_id = row[0], row[1]
    address = cipher.open_field(contact_id, "email", bytes(row[2]), bytes(row[3]), row[4])
    erase_subject(cells, cipher, org_id, address, requested_by="test")
    done = erasures_complete(context)
    assert done.verdict is Verdict.PASS and "erasures complete" in done.summary

    with cells.connection("eu") as conn:
        pseudonym = conn.execute(
            "SELECT pseudonym FROM erased_subjects ORDER BY erased_on DESC LIMIT 1"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO email_events (event_id, event_time, contact_id, org_id, campaign_type, "
            "region, type) VALUES (%s, %s, %s, %s, 'marketing', 'eu', 'opened')",
            (uuid.uuid4(), NOW - timedelta(days=2), pseudonym, org_id),
        )
    try:
        result = erasures_complete(context)
        assert (
            result.verdict is Verdict.FAIL and "events left for erased subjects" in result.summary
        )
    finally:
        with cells.connection("eu") as conn:
            conn.execute("DELETE FROM email_events WHERE contact_id = %s", (pseudonym,))


def test_a_route_leaving_the_machine_needs_tls_at_the_minimum(context: ControlContext) -> None:
    def routes(**tls: str) -> dict[str, RouteSettings]:
        return {
            "frankfurt": RouteSettings(host="smtp.eu.example.net", port=587, regions=("eu",),
                                       **tls),  # type: ignore[arg-type]
            **LOOPBACK,
        }  # fmt: skip

    assert route_tls(replace(context, routes=routes())).verdict is Verdict.PASS
    plain = route_tls(replace(context, routes=routes(tls="none")))
    assert plain.verdict is Verdict.FAIL and "route frankfurt: no TLS" in plain.summary
    strict = replace(context, routes=routes(), policy=ControlPolicy(tls_minimum="1.3"))
    old = route_tls(strict)
    assert old.verdict is Verdict.FAIL and "accepts TLS 1.2" in old.summary
    assert route_tls(replace(strict, routes=routes(min_tls="1.3"))).verdict is Verdict.PASS


def test_a_message_sent_after_its_address_was_suppressed_fails_suppression(
    cells: Cells, context: ControlContext, contacts: Contacts
) -> None:
    contact = contacts.add("eu")
    with cells.connection("eu") as conn:
        index = conn.execute(
            "SELECT email_blind_index FROM contacts WHERE contact_id = %s", (contact,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO suppressions (org_id, email_blind_index, reason, created_at) "
            "VALUES (%s, %s, 'unsubscribe', now() - interval '1 hour')",
            (contacts.org_id, index),
        )
        message = uuid.uuid4()
        conn.execute(
            "INSERT INTO messages (message_id, org_id, campaign_type, contact_id, status, "
            "sent_at) VALUES (%s, %s, 'marketing', %s, 'delivered', now())",
            (message, contacts.org_id, contact),
        )
    try:
        result = suppression_enforced(context)
        assert result.verdict is Verdict.FAIL
        assert str(message) in json.dumps([e.rows for e in result.evidence])
    finally:
        with cells.connection("eu") as conn:
            conn.execute("DELETE FROM messages WHERE message_id = %s", (message,))
            conn.execute("DELETE FROM suppressions WHERE email_blind_index = %s", (index,))
    assert suppression_enforced(context).verdict is Verdict.PASS


def test_the_weekly_asset_writes_the_report_and_records_its_run(
    cells: Cells, own_settings: Settings, context: ControlContext, tmp_path: Path,
    database_server_url: str,
) -> None:  # fmt: skip
    import dagster as dg

    from pipelines.controls import controls_job, controls_report_asset, weekly_controls_report
    from pipelines.resources import WarehouseResource
    from postwise.settings import get_settings

    environment = settings_environment(
        own_settings,
        POSTWISE_HOME=str(own_settings.postwise_home),
        CONTROLS_REPORT_DIR=str(tmp_path),
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            defs = dg.Definitions(
                assets=[controls_report_asset],
                jobs=[controls_job],
                schedules=[weekly_controls_report],
                resources={"warehouse": WarehouseResource(database_url=database_server_url)},
            )
            assert defs.resolve_schedule_def("weekly_controls_report").cron_schedule == (
                "0 6 * * 1"
            )
            with dg.DagsterInstance.ephemeral() as instance:
                result = defs.resolve_job_def("controls_report").execute_in_process(
                    instance=instance
                )
        finally:
            get_settings.cache_clear()
    assert result.success
    [materialized] = result.asset_materializations_for_node("compliance__controls_report")
    verdicts = materialized.metadata["verdicts"].value
    assert isinstance(verdicts, dict)
    assert verdicts == {r.control_id: r.verdict.value for r in run_controls(context).results}
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".html", ".json"]
    with cells.connection(CONTROL) as conn:
        runs = conn.execute(
            "SELECT rows_done FROM job_runs WHERE job = 'controls_report'"
        ).fetchall()
    assert runs == [(8,)]


def test_the_cli_prints_each_verdict_and_exits_1_when_a_control_fails(
    cells: Cells, own_settings: Settings, context: ControlContext, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from postwise.cli import main
    from postwise.settings import get_settings

    org, key = _org(cells), uuid.uuid4()
    with cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, org_id, name, prefix, key_hash, role, created_at) "
            "VALUES (%s, %s, 'old', %s, 'x', 'analyst', now() - interval '200 days')",
            (key, org, f"pk_{key.hex[:12]}"),
        )
    environment = settings_environment(own_settings, POSTWISE_HOME=str(own_settings.postwise_home))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            failing = main(["compliance", "controls", "--out", str(tmp_path / "one")])
            failing_out = capsys.readouterr().out
            with cells.connection(CONTROL) as conn:
                conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s", (key,))
            passing = main(["compliance", "controls", "--out", str(tmp_path / "two")])
            passing_out = capsys.readouterr().out
        finally:
            get_settings.cache_clear()
    assert failing == 1
    [line] = [line for line in failing_out.splitlines() if line.startswith("api_key_rotation")]
    assert "FAIL" in line and "1 of" in line and "older than 90 days" in line
    assert passing == 0, passing_out
    for control in ("pii_ciphertext", "admin_second_factor", "audit_chain", "route_tls"):
        assert any(line.startswith(control) for line in passing_out.splitlines())
    assert "NOT APPLICABLE" in passing_out and "report written to" in passing_out
    assert len(list((tmp_path / "two").glob("controls-*.html"))) == 1
