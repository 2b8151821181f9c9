"""The hourly purge of expired fallback documents, through Dagster: the schedule asks for
one run per region, and each run deletes the region's expired documents and keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from worker_kit import WORKER_REGION, CampaignMaker, Person

from compliance.crypto import PiiCipher
from delivery.fallback import store_document
from postwise.settings import Settings, get_settings
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
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_server_url)
        patch.setenv("DATABASE_PREFIX", worker_settings.database_prefix)
        patch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/unused-mlflow")
        get_settings.cache_clear()
        from pipelines.fallback import (
            fallback_documents_purged,
            fallback_purge_job,
            hourly_fallback_purge,
        )
        from pipelines.resources import WarehouseResource

        try:
            defs = dg.Definitions(
                assets=[fallback_documents_purged],
                jobs=[fallback_purge_job],
                schedules=[hourly_fallback_purge],
                resources={"warehouse": WarehouseResource(database_url=database_server_url)},
            )
            context = dg.build_schedule_context(scheduled_execution_time=now)
            requests = hourly_fallback_purge(context)
            assert isinstance(requests, list)
            assert sorted(r.partition_key for r in requests) == sorted(worker_cells.regions)
            job = defs.resolve_job_def("fallback_documents_purge")
            purged = {}
            with dg.DagsterInstance.ephemeral() as instance:
                for request in requests:
                    result = job.execute_in_process(
                        instance=instance, partition_key=request.partition_key
                    )
                    assert result.success
                    [materialized] = result.asset_materializations_for_node(
                        "delivery__fallback_documents_purged"
                    )
                    purged[request.partition_key] = materialized.metadata["purged"].value
        finally:
            get_settings.cache_clear()
    assert purged[WORKER_REGION] >= 1
    with worker_cells.connection(WORKER_REGION) as conn:
        left = conn.execute(
            "SELECT message_id FROM fallback_documents WHERE message_id = ANY(%s)",
            ([expired, valid],),
        ).fetchall()
        conn.execute("DELETE FROM fallback_documents WHERE message_id = %s", (valid,))
    assert left == [(valid,)]
