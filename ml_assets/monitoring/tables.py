"""Tables the monitoring assets write beside their own, shown in the asset graph."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "feature_drift_summary", deps=["feature_drift"], group_name="monitoring",
        kinds={"duckdb"},
        description="One row per drift run: drifted features, the drift share, prediction PSIs "
        "and the dataset-drift verdict the drift sensor reads. Table feature_drift_summary.",
    ),
]
