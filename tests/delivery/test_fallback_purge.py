"""The hourly purge of expired fallback documents, through Dagster: the schedule asks for
one run per region, and each run deletes the region's expired documents and keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedule_kit import run_schedule
from worker_kit import WORKER_REGION, CampaignMaker, Person

from compliance.crypto import PiiCipher
from delivery.fallback import store_document
from postwise.settings import Settings
from warehouse.db import Cells


def test_the_hourly_schedule_purges_expired_documents_in_every_region(
    worker_settings: Settings,
    worker_cells: Cells,
    make_campaign: CampaignMaker,
    database_server_url: str,
) -> None:
    cipher = PiiCipher.from_settings(
        worker_settings.key_encryption_key, worker_settings.blind_index_key
    )
    expired, valid = make_campaign([Person("old@mail.example"), Person("new@mail.example")])
    now = datetime.now(UTC)
    with worker_cells.connection(WORKER_REGION) as conn:
        store_document(conn, cipher, expired, b"%PDF-1.7 old", now - timedelta(minutes=1))
        store_document(conn, cipher, valid, b"%PDF-1.7 new", now + timedelta(days=1))
    runs = run_schedule(
        database_server_url=database_server_url,
        database_prefix=worker_settings.database_prefix,
        module="fallback",
        asset="fallback_documents_purged",
        job="fallback_purge_job",
        schedule="hourly_fallback_purge",
        when=now,
        metadata="purged",
    )
    assert sorted(runs.metadata) == sorted(worker_cells.regions)
    purged = runs.metadata
    assert purged[WORKER_REGION] >= 1
    with worker_cells.connection(WORKER_REGION) as conn:
        left = conn.execute(
            "SELECT message_id FROM fallback_documents WHERE message_id = ANY(%s)",
            ([expired, valid],),
        ).fetchall()
        conn.execute("DELETE FROM fallback_documents WHERE message_id = %s", (valid,))
    assert left == [(valid,)]
