"""Champion vs shadow on served cutoffs whose labels matured: both models'
metrics on the same customers and a paired test of the difference in the
task's primary metric (DeLong's test for churn ROC-AUC, a paired bootstrap
for LTV normalized Gini, the tests promotion uses). Pure functions on frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.lib.metrics import expected_calibration_error, ltv_metrics
from ml_assets.promotion.stats import delong_test, paired_bootstrap_gini

PRIMARY = {"churn": "roc_auc", "ltv": "normalized_gini"}
METRICS = {"churn": ("roc_auc", "ece", "brier"),
           "ltv": ("rmse", "normalized_gini", "total_error_pct", "coverage")}
COLUMNS = [
    "cutoff_date", "task", "champion_model", "champion_version", "shadow_model",
    "shadow_version", "customers", "metric", "champion_value", "shadow_value", "difference",
    "ci_low", "ci_high", "p_value", "method", "shadow_wins",
    *[f"{who}_{m}" for m in ("roc_auc", "ece", "brier", "rmse", "normalized_gini",
                             "total_error_pct", "coverage") for who in ("champion", "shadow")],
]
_LABEL = {"churn": ("churn_label_mature", "churned"), "ltv": ("ltv_label_mature", "future_spend")}
_PRED = {"churn": "churn_probability", "ltv": "predicted_ltv"}


def shadow_comparison(outcomes: pd.DataFrame, alpha: float, n_boot: int = 1000) -> pd.DataFrame:
    """One row per (matured served cutoff, task, shadow version) (``COLUMNS``).

    ``outcomes`` holds shadow_scores rows (role, shadow_task, model names and
    versions, predictions) with their cutoff's maturity flags and labels. The
    shadow wins a cutoff when its primary metric is higher and the one-sided
    p-value of no improvement is below ``alpha``.
    """
    rows = []
    for (cutoff, task), shadows in _pairs(outcomes):
        for champion, shadow in shadows:
            rows.append(compare_pair(cutoff, task, champion, shadow, alpha, n_boot))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["task", "shadow_model", "shadow_version", "cutoff_date"],
                             ignore_index=True)


def compare_pair(cutoff, task: str, champion: pd.DataFrame, shadow: pd.DataFrame, alpha: float,
                 n_boot: int) -> dict:
    """The comparison of one shadow version with the champion at one cutoff, on
    the customers both scored (``champion`` and ``shadow`` hold those rows with
    the labels of ``task``)."""
    merged = champion.merge(shadow, on="customer_id", suffixes=("_c", "_s"), validate="1:1")
    label = _LABEL[task][1]
    if len(merged) == 0:
        raise ValueError(f"No customer in common between champion and shadow at {cutoff}.")
    y = merged[f"{label}_c"].to_numpy(float)
    column = _PRED[task]
    pc, ps = merged[f"{column}_c"].to_numpy(float), merged[f"{column}_s"].to_numpy(float)
    model = f"{task}_model_name", f"{task}_model_version"
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(cutoff_date=cutoff, task=task, customers=len(merged), metric=PRIMARY[task],
               champion_model=merged[f"{model[0]}_c"].iloc[0],
               champion_version=int(merged[f"{model[1]}_c"].iloc[0]),
               shadow_model=merged[f"{model[0]}_s"].iloc[0],
               shadow_version=int(merged[f"{model[1]}_s"].iloc[0]))
    for who, pred in (("champion", "c"), ("shadow", "s")):
        row.update({f"{who}_{m}": v for m, v in _metrics(task, y, merged, pred).items()})
    if task == "churn":
        if 0 < y.sum() < len(y):
            test = delong_test(y, ps, pc)
        else:
            test = {"method": "delong: one class among the outcomes", "difference": np.nan,
                    "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    else:
        test = paired_bootstrap_gini(y, ps, pc, n_boot=n_boot, seed=0)
    row.update(champion_value=row[f"champion_{PRIMARY[task]}"],
               shadow_value=row[f"shadow_{PRIMARY[task]}"], difference=test["difference"],
               ci_low=test["ci_low"], ci_high=test["ci_high"], p_value=test["p_value"],
               method=test["method"])
    row["shadow_wins"] = bool(np.isfinite(test["p_value"]) and test["difference"] > 0
                              and test["p_value"] < alpha)
    return row


def _metrics(task: str, y: np.ndarray, merged: pd.DataFrame, who: str) -> dict:
    if task == "churn":
        p = merged[f"churn_probability_{who}"].to_numpy(float)
        auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else np.nan
        return {"roc_auc": auc, "ece": expected_calibration_error(y, p),
                "brier": float(brier_score_loss(y, p))}
    m = ltv_metrics(y, merged[f"predicted_ltv_{who}"], merged[f"ltv_lower_{who}"],
                    merged[f"ltv_upper_{who}"])
    return {k: m[k] for k in METRICS["ltv"]}


def _pairs(outcomes: pd.DataFrame):
    """((cutoff, task), [(champion rows, shadow rows) per shadow version]) for
    every cutoff and task with mature labels."""
    for cutoff, group in outcomes.groupby("cutoff_date", sort=True):
        for task in ("churn", "ltv"):
            mature, _ = _LABEL[task]
            labelled = group[group[mature].fillna(False).astype(bool)]
            champion = labelled[labelled["role"] == "champion"]
            shadows = labelled[(labelled["role"] == "shadow") & (labelled["shadow_task"] == task)]
            if champion.empty or shadows.empty:
                continue
            keep = ["customer_id", _PRED[task], "ltv_lower", "ltv_upper", _LABEL[task][1],
                    f"{task}_model_name", f"{task}_model_version"]
            if task == "churn":
                keep = [k for k in keep if not k.startswith("ltv_")]
            versions = shadows.groupby([f"{task}_model_name", f"{task}_model_version"], sort=True)
            yield (cutoff, task), [(champion[keep], rows[keep]) for _, rows in versions]
