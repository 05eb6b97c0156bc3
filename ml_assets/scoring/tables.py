"""Tables scoring writes beside customer_scores, shown in the asset graph."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "scoring_runs", deps=["customer_scores"], group_name="scoring", kinds={"duckdb"},
        description="One row per scored cutoff and run: the champions used (model names and "
        "versions), the customers scored, whether the scores were a backfill, and the BTYD fit "
        "a BTYD champion used at that cutoff. Table scoring_runs.",
    ),
]
