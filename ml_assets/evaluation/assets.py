"""Temporal-holdout evaluation: the candidate, the champion (when one exists)
and every baseline, scored on the same customers at the candidate's holdout
cutoff, a cutoff no model trained or tuned on."""

from datetime import date

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from ml_assets.evaluation import plots
from ml_assets.evaluation.metrics import churn_metrics, decile_table, ltv_metrics
from ml_assets.evaluation.report import Entry, comparison_table, load_registered, store
from ml_assets.models import baselines
from ml_assets.models.churn import churn_probability
from ml_assets.models.data import load_frame
from ml_assets.models.ltv import ltv_prediction
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings
from ml_assets.warehouse import connect

CHURN_TABLE = ["roc_auc", "pr_auc", "brier", "log_loss", "ece", "precision", "recall",
               "lift", "lift_top_decile", "mean_pred", "base_rate"]
LTV_TABLE = ["rmse", "mae", "spearman", "normalized_gini", "total_error_pct", "coverage",
             "mean_interval_width"]


@dg.asset(deps=["churn_model"], pool="warehouse", backfill_policy=SINGLE_RUN)
def churn_evaluation(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Churn candidate vs champion vs baselines on the holdout cutoff: ROC-AUC, PR-AUC,
    Brier, log loss, calibration error, precision/recall/lift at the decision
    threshold and in the top decile, with ROC, calibration and lift plots."""
    models, row, holdout, train = _load(warehouse, "churn_model", "churn", settings)
    y = holdout["churned"].astype(float).to_numpy()
    entries = [
        Entry(role, "churn_model", r["version"], churn_probability(boosters, meta, holdout))
        for role, (r, boosters, meta) in models.items()
    ]
    grid = baselines.fit_grid(train, baselines.CHURN_CELLS, "churned")
    btyd = baselines.btyd_predictions(holdout)
    entries += [
        Entry("baseline", "recency_frequency_rule", None, baselines.apply_grid(grid, holdout)),
        Entry("baseline", "bg_nbd", None, btyd["churn"]),
    ]
    # every model is judged at the share of customers the candidate's threshold flags
    threshold = models["candidate"][2]["threshold"]
    flagged = float(np.mean(entries[0].pred >= threshold))
    for e in entries:
        cut = threshold if e is entries[0] else float(np.quantile(e.pred, 1 - flagged))
        e.metrics = churn_metrics(y, e.pred, cut)
    with connect(warehouse) as conn:
        store(conn, f"{context.run.run_id}:churn", "churn", holdout, y, entries)
    preds = {e.label: e.pred for e in entries}
    return dg.MaterializeResult(
        metadata={
            **_summary(row, holdout, entries, "roc_auc"),
            "decision_threshold": threshold,
            "share_flagged": flagged,
            "comparison": dg.MetadataValue.md(plots.markdown_table(comparison_table(entries, CHURN_TABLE))),
            "roc": dg.MetadataValue.md(plots.roc_plot(y, preds)),
            "calibration": dg.MetadataValue.md(plots.calibration_plot(y, preds)),
            "lift": dg.MetadataValue.md(plots.lift_plot(y, preds)),
        }
    )


@dg.asset(deps=["ltv_model"], pool="warehouse", backfill_policy=SINGLE_RUN)
def ltv_evaluation(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """LTV candidate vs champion vs baselines on the holdout cutoff: RMSE, MAE,
    Spearman, normalized Gini, total predicted vs actual, interval coverage, with a
    decile chart (predicted vs actual spend by predicted decile)."""
    models, row, holdout, train = _load(warehouse, "ltv_model", "ltv", settings)
    y = holdout["future_spend"].to_numpy(float)
    entries = []
    for role, (r, boosters, meta) in models.items():
        mean, lower, upper = ltv_prediction(boosters, meta, holdout)
        entries.append(Entry(role, "ltv_model", r["version"], mean, lower, upper))
    grid = baselines.fit_grid(train, baselines.LTV_CELLS, "future_spend")
    btyd = baselines.btyd_predictions(holdout)
    entries += [
        Entry("baseline", "rfm_rule", None, baselines.apply_grid(grid, holdout)),
        Entry("baseline", "last_year", None,
              baselines.last_year_spend(holdout, settings.ltv_horizon_days)),
        Entry("baseline", "bg_nbd_gamma_gamma", None, btyd["ltv"]),
    ]
    for e in entries:
        e.metrics = ltv_metrics(y, e.pred, e.lower, e.upper)
    with connect(warehouse) as conn:
        store(conn, f"{context.run.run_id}:ltv", "ltv", holdout, y, entries)
    preds = {e.label: e.pred for e in entries}
    candidate = entries[0].metrics
    return dg.MaterializeResult(
        metadata={
            **_summary(row, holdout, entries, "normalized_gini"),
            "total_predicted": candidate["total_pred"],
            "total_actual": candidate["total_true"],
            "interval_coverage": candidate.get("coverage", float("nan")),
            "comparison": dg.MetadataValue.md(plots.markdown_table(comparison_table(entries, LTV_TABLE))),
            "deciles": dg.MetadataValue.md(plots.decile_plot(y, preds)),
            "candidate_deciles": dg.MetadataValue.md(
                plots.markdown_table(decile_table(y, entries[0].pred), ".2f")
            ),
        }
    )


def _summary(row: dict, holdout, entries: list[Entry], primary: str) -> dict:
    best = max((e for e in entries if e.role == "baseline"), key=lambda e: e.metrics[primary])
    candidate = entries[0].metrics[primary]
    return {
        "candidate_version": row["version"],
        "holdout_cutoff": str(row["holdout_cutoff"]),
        "holdout_customers": len(holdout),
        f"candidate_{primary}": candidate,
        "best_baseline": best.name,
        f"best_baseline_{primary}": best.metrics[primary],
        f"margin_over_best_baseline_{primary}": candidate - best.metrics[primary],
        "dagster/row_count": len(holdout) * len(entries),
    }


def _load(warehouse: DuckDBResource, model_name: str, label: str, settings: Settings):
    """Registered models, the candidate's row, and its holdout and training rows
    (active customers)."""
    with connect(warehouse) as conn:
        models = load_registered(conn, model_name, settings.model_dir)
        row = models["candidate"][0]
        holdout_cutoff = [_as_date(row["holdout_cutoff"])]
        train_cutoffs = [date.fromisoformat(c) for c in row["training_cutoffs"]]
        holdout = load_frame(conn, holdout_cutoff, label, settings.active_days)
        # the baselines' grids are fitted on the rows the candidate trained on
        per_cutoff = row["hyperparameters"].get("max_customers_per_cutoff", 0)
        train = load_frame(conn, train_cutoffs, label, settings.active_days, per_cutoff)
    _require_rows(holdout, row)
    return models, row, holdout, train


def _require_rows(holdout, row: dict) -> None:
    if holdout.empty:
        raise dg.Failure(
            f"No mature labelled rows at the holdout cutoff {row['holdout_cutoff']} of "
            f"{row['model_name']} v{row['version']}: re-materialize training_snapshots."
        )


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
