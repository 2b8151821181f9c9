"""The cold-storage archive on real PostgreSQL, a directory store and a real S3-compatible
server (moto) on loopback: partitions past retention are exported, verified and only then
dropped; a short upload keeps the partition; SQL over the archive answers as the warehouse
did; an erasure makes the subject's archived payload unreadable and is in the index."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer
from psycopg.types.json import Jsonb
from pyarrow import fs
from settings_env import settings_environment

from compliance.archive.errors import ArchiveVerificationFailed, MissingDataKey
from compliance.archive.export import archive_due, archive_partition
from compliance.archive.index import list_index
from compliance.archive.query import QueryScope, run_query
from compliance.archive.store import ArchiveStore, S3Options
from compliance.archive.verify import verify_object
from compliance.crypto import PiiCipher
from compliance.erasure import erase_subject
from compliance.subjects import subject_hash
from postwise.cli import main
from postwise.settings import Settings, get_settings
from warehouse.db import CONTROL, Cells
from warehouse.migrate import temporary_cells

REGION = "eu"
RETENTION = 30
TODAY = date(2026, 6, 1)
BUCKET = "postwise-archive"
# Details as the tracking endpoints write them, with what makes text forms disagree:
# non-ASCII, quotes, escapes, nested objects, decimals and an empty object.
TRICKY_DETAILS = [
    {"url": 'https://shop.example/ä?q="x"&y=1', "user_agent": "Mozilla/5.0 (Jöhn's phone)"},
    {"ip": "203.0.113.7", "nested": {"b": [1, 2.50, None], "a": "tab\there"}},
    {},
    {"reason": "550 5.1.1 <{email}> unknown\nuser", "score": 0.1},
    {"subject": "Offer \U0001f381 \\ back\\slash", "big": 12345678901234567890, "e": 1e-7},
]
AGGREGATES = (
    "SELECT type, count(*) AS events, count(DISTINCT message_id) AS messages, "
    "COALESCE(SUM(smtp_code), 0) AS codes FROM email_events GROUP BY type ORDER BY type"
)


@dataclass
class SeededDay:
    """A daily partition seeded with events of a few contacts and some without one."""

    day: date
    contacts: dict[str, uuid.UUID] = field(default_factory=dict)  # email -> contact id
    rows_of: dict[str, int] = field(default_factory=dict)  # email -> events
    anonymous: int = 0

    @property
    def partition(self) -> str:
        return f"email_events_p{self.day:%Y%m%d}"

    @property
    def rows(self) -> int:
        return sum(self.rows_of.values()) + self.anonymous


@pytest.fixture(scope="module")
def archive_cells(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    own = settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_arch"})
    with temporary_cells(own, database_server_url) as cells:
        yield cells


@pytest.fixture(scope="module")
def cipher(settings: Settings) -> PiiCipher:
    return PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)


@pytest.fixture
def org_id(archive_cells: Cells) -> uuid.UUID:
    org = uuid.uuid4()
    with archive_cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'eu')",
            (org, f"Org {org.hex[:8]}", f"archive-{org.hex[:12]}"),
        )
    return org


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server on loopback, with the archive bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    fs.S3FileSystem(
        access_key="archive-test",
        secret_key="archive-test-secret",
        endpoint_override=f"{host}:{port}",
        scheme="http",
        allow_bucket_creation=True,
    ).create_dir(BUCKET)
    yield endpoint
    server.stop()


def s3_store(endpoint: str, prefix: str) -> ArchiveStore:
    options = S3Options(endpoint, "archive-test", "archive-test-secret")
    return ArchiveStore.from_url(f"s3://{BUCKET}/{prefix}", options)


_day_counter = iter(range(400))


def seed_day(
    cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    contacts: int = 3,
    per_contact: int = 40,
    day: date | None = None,
) -> SeededDay:
    """A day past retention (a fresh one unless given) with events of ``contacts`` contacts
    and 7 without one."""
    seeded = SeededDay(day or TODAY - timedelta(days=RETENTION + 10 + next(_day_counter)))
    start = datetime(seeded.day.year, seeded.day.month, seeded.day.day, tzinfo=UTC)
    with cells.connection(REGION) as conn:
        conn.execute("SELECT ensure_event_partitions(%s, %s)", (seeded.day, seeded.day))
        for number in range(contacts):
            email = f"archived-{uuid.uuid4().hex[:10]}@example.org"
            contact_id = uuid.uuid4()
            sealed = cipher.seal_contact(contact_id, email, f"Person {number}")
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, "
                "region, time_zone) VALUES (%s, %s, %s, %s, %s, %s, %s, 'example.org', 'DE', "
                "%s, 'Europe/Berlin')",
                (
                    contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                    sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version, REGION,
                ),
            )  # fmt: skip
            seeded.contacts[email] = contact_id
            seeded.rows_of[email] = per_contact + number
            _insert_events(conn, org_id, contact_id, email, start, per_contact + number)
        seeded.anonymous = 7
        _insert_events(conn, org_id, None, "", start, seeded.anonymous)
    return seeded


def _insert_events(conn, org_id, contact_id, email, start, count) -> None:  # type: ignore[no-untyped-def]
    kinds = ["sent", "delivered", "opened", "clicked", "bounced"]
    with conn.cursor() as cursor:
        with cursor.copy(
            "COPY email_events (event_id, event_time, message_id, contact_id, org_id, "
            "campaign_id, campaign_type, region, type, smtp_code, enhanced_code, route, "
            "is_bot, details) FROM STDIN"
        ) as copy:
            for i in range(count):
                details = json.loads(
                    json.dumps(TRICKY_DETAILS[i % len(TRICKY_DETAILS)]).replace("{email}", email)
                )
                copy.write_row(
                    (
                        uuid.uuid4(),
                        start + timedelta(minutes=7 * i, microseconds=i * 13),
                        uuid.uuid4() if i % 3 else None,
                        contact_id,
                        org_id,
                        uuid.uuid4(),
                        "marketing",
                        REGION,
                        kinds[i % len(kinds)],
                        550 if kinds[i % len(kinds)] == "bounced" else None,
                        "5.1.1" if i % 5 == 4 else None,
                        "primary" if i % 2 else None,
                        i % 11 == 0,
                        Jsonb(details),
                    )
                )


def warehouse_aggregates(cells: Cells, day: date) -> list[tuple]:
    with cells.connection(REGION) as conn:
        rows = conn.execute(
            AGGREGATES.replace("FROM email_events", "FROM email_events WHERE event_time >= %s "
                               "AND event_time < %s"),
            (day, day + timedelta(days=1)),
        ).fetchall()  # fmt: skip
    return [tuple(int(v) if isinstance(v, int) else v for v in row) for row in rows]


def archive_aggregates(cells: Cells, store: ArchiveStore, day: date) -> list[tuple]:
    with cells.connection(REGION) as conn:
        frame = run_query(conn, store, AGGREGATES, QueryScope(day, day))
    return [tuple(row) for row in frame.iter_rows()]


def partition_exists(cells: Cells, partition: str) -> bool:
    with cells.connection(REGION) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (partition,)).fetchone()
    return bool(row and row[0])


def archive_all(cells: Cells, store: ArchiveStore, cipher: PiiCipher) -> list:
    with cells.connection(REGION) as conn:
        return archive_due(conn, store, cipher, REGION, TODAY, RETENTION, actor="test:archive")


def audit_actions(cells: Cells, subject: str) -> list[str]:
    with cells.connection(REGION) as conn:
        rows = conn.execute(
            "SELECT action FROM audit_log WHERE subject = %s ORDER BY audit_id", (subject,)
        ).fetchall()
    return [row[0] for row in rows]


def test_a_partition_goes_to_a_directory_verified_recorded_then_dropped(
    archive_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, tmp_path: Path
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id)
    before = warehouse_aggregates(archive_cells, seeded.day)
    store = ArchiveStore.from_url(str(tmp_path / "archive"))

    reports = archive_all(archive_cells, store, cipher)

    assert [report.partition for report in reports] == [seeded.partition]
    assert not partition_exists(archive_cells, seeded.partition)
    with archive_cells.connection(REGION) as conn:
        (entry,) = list_index(conn, seeded.day, seeded.day)
    assert entry.rows == seeded.rows
    assert entry.sealed_rows == seeded.rows - seeded.anonymous
    assert entry.dropped_at is not None and entry.subjects == len(seeded.contacts)
    written = tmp_path / "archive" / entry.object_key
    assert entry.url == f"{(tmp_path / 'archive').resolve().as_uri()}/{entry.object_key}"
    assert (
        entry.object_key
        == f"{REGION}/email_events/day={seeded.day}/part-{entry.sha256[:16]}.parquet"
    )
    assert hashlib.sha256(written.read_bytes()).hexdigest() == entry.sha256
    parquet = pq.read_table(written)
    assert parquet.num_rows == seeded.rows
    # Nothing personal in clear: no contact id or address in any column but the sealed one,
    # and details (URLs, user agents) only on rows without a contact.
    clear = json.dumps(parquet.drop_columns(["sealed"]).to_pylist(), default=str)
    for email, contact_id in seeded.contacts.items():
        assert str(contact_id) not in clear and email not in clear
    rows = parquet.to_pylist()
    assert all((row["sealed"] is None) == (row["subject"] is None) for row in rows)
    assert all(row["details"] is None for row in rows if row["sealed"] is not None)
    assert "contact_id" not in parquet.column_names
    assert audit_actions(archive_cells, f"partition:{REGION}/{seeded.partition}") == [
        "archive.partition"
    ]
    assert archive_aggregates(archive_cells, store, seeded.day) == before


def test_a_partition_goes_to_s3_and_the_cli_queries_it_like_sql_did(
    archive_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    s3_endpoint: str,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id, contacts=4)
    before = warehouse_aggregates(archive_cells, seeded.day)
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    env = settings_environment(
        settings,
        DATABASE_PREFIX=f"{settings.database_prefix}_arch",
        POSTWISE_HOME=str(tmp_path / "home"),
        EVENT_RETENTION_DAYS=str((datetime.now(UTC).date() - TODAY).days + RETENTION),
        ARCHIVE_URL=f"s3://{BUCKET}/{prefix}",
        ARCHIVE_S3_ENDPOINT=s3_endpoint,
        ARCHIVE_S3_ACCESS_KEY="archive-test",
        ARCHIVE_S3_SECRET_KEY="archive-test-secret",
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            assert main(["archive", "run", "--region", REGION]) == 0
            ran = capsys.readouterr().out
            day = seeded.day.isoformat()
            scope = ["--region", REGION, "--from", day, "--to", day]
            assert main(["archive", "query", AGGREGATES, *scope, "--format", "json"]) == 0
            answered = json.loads(capsys.readouterr().out)
            assert main(["archive", "list", "--region", REGION]) == 0
            listed = capsys.readouterr().out
            assert main(["archive", "query", "SELECT nope FROM email_events", *scope]) == 1
            refused = capsys.readouterr().err
        finally:
            get_settings.cache_clear()

    assert seeded.partition in ran
    assert not partition_exists(archive_cells, seeded.partition)
    assert [tuple(row.values()) for row in answered] == before
    assert f"s3://{BUCKET}/{prefix}/{REGION}/email_events/day={day}/" in listed
    assert refused.startswith("postwise: error: query failed") and len(refused.splitlines()) == 1
    store = s3_store(s3_endpoint, prefix)
    with archive_cells.connection(REGION) as conn:
        (entry,) = list_index(conn, seeded.day, seeded.day)
    reread = tmp_path / "reread.parquet"
    assert store.fetch(entry.object_key, reread) == entry.sha256
    assert pq.ParquetFile(reread).metadata.num_rows == seeded.rows == entry.rows


class ShortUploadStore(ArchiveStore):
    """A store whose uploads lose their second half (a connection cut mid-transfer)."""

    def _copy(self, local: object, out: pa.NativeFile) -> None:
        data = local.read()  # type: ignore[attr-defined]
        out.write(data[: len(data) // 2])


@pytest.mark.parametrize("where", ["directory", "s3"])
def test_a_short_upload_is_caught_and_the_partition_kept(
    where: str,
    archive_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    s3_endpoint: str,
    tmp_path: Path,
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id, contacts=2)
    before = warehouse_aggregates(archive_cells, seeded.day)
    real = (
        ArchiveStore.from_url(str(tmp_path / "archive"))
        if where == "directory"
        else s3_store(s3_endpoint, f"short-{uuid.uuid4().hex[:8]}")
    )
    store = ShortUploadStore(real.filesystem, real.base, real.url)

    with pytest.raises(ArchiveVerificationFailed) as caught:
        with archive_cells.connection(REGION) as conn:
            archive_partition(
                conn, store, cipher, REGION, seeded.partition, seeded.day, actor="test:archive"
            )

    assert caught.value.check == "sha256" and caught.value.partition == seeded.partition
    assert partition_exists(archive_cells, seeded.partition)
    assert warehouse_aggregates(archive_cells, seeded.day) == before
    with archive_cells.connection(REGION) as conn:
        assert list_index(conn, seeded.day, seeded.day) == []
    assert audit_actions(archive_cells, f"partition:{REGION}/{seeded.partition}") == [
        "archive.verification_failed"
    ]
    left = real.filesystem.get_file_info(
        fs.FileSelector(real.base, recursive=True, allow_not_found=True)
    )
    assert [info.path for info in left if info.type == fs.FileType.File] == []
    # The kept partition is archived by the next run with a store that works.
    with archive_cells.connection(REGION) as conn:
        archive_partition(
            conn, real, cipher, REGION, seeded.partition, seeded.day, actor="test:archive"
        )
    assert not partition_exists(archive_cells, seeded.partition)


def test_a_content_checksum_that_differs_fails_verification(
    archive_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, tmp_path: Path
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id, contacts=1)
    store = ArchiveStore.from_url(str(tmp_path / "archive"))
    archive_all(archive_cells, store, cipher)
    with archive_cells.connection(REGION) as conn:
        (entry,) = list_index(conn, seeded.day, seeded.day)
    with pytest.raises(ArchiveVerificationFailed) as caught:
        verify_object(
            store,
            entry.object_key,
            partition=entry.partition,
            sha256=entry.sha256,
            rows=entry.rows,
            content_checksum=str(int(entry.content_checksum) + 1),
            keys={},
            workdir=tmp_path,
        )
    # Without the data keys the sealed rows cannot be opened: that alone fails the check.
    assert caught.value.check == "content"


def test_events_of_a_contact_without_a_data_key_keep_their_partition(
    archive_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, tmp_path: Path
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id, contacts=2)
    with archive_cells.connection(REGION) as conn:
        conn.execute(
            "UPDATE contacts SET wrapped_data_key = ''::bytea WHERE contact_id = %s",
            (next(iter(seeded.contacts.values())),),
        )
    store = ArchiveStore.from_url(str(tmp_path / "archive"))

    with pytest.raises(MissingDataKey) as caught:
        archive_all(archive_cells, store, cipher)

    assert caught.value.partition == seeded.partition and caught.value.contacts == 1
    assert partition_exists(archive_cells, seeded.partition)
    assert not (tmp_path / "archive").exists()
    with archive_cells.connection(REGION) as conn:
        conn.execute("DROP TABLE " + seeded.partition)  # out of the way of later tests


def test_late_events_for_an_archived_day_are_archived_as_a_second_object(
    archive_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, tmp_path: Path
) -> None:
    first = seed_day(archive_cells, cipher, org_id, contacts=1)
    store = ArchiveStore.from_url(str(tmp_path / "archive"))
    archive_all(archive_cells, store, cipher)
    late = seed_day(archive_cells, cipher, org_id, contacts=2, day=first.day)

    (report,) = archive_all(archive_cells, store, cipher)

    assert report.partition == first.partition and report.rows == late.rows
    with archive_cells.connection(REGION) as conn:
        entries = list_index(conn, first.day, first.day)
        frame = run_query(
            conn, store, "SELECT count(*) AS n FROM email_events", QueryScope(first.day, first.day)
        )
    assert [entry.rows for entry in entries] == [first.rows, late.rows]
    assert len({entry.url for entry in entries}) == 2
    assert frame.item() == first.rows + late.rows


def test_an_erasure_shreds_the_subjects_archived_rows_and_the_index_says_so(
    archive_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, tmp_path: Path
) -> None:
    seeded = seed_day(archive_cells, cipher, org_id, contacts=3)
    store = ArchiveStore.from_url(str(tmp_path / "archive"))
    with archive_cells.connection(REGION) as conn:
        original = {
            str(row[0]): row[1]
            for row in conn.execute(
                f"SELECT event_id, details::text FROM {seeded.partition}"
            ).fetchall()
        }
    archive_all(archive_cells, store, cipher)
    erased_email, erased_id = next(iter(seeded.contacts.items()))

    result = erase_subject(archive_cells, cipher, org_id, erased_email, requested_by="test:archive")

    decrypt = "SELECT event_id, contact_id, details, payload FROM email_events"
    with archive_cells.connection(REGION) as conn:
        frame = run_query(
            conn, store, decrypt, QueryScope(seeded.day, seeded.day), cipher=cipher,
            actor="test:archive",
        )  # fmt: skip
        subjects = dict(
            conn.execute(
                "SELECT s.subject_hash, s.shredded_at IS NOT NULL FROM event_archive_subjects s "
                "JOIN event_archive a USING (archive_id) WHERE a.partition_name = %s",
                (seeded.partition,),
            ).fetchall()
        )
        certificate = conn.execute(
            "SELECT details FROM audit_log WHERE audit_id = %s", (result.cells[0].audit_id,)
        ).fetchone()
    rows = frame.to_dicts()
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["payload"]] = by_status.get(row["payload"], 0) + 1
        if row["payload"] == "shredded":
            assert row["contact_id"] is None and row["details"] is None
        else:
            assert json.loads(row["details"]) == json.loads(original[row["event_id"]])
            assert row["contact_id"] != str(erased_id)
    assert by_status == {
        "shredded": seeded.rows_of[erased_email],
        "decrypted": seeded.rows - seeded.anonymous - seeded.rows_of[erased_email],
        "clear": seeded.anonymous,
    }
    erased_hash = subject_hash(cipher.blind_index(erased_email))
    assert subjects.pop(bytes(erased_hash)) is True
    assert len(subjects) == len(seeded.contacts) - 1 and not any(subjects.values())
    assert certificate is not None
    assert certificate[0]["archive_shredded"] == {
        "partitions": [seeded.partition],
        "rows": seeded.rows_of[erased_email],
    }
    assert "archive.query_decrypted" in audit_actions(archive_cells, f"archive:{store.url}")


def test_the_upkeep_asset_archives_then_drops(
    archive_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    settings: Settings,
    database_server_url: str,
    tmp_path: Path,
) -> None:
    import dagster as dg

    from pipelines.resources import WarehouseResource
    from pipelines.upkeep import event_partitions

    seeded = seed_day(archive_cells, cipher, org_id, contacts=2)
    env = settings_environment(
        settings,
        DATABASE_PREFIX=f"{settings.database_prefix}_arch",
        EVENT_RETENTION_DAYS=str((datetime.now(UTC).date() - TODAY).days + RETENTION),
        ARCHIVE_URL=str(tmp_path / "archive"),
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            result = dg.materialize(
                [event_partitions],
                partition_key=REGION,
                resources={"warehouse": WarehouseResource(database_url=database_server_url)},
            )
        finally:
            get_settings.cache_clear()

    assert result.success
    (materialization,) = result.asset_materializations_for_node("warehouse__event_partitions")
    metadata = materialization.metadata
    assert metadata["dropped"].value >= 1
    assert not partition_exists(archive_cells, seeded.partition)
    with archive_cells.connection(REGION) as conn:
        (entry,) = list_index(conn, seeded.day, seeded.day)
    assert entry.rows == seeded.rows and entry.dropped_at is not None
    assert (tmp_path / "archive" / entry.object_key).is_file()
