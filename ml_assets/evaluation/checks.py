"""Blocking checks on the evaluations: promotion never runs on a broken report.
Each check judges the evaluation its asset handed on (by id), not the newest
row in the table."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from ml_assets.lib.warehouse import connect, read_sql

REQUIRED = {
    "churn": ["roc_auc", "brier", "ece", "log_loss"],
    "ltv": ["normalized_gini", "rmse", "total_error_pct", "coverage"],
}


def _check(warehouse: DuckDBResource, evaluation: dict) -> dg.AssetCheckResult:
    task = evaluation["task"]
    params = {"task": task, "required": REQUIRED[task], "evaluation_id": evaluation["evaluation_id"]}
    with connect(warehouse) as conn:
        rows, invalid, bad, present = conn.execute(
            read_sql(__file__, "check_evaluation.sql"), params
        ).fetchone()
    return dg.AssetCheckResult(
        passed=rows > 0 and invalid == 0 and bad == 0 and present == len(REQUIRED[task]),
        metadata={
            "evaluation_id": evaluation["evaluation_id"],
            "candidate_rows": rows,
            "invalid_predictions": invalid,
            "non_finite_required_metrics": bad,
            "required_metrics_present": f"{present}/{len(REQUIRED[task])}",
        },
    )


@dg.asset_check(asset="churn_evaluation", blocking=True, pool="warehouse")
def churn_evaluation_is_sound(churn_evaluation: dict, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """The churn evaluation has candidate predictions, all probabilities in [0, 1],
    and finite ROC-AUC, Brier, log loss and calibration error."""
    return _check(warehouse, churn_evaluation)


@dg.asset_check(asset="ltv_evaluation", blocking=True, pool="warehouse")
def ltv_evaluation_is_sound(ltv_evaluation: dict, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """The LTV evaluation has candidate predictions, finite non-negative spend with
    ordered intervals for every model, and finite Gini, RMSE, total error and coverage."""
    return _check(warehouse, ltv_evaluation)
