"""The audit chains' external anchor: every hour, each database's chain is verified and its
head signed into the write-once checkpoint directory (``AUDIT_CHECKPOINT_DIR``)."""

import dagster as dg

from compliance.audit.cells import checkpoint_cells, record_verifications, verify_cells
from compliance.audit.checkpoints import load_signing_key
from postwise.settings import get_settings

from .resources import WarehouseResource


@dg.asset(group_name="compliance", key=["compliance", "audit_checkpoints"], kinds={"postgres"})
def audit_checkpoints(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Verify every audit chain against the checkpoints so far, then sign each chain head.
    A chain that fails verification fails the run (and is not checkpointed over)."""
    settings = get_settings()
    key = load_signing_key(
        settings.checkpoint_key_file, create=settings.postwise_env != "production"
    )
    reports = verify_cells(warehouse.cells, settings.checkpoint_directory, key.public_key())
    record_verifications(warehouse.cells, reports)
    broken = [report.summary() for report in reports if not report.intact]
    if broken:
        raise dg.Failure(description="; ".join(broken))
    written = checkpoint_cells(warehouse.cells, settings.checkpoint_directory, key)
    for report in reports:
        context.log.info(report.summary())
    return dg.MaterializeResult(
        metadata={
            "entries": sum(report.entries for report in reports),
            "checkpoints": dg.MetadataValue.json(
                {name: str(path) if path else None for name, path in written.items()}
            ),
        }
    )


audit_job = dg.define_asset_job("audit_checkpoints", selection=[audit_checkpoints])


@dg.schedule(job=audit_job, cron_schedule="5 * * * *", execution_timezone="UTC")
def hourly_audit_checkpoints() -> dg.RunRequest:
    """Every hour: verify the chains and anchor their heads."""
    return dg.RunRequest()
