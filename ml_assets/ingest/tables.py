"""Tables ingest writes beside the two it materializes, shown in the asset graph."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "ingest_log", deps=["raw_transactions"], group_name="ingest", kinds={"duckdb"},
        description="One row per load: source path, sha256 and size, rows in, kept and "
        "rejected, the event time range and customers. Table ingest_log.",
    ),
]
