"""Tables promotion writes, shown in the asset graph (external specs)."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "promotion_decisions", deps=["churn_promotion", "ltv_promotion", "shadow_promotion"], group_name="promotion",
        kinds={"duckdb"},
        description="Every promotion decision with its outcome, each test's value and "
        "requirement, its reasons in words and its trigger. Table promotion_decisions.",
    ),
]
