"""Tables both evaluations write, shown in the asset graph (external specs:
no step materializes them on their own)."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "evaluation_metrics", deps=["churn_evaluation", "ltv_evaluation"], group_name="evaluation",
        kinds={"duckdb"},
        description="One row per model x metric x evaluation: every model each evaluation "
        "scored on its holdout (candidate, champion, baselines). Table evaluation_metrics.",
    ),
    dg.AssetSpec(
        "holdout_predictions", deps=["churn_evaluation", "ltv_evaluation"],
        group_name="evaluation", kinds={"duckdb"},
        description="Every model's prediction (and interval) for every holdout customer of each "
        "evaluation; promotion's paired tests read it. Table holdout_predictions.",
    ),
]
