"""Tables scoring writes beside customer_scores, shown in the asset graph."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "scoring_runs", deps=["customer_scores"], group_name="scoring", kinds={"duckdb"},
        description="One row per scored cutoff and run: the champions used (model names and "
        "versions), the customers scored, whether the scores were a backfill, and the BTYD fit "
        "a BTYD champion used at that cutoff. Table scoring_runs.",
    ),
    dg.AssetSpec(
        "segment_summary", deps=["customer_scores"], group_name="scoring", kinds={"duckdb"},
        description="One row per scored cutoff and segment (new, at-risk high value, at-risk "
        "low value, loyal high value, steady low value): customers, share, total and mean "
        "predicted LTV, mean churn probability and value at risk (predicted LTV x churn "
        "probability), replaced with the cutoff's scores. Table segment_summary.",
    ),
]
