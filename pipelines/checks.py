"""Asset checks beyond dbt's tests: every contracted mart has rows in every cell.

Freshness is a policy on the mart assets themselves (see ``features.MART_FRESHNESS``).
"""

import dagster as dg
from psycopg import sql

from .partitions import region_partitions
from .resources import WarehouseResource

# Marts other packages read; each must be fresh and non-empty in every region cell.
CONTRACTED_MARTS = (
    "message_outcomes",
    "recipient_engagement_features",
    "send_time_training",
    "variant_exposures",
    "domain_reputation",
    "send_volume_timeseries",
)
MART_SCHEMA = "marts"


def _row_count_check(mart: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["marts", mart]), name=f"{mart}_has_rows", blocking=False)
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        counts = {}
        for region in region_partitions.get_partition_keys():
            with warehouse.connection(region) as conn:
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(MART_SCHEMA), sql.Identifier(mart)
                )
                row = conn.execute(query).fetchone()
            counts[region] = int(row[0]) if row else 0
        return dg.AssetCheckResult(
            passed=all(n > 0 for n in counts.values()),
            metadata={f"rows_{region}": n for region, n in counts.items()},
        )

    return check


row_count_checks = [_row_count_check(mart) for mart in CONTRACTED_MARTS]
