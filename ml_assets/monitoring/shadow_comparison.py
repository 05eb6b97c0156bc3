"""Champion vs shadow on the served cutoffs whose labels matured."""

from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.lib.tables import markdown_table
from ml_assets.lib.warehouse import atomic, connect, insert_frame, read_sql, table_exists
from ml_assets.monitoring import plots
from ml_assets.monitoring.comparison import shadow_comparison as compare
from ml_assets.settings import Settings

_SHOWN = ["cutoff_date", "task", "champion_model", "champion_version", "shadow_model",
          "shadow_version", "customers", "metric", "champion_value", "shadow_value",
          "difference", "ci_low", "ci_high", "p_value", "shadow_wins"]
_SECONDARY = {
    "churn": ["cutoff_date", "shadow_model", "shadow_version", "champion_roc_auc",
              "shadow_roc_auc", "champion_ece", "shadow_ece", "champion_brier", "shadow_brier"],
    "ltv": ["cutoff_date", "shadow_model", "shadow_version", "champion_rmse", "shadow_rmse",
            "champion_normalized_gini", "shadow_normalized_gini", "champion_total_error_pct",
            "shadow_total_error_pct", "champion_coverage", "shadow_coverage"],
}


@dg.asset(
    deps=["shadow_scores", "training_snapshots"],
    pool="warehouse",
    io_manager_key="handoff",
    kinds={"duckdb"},
    code_version="1",
)
def shadow_comparison(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.Output:
    """For every served cutoff whose labels matured, the champion that served it
    and each shadow version scored beside it, on the same customers: churn
    ROC-AUC, ECE and Brier, LTV RMSE, normalized Gini, total error and coverage,
    with a paired test of the primary metric's difference (DeLong; paired
    bootstrap). Rebuilds table shadow_comparison; hands its run and the
    champions it saw to shadow_promotion."""
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        if not table_exists(conn, "shadow_scores"):
            raise dg.Failure("Table shadow_scores does not exist: materialize shadow_scores.")
        outcomes = conn.execute(read_sql(__file__, "shadow_outcomes.sql")).df()
        champions = {t: registry.resolve_alias(conn, t, "champion") for t in ("churn", "ltv")}
        rows = compare(outcomes, settings.promotion_alpha)
        rows["computed_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        rows["run_id"] = context.run.run_id
        with atomic(conn):
            conn.execute(read_sql(__file__, "create_shadow_comparison.sql"))
            conn.execute("DELETE FROM shadow_comparison")
            if len(rows):
                insert_frame(conn, "shadow_comparison", rows)
    metadata = {
        "dagster/row_count": len(rows),
        "matured_cutoffs_compared": int(rows["cutoff_date"].nunique()),
        "shadow_wins": int(rows["shadow_wins"].sum()),
        "alpha": settings.promotion_alpha,
        "champion_vs_shadow": dg.MetadataValue.md(
            markdown_table(rows[_SHOWN], ".4f") if len(rows) else
            "No served cutoff with shadow scores has matured labels yet."),
    }
    for task, columns in _SECONDARY.items():
        part = rows[rows["task"] == task]
        if len(part):
            metadata[f"{task}_metrics"] = dg.MetadataValue.md(markdown_table(part[columns], ".4f"))
            metadata[f"{task}_difference_plot"] = dg.MetadataValue.md(
                plots.difference_plot(part, task))
    handed = {
        "run_id": context.run.run_id, "rows": len(rows),
        "champions": {t: list(c) if c else None for t, c in champions.items()},
    }
    return dg.Output(handed, metadata=metadata)
