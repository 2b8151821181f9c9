"""Data expiration: every day, in every region cell, contacts past their retention date
(``contacts.retention_until``, which the contact can set in the preference center) are
anonymized by :func:`compliance.retention.anonymize_expired_contacts`."""

from datetime import UTC, datetime

import dagster as dg

from compliance.retention import RETENTION_JOB, anonymize_expired_contacts
from warehouse.job_runs import record_job_run

from .partitions import region_partitions, run_per_region
from .resources import WarehouseResource

BATCH = 1000  # contacts per transaction batch; a run repeats until none is left


@dg.asset(
    partitions_def=region_partitions,
    group_name="compliance",
    key=["compliance", "expired_contacts_anonymized"],
    kinds={"postgres"},
)
def expired_contacts_anonymized(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Contacts of the region whose retention date has passed, anonymized and audited."""
    today = datetime.now(UTC).date()
    total = 0
    while True:
        with warehouse.connection(context.partition_key) as conn:
            report = anonymize_expired_contacts(conn, today, limit=BATCH)
        total += report.count
        if report.count < BATCH:
            break
    with warehouse.connection(context.partition_key) as conn:
        record_job_run(conn, RETENTION_JOB, total, {"as_of": today.isoformat()})
    context.log.info("anonymized %d contacts past their retention date", total)
    return dg.MaterializeResult(metadata={"anonymized": total, "as_of": today.isoformat()})


retention_job = dg.define_asset_job(
    "contact_retention",
    selection=dg.AssetSelection.assets(expired_contacts_anonymized),
)


@dg.schedule(job=retention_job, cron_schedule="30 2 * * *", execution_timezone="UTC")
def daily_contact_retention(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every day at 02:30 UTC, in every region cell (one run per region and day)."""
    day = context.scheduled_execution_time.date().isoformat()
    return run_per_region(day)
