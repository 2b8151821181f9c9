"""Spam-trap store and patterns on the run's real PostgreSQL: a feed sync is idempotent and
reports added/removed/unchanged, refuses bad feeds whole, is audited; every shipped honeypot
list matches what it should (and states its source); behavioural suspects are found in a
seeded sending history; `postwise traps sync` prints the counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from settings_env import settings_environment

from compliance.crypto import PiiCipher
from compliance.erasure import erase_subject
from compliance.traps import TrapFeedError, TrapMatch, shipped_honeypots
from compliance.traps.behavioural import detect_suspects
from compliance.traps.store import match, sync
from postwise.cli import main
from postwise.settings import Settings, get_settings
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

REGION = "eu"


@pytest.fixture(scope="module")
def trap_settings(settings: Settings) -> Settings:
    """Settings of cells private to this module: behavioural detection sweeps a whole cell,
    and the sending histories seeded here must not reach the other tests' marts."""
    return settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_trap"})


@pytest.fixture(scope="module")
def cells(trap_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(trap_settings, database_server_url) as own:
        yield own


@pytest.fixture(name="cipher")
def cipher_fixture(settings: Settings) -> PiiCipher:
    return PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)


def addresses(n: int, tag: str) -> list[str]:
    return [f"trap-{tag}-{i}@feed.example" for i in range(n)]


def feed_rows(cells: Cells, source: str) -> int:
    with cells.connection(REGION) as conn:
        row = conn.execute("SELECT count(*) FROM spam_traps WHERE source = %s", (source,))
        return int(row.fetchone()[0])  # type: ignore[index]


def test_a_sync_adds_the_new_removes_the_gone_and_a_repeat_changes_nothing(
    cells: Cells, cipher: PiiCipher
) -> None:
    source = f"feed-{uuid.uuid4().hex[:8]}"
    first = addresses(5, source)
    lines = ["# a trap feed", "email", *first, "", "  " + first[0].upper() + "  # dup"]

    def run(feed: list[str]) -> tuple[int, int, int]:
        with cells.connection(REGION) as conn:
            report = sync(conn, cipher, feed, source, actor="test", region=REGION)
        return report.added, report.removed, report.unchanged

    assert run(lines) == (5, 0, 0)
    assert run(lines) == (0, 0, 5)
    assert run([*first[2:], "new@feed.example"]) == (1, 2, 3)
    assert feed_rows(cells, source) == 4
    with cells.connection(REGION) as conn:
        found = match(
            conn, [cipher.blind_index(first[3]), cipher.blind_index(first[0])], uuid.uuid4()
        )
        audited = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'traps.sync' AND subject = %s "
            "ORDER BY audit_id",
            (f"trap_source:{source}",),
        ).fetchall()
    assert found == {cipher.blind_index(first[3]): TrapMatch(source, "feed")}
    assert [(d[0]["added"], d[0]["removed"]) for d in audited] == [(5, 0), (0, 0), (1, 2)]


def test_a_bad_line_or_an_empty_feed_changes_nothing(cells: Cells, cipher: PiiCipher) -> None:
    source = f"feed-{uuid.uuid4().hex[:8]}"
    with cells.connection(REGION) as conn:
        sync(conn, cipher, addresses(3, source), source, actor="test", region=REGION)

    with pytest.raises(TrapFeedError) as bad, cells.connection(REGION) as conn:
        sync(conn, cipher, ["a@feed.example", "not an address"], source, actor="t", region=REGION)
    with pytest.raises(TrapFeedError, match="no addresses"), cells.connection(REGION) as conn:
        sync(conn, cipher, ["# nothing left"], source, actor="test", region=REGION)
    with pytest.raises(TrapFeedError, match="reserved"), cells.connection(REGION) as conn:
        sync(conn, cipher, ["a@feed.example"], "behavioural", actor="test", region=REGION)

    assert bad.value.line == 2
    assert feed_rows(cells, source) == 3
    with cells.connection(REGION) as conn:
        emptied = sync(conn, cipher, [], source, actor="t", region=REGION, allow_empty=True)
    assert (emptied.removed, feed_rows(cells, source)) == (3, 0)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("abuse@shop.example", "role"),
        ("Postmaster+list@shop.example", "role"),
        ("spamtrap@shop.example", "role"),
        ("ada@gmial.com", "typo"),
        ("ada@hotmial.com", "typo"),
        ("ada@hotpop.com", "recycled_domain"),
        ("ada@mailinator.com", "disposable_domain"),
        ("ada@inbox.mailinator.com", "disposable_domain"),
        ("ada@example.org", None),
        ("info@example.org", None),
        ("ada@gmail.com", None),
    ],
)
def test_each_honeypot_list_matches_its_addresses(address: str, kind: str | None) -> None:
    found = shipped_honeypots().match_address(address)
    assert (found.kind if found else None) == kind


def test_every_shipped_list_states_its_source_and_licence() -> None:
    data = resources.files("compliance.traps").joinpath("data")
    names = sorted(p.name for p in data.iterdir() if p.name.endswith(".txt"))
    assert names == [
        "disposable_domains.txt",
        "recycled_domains.txt",
        "role_local_parts.txt",
        "typo_domains.txt",
    ]
    for name in names:
        header = data.joinpath(name).read_text("utf-8").split("\n# ", 30)[:30]
        text = "\n".join(header)
        assert "Source" in text and ("Licence" in text or "License" in text), name
    assert len(shipped_honeypots().disposable_domains) > 1000


def _history(
    cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    sends: int,
    days: int,
    events: list[str],
    email: str | None = None,
) -> bytes:
    """A contact mailed ``sends`` times over ``days`` days, with ``events`` (type[:bot])."""
    email = email or f"h-{uuid.uuid4().hex[:10]}@example.org"
    contact_id = uuid.uuid4()
    sealed = cipher.seal_contact(contact_id, email, None)
    now = datetime.now(UTC)
    with cells.connection(REGION) as conn:
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "wrapped_data_key, email_domain, country, region, time_zone) "
            "VALUES (%s, %s, %s, %s, %s, 'example.org', 'DE', %s, 'UTC')",
            (contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
             sealed.wrapped_data_key, REGION),
        )  # fmt: skip
        step = timedelta(days=days) / max(sends - 1, 1)
        for i in range(sends):
            conn.execute(
                "INSERT INTO messages (message_id, org_id, campaign_type, contact_id, status, "
                "sent_at) VALUES (%s, %s, 'marketing', %s, 'delivered', %s)",
                (uuid.uuid4(), org_id, contact_id, now - i * step),
            )
        for event in events:
            kind, _, bot = event.partition(":")
            conn.execute(
                "INSERT INTO email_events (event_id, event_time, contact_id, org_id, "
                "campaign_type, region, type, is_bot) VALUES (%s, %s, %s, %s, 'marketing', %s, "
                "%s, %s)",
                (uuid.uuid4(), now - timedelta(days=1), contact_id, org_id, REGION, kind,
                 bot == "bot"),
            )  # fmt: skip
    return sealed.email_blind_index


def test_contacts_mailed_long_without_engagement_or_bounce_become_behavioural_traps(
    cells: Cells, cipher: PiiCipher
) -> None:
    org_id = uuid.uuid4()
    suspect = _history(cells, cipher, org_id, 15, 90, ["delivered", "opened:bot", "clicked:bot"])
    others = [
        _history(cells, cipher, org_id, 15, 90, ["opened"]),  # a person opened
        _history(cells, cipher, org_id, 15, 90, ["bounced"]),  # the mailbox answers
        _history(cells, cipher, org_id, 15, 90, ["complained"]),
        _history(cells, cipher, org_id, 5, 90, []),  # too few sends
        _history(cells, cipher, org_id, 15, 10, []),  # too short a span
    ]

    def detect() -> tuple[int, int]:
        with cells.connection(REGION) as conn:
            report = detect_suspects(
                conn, REGION, min_sends=12, min_days=60, now=datetime.now(UTC), actor="test"
            )
        return report.suspects, report.added

    suspects, added = detect()
    again = detect()
    with cells.connection(REGION) as conn:
        mine = match(conn, [suspect, *others], org_id)
        elsewhere = match(conn, [suspect], uuid.uuid4())
    assert suspects >= 1 and added >= 1 and again[1] == 0
    assert mine == {suspect: TrapMatch("behavioural", "behavioural")}
    assert elsewhere == {}  # an organization's own history names traps for it alone


@pytest.fixture
def cli_env(trap_settings: Settings, cells: Cells, tmp_path: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(
            trap_settings, POSTWISE_HOME=str(tmp_path / "home")
        ).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def test_the_sync_command_prints_the_counts_and_refuses_bad_input(
    cli_env: None, cells: Cells, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"cli-{uuid.uuid4().hex[:8]}"
    feed = tmp_path / "traps.txt"
    feed.write_text("# vendor feed\n" + "\n".join(addresses(3, source)) + "\n")
    command = ["traps", "sync", str(feed), "--region", REGION, "--source", source]

    assert main(command) == 0
    assert "added 3, removed 0, unchanged 0" in capsys.readouterr().out
    assert main(command) == 0
    assert "added 0, removed 0, unchanged 3" in capsys.readouterr().out
    assert main([*command[:3], "--region", "mars", "--source", source]) == 1
    assert "no region 'mars'" in capsys.readouterr().err
    feed.write_text("ok@feed.example\nbroken\n")
    assert main(command) == 1
    assert "line 2" in capsys.readouterr().err
    assert feed_rows(cells, source) == 3


def test_the_daily_asset_records_a_region_s_suspects(
    cells: Cells, cipher: PiiCipher, trap_settings: Settings, tmp_path: Path
) -> None:
    org_id = uuid.uuid4()
    suspect = _history(cells, cipher, org_id, 15, 90, [])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(
            trap_settings, POSTWISE_HOME=str(tmp_path / "home"), MLFLOW_TRACKING_URI="file:///tmp/x"
        ).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        import dagster as dg

        from pipelines.resources import WarehouseResource
        from pipelines.traps import behavioural_trap_suspects, behavioural_traps_job

        try:
            defs = dg.Definitions(
                assets=[behavioural_trap_suspects],
                jobs=[behavioural_traps_job],
                resources={"warehouse": WarehouseResource(database_url=trap_settings.database_url)},
            )
            with dg.DagsterInstance.ephemeral() as instance:
                result = defs.resolve_job_def("behavioural_traps").execute_in_process(
                    instance=instance, partition_key=REGION
                )
        finally:
            get_settings.cache_clear()
    assert result.success
    [materialized] = result.asset_materializations_for_node("compliance__behavioural_trap_suspects")
    assert materialized.metadata["suspects"].value >= 1
    with cells.connection(REGION) as conn:
        assert match(conn, [suspect], org_id) == {suspect: TrapMatch("behavioural", "behavioural")}


def test_erasing_a_behavioural_suspect_removes_its_trap_entry(
    cells: Cells, cipher: PiiCipher
) -> None:
    org_id = uuid.uuid4()
    email = f"gone-{uuid.uuid4().hex[:8]}@example.org"
    suspect = _history(cells, cipher, org_id, 15, 90, [], email=email)
    with cells.connection(REGION) as conn:
        detect_suspects(conn, REGION, min_sends=12, min_days=60, now=datetime.now(UTC), actor="t")

    erased = erase_subject(cells, cipher, org_id, email, requested_by="test")

    [certificate] = [cell for cell in erased.cells if cell.region == REGION]
    assert certificate.removed["spam_traps"] == 1
    with cells.connection(REGION) as conn:
        left = conn.execute(
            "SELECT count(*) FROM spam_traps WHERE email_blind_index = %s", (suspect,)
        )
        assert left.fetchone() == (0,)
