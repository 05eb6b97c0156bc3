"""Temporal-holdout evaluation: the candidate it is handed, the task's champion
at evaluation time (any family) and every registered baseline, scored on the
same customers at the candidate's holdout cutoff, a cutoff no model trained or
tuned on. The evaluation hands promotion its id, the candidate, the baselines
and the champion it compared against."""

from datetime import date

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.evaluation.report import Entry, comparison_table, store
from ml_assets.lib import plots
from ml_assets.lib.metrics import churn_metrics, decile_table, ltv_metrics
from ml_assets.lib.tables import markdown_table
from ml_assets.lib.warehouse import connect
from ml_assets.models.data import load_frame
from ml_assets.models.predict import load, predict
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings

CHURN_TABLE = ["roc_auc", "pr_auc", "brier", "log_loss", "ece", "precision", "recall",
               "lift", "lift_top_decile", "mean_pred", "base_rate"]
LTV_TABLE = ["rmse", "mae", "spearman", "normalized_gini", "total_error_pct", "total_ratio",
             "coverage", "mean_interval_width"]


@dg.asset(
    ins={"handed": dg.AssetIn("churn_baselines")}, pool="warehouse", backfill_policy=SINGLE_RUN,
    io_manager_key="handoff", kinds={"duckdb"}, code_version="2",
)
def churn_evaluation(
    context: dg.AssetExecutionContext, handed: dict, settings: Settings, warehouse: DuckDBResource
) -> dg.Output:
    """Churn candidate vs champion vs baselines on the holdout cutoff: ROC-AUC, PR-AUC,
    Brier, log loss, calibration error, precision/recall/lift at the decision
    threshold and in the top decile, with ROC, calibration and lift plots."""
    models, holdout, champion = _load(warehouse, handed, settings)
    y = holdout["churned"].astype(float).to_numpy()
    entries, skipped = _entries(models, holdout)
    # every model is judged at the share of customers the candidate's threshold flags
    threshold = models[0][1].meta["threshold"]
    flagged = float(np.mean(entries[0].pred >= threshold))
    for e in entries:
        cut = threshold if e is entries[0] else float(np.quantile(e.pred, 1 - flagged))
        e.metrics = churn_metrics(y, e.pred, cut)
    evaluation_id = f"{context.run.run_id}:churn"
    with connect(warehouse) as conn:
        store(conn, evaluation_id, "churn", holdout, y, entries)
    preds = {e.label: e.pred for e in entries}
    return dg.Output(
        _handoff(evaluation_id, context.run.run_id, "churn", handed, champion, entries, skipped),
        metadata={
            **_summary(entries, holdout, champion, skipped, "roc_auc"),
            "decision_threshold": round(threshold, 4),
            "share_flagged": round(flagged, 4),
            "comparison": dg.MetadataValue.md(markdown_table(comparison_table(entries, CHURN_TABLE))),
            "roc": dg.MetadataValue.md(plots.roc_plot(y, preds)),
            "calibration": dg.MetadataValue.md(plots.calibration_plot(y, preds)),
            "lift": dg.MetadataValue.md(plots.lift_plot(y, preds)),
        },
    )


@dg.asset(
    ins={"handed": dg.AssetIn("ltv_baselines")}, pool="warehouse", backfill_policy=SINGLE_RUN,
    io_manager_key="handoff", kinds={"duckdb"}, code_version="2",
)
def ltv_evaluation(
    context: dg.AssetExecutionContext, handed: dict, settings: Settings, warehouse: DuckDBResource
) -> dg.Output:
    """LTV candidate vs champion vs baselines on the holdout cutoff: RMSE, MAE,
    Spearman, normalized Gini, total predicted vs actual, interval coverage, with a
    decile chart (predicted vs actual spend by predicted decile)."""
    models, holdout, champion = _load(warehouse, handed, settings)
    y = holdout["future_spend"].to_numpy(float)
    entries, skipped = _entries(models, holdout)
    for e in entries:
        e.metrics = ltv_metrics(y, e.pred, e.lower, e.upper)
    evaluation_id = f"{context.run.run_id}:ltv"
    with connect(warehouse) as conn:
        store(conn, evaluation_id, "ltv", holdout, y, entries)
    preds = {e.label: e.pred for e in entries}
    candidate = entries[0].metrics
    return dg.Output(
        _handoff(evaluation_id, context.run.run_id, "ltv", handed, champion, entries, skipped),
        metadata={
            **_summary(entries, holdout, champion, skipped, "normalized_gini"),
            "total_predicted": round(candidate["total_pred"], 2),
            "total_actual": round(candidate["total_true"], 2),
            "interval_coverage": round(candidate.get("coverage", float("nan")), 4),
            "comparison": dg.MetadataValue.md(markdown_table(comparison_table(entries, LTV_TABLE))),
            "deciles": dg.MetadataValue.md(plots.decile_plot(y, preds)),
            "candidate_deciles": dg.MetadataValue.md(
                markdown_table(decile_table(y, entries[0].pred), ".2f")
            ),
        },
    )


def _entries(models, holdout) -> tuple[list[Entry], dict[str, str]]:
    """Each model's holdout predictions; a baseline that cannot predict here (BTYD
    without a Gamma-Gamma fit) is left out with its reason, never the candidate."""
    entries, skipped = [], {}
    for role, model in models:
        try:
            pred, lower, upper = predict(model, holdout)
        except ValueError as error:
            if role != "baseline":
                raise dg.Failure(f"{model.label} cannot predict the holdout: {error}") from error
            skipped[model.label] = str(error)
            continue
        entries.append(Entry(role, model.row["model_name"], model.row["version"], pred, lower, upper))
    return entries, skipped


def _handoff(evaluation_id, run_id, task, handed, champion, entries, skipped) -> dict:
    return {
        "evaluation_id": evaluation_id,
        "run_id": run_id,
        "task": task,
        "holdout_cutoff": handed["candidate"]["holdout_cutoff"],
        "candidate": {k: handed["candidate"][k] for k in ("model_name", "version")},
        "champion": None if champion is None else {"model_name": champion[0], "version": champion[1]},
        "baselines": [
            {"model_name": e.name, "version": e.version} for e in entries if e.role == "baseline"
        ],
        "skipped": skipped,
    }


def _summary(entries: list[Entry], holdout, champion, skipped, primary: str) -> dict:
    baselines = [e for e in entries if e.role == "baseline"]
    best = max(baselines, key=lambda e: np.nan_to_num(e.metrics[primary], nan=-np.inf))
    candidate = entries[0].metrics[primary]
    return {
        "candidate": entries[0].label,
        "champion": "none" if champion is None else f"{champion[0]} v{champion[1]}",
        "holdout_cutoff": str(holdout["cutoff_date"].iloc[0]),
        "holdout_customers": len(holdout),
        f"candidate_{primary}": round(candidate, 4),
        "best_baseline": best.label,
        f"best_baseline_{primary}": round(best.metrics[primary], 4),
        f"margin_over_best_baseline_{primary}": round(candidate - best.metrics[primary], 4),
        "baselines_left_out": dg.MetadataValue.json(skipped),
        "dagster/row_count": len(holdout) * len(entries),
    }


def _load(warehouse: DuckDBResource, handed: dict, settings: Settings):
    """The verified models (candidate first, then the champion when it is another
    version, then the baselines), the holdout rows (active customers at the
    candidate's holdout cutoff) and the champion's (model, version) now."""
    task, candidate = handed["task"], handed["candidate"]
    refs = [("candidate", (candidate["model_name"], candidate["version"]))]
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        champion = registry.resolve_alias(conn, task, "champion")
        if champion is not None and champion != refs[0][1]:
            refs.append(("champion", champion))
        refs += [("baseline", (b["model_name"], b["version"])) for b in handed["baselines"]]
        models = [
            (role, load(*registry.load_verified(conn, name, version=version,
                                                model_dir=settings.model_dir)))
            for role, (name, version) in refs
        ]
        cutoff = date.fromisoformat(candidate["holdout_cutoff"])
        holdout = load_frame(conn, [cutoff], task, settings.active_days)
    if holdout.empty:
        raise dg.Failure(
            f"No mature labelled rows at the holdout cutoff {cutoff} of {candidate['model_name']} "
            f"v{candidate['version']}: re-materialize training_snapshots."
        )
    return models, holdout, champion
