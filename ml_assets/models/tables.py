"""The registry's tables, shown in the asset graph (external specs): training
registers versions and sets the challenger, promotion and rollback move the
champion, promotion puts the versions it did not promote in shadow."""

import dagster as dg

WRITERS = ["churn_model", "ltv_model", "churn_baselines", "ltv_baselines", "churn_promotion",
           "ltv_promotion", "shadow_promotion"]
TABLES = [
    dg.AssetSpec(
        "model_versions", deps=WRITERS[:4], group_name="models", kinds={"duckdb"},
        description="One row per registered model version of any family (learned, plain "
        "LightGBM, BTYD, rule) with its sha256, lineage and status. Table model_versions.",
    ),
    dg.AssetSpec(
        "model_aliases", deps=WRITERS, group_name="models", kinds={"duckdb"},
        description="Per task (churn, ltv): the version the champion and challenger aliases "
        "point at. Table model_aliases; every move is in alias_history.",
    ),
    dg.AssetSpec(
        "alias_history", deps=WRITERS, group_name="models", kinds={"duckdb"},
        description="Every alias move: task, from and to model and version, who, when, which "
        "run and why. Table alias_history.",
    ),
    dg.AssetSpec(
        "shadow_versions", deps=WRITERS[4:], group_name="models", kinds={"duckdb"},
        description="Per task: the versions scored in shadow beside the champion, one row per "
        "stay (entered when a decision did not promote them; left as promoted or retired). "
        "Table shadow_versions.",
    ),
]
