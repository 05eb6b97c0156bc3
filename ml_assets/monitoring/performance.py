"""Realized performance of served scores: per scored cutoff, the scores next to
the outcomes once their labels are mature. Pure functions on frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.lib.metrics import expected_calibration_error, ltv_metrics

COLUMNS = [
    "cutoff_date", "status", "churn_model_name", "churn_model_version", "ltv_model_name",
    "ltv_model_version", "customers_scored",
    "churn_labels", "roc_auc", "brier", "ece", "mean_churn_probability", "realized_churn_rate",
    "ltv_labels", "rmse", "total_predicted_ltv", "total_realized_spend", "total_spend_error_pct",
    "interval_coverage", "churn_decayed", "ltv_decayed", "decay_reasons",
]


def realized_performance(
    outcomes: pd.DataFrame, min_auc: float, max_ece: float, max_total_error: float
) -> pd.DataFrame:
    """One row per scored cutoff (``COLUMNS``), oldest first.

    ``outcomes`` holds one row per served score: cutoff_date, the model
    versions, churn_probability, predicted_ltv, ltv_lower, ltv_upper, the
    maturity flags and the labels (churned, future_spend; NULL while immature).
    ``status`` is ``pending`` (no mature label yet), ``churn`` (churn labels
    only: the LTV horizon is longer) or ``complete``. Churn scores have decayed
    when ROC-AUC < ``min_auc`` or ECE > ``max_ece``; LTV scores when
    |total error| > ``max_total_error`` percent.
    """
    rows = [
        _cutoff_row(cutoff, group, min_auc, max_ece, max_total_error)
        for cutoff, group in outcomes.groupby("cutoff_date", sort=True)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _cutoff_row(cutoff, group: pd.DataFrame, min_auc, max_ece, max_total_error) -> dict:
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update(
        cutoff_date=cutoff,
        churn_model_name=_name(group, "churn_model_name"),
        churn_model_version=_version(group["churn_model_version"]),
        ltv_model_name=_name(group, "ltv_model_name"),
        ltv_model_version=_version(group["ltv_model_version"]),
        customers_scored=len(group),
        churn_decayed=False,
        ltv_decayed=False,
    )
    reasons = []
    churn = group[group["churn_label_mature"]]
    row["churn_labels"] = len(churn)
    if len(churn):
        y, p = churn["churned"].to_numpy(float), churn["churn_probability"].to_numpy(float)
        two_classes = 0 < y.sum() < len(y)
        row["roc_auc"] = float(roc_auc_score(y, p)) if two_classes else math.nan
        row["brier"] = float(brier_score_loss(y, p))
        row["ece"] = expected_calibration_error(y, p)
        row["mean_churn_probability"] = float(p.mean())
        row["realized_churn_rate"] = float(y.mean())
        auc_low, ece_high = row["roc_auc"] < min_auc, row["ece"] > max_ece
        if auc_low:
            reasons.append(f"churn ROC-AUC {row['roc_auc']:.3f} < {min_auc}")
        if ece_high:
            reasons.append(f"churn ECE {row['ece']:.3f} > {max_ece}")
        if not two_classes:
            reasons.append("churn ROC-AUC undefined: one class among the realized outcomes")
        row["churn_decayed"] = bool(auc_low or ece_high)
    ltv = group[group["ltv_label_mature"]]
    row["ltv_labels"] = len(ltv)
    if len(ltv):
        m = ltv_metrics(ltv["future_spend"], ltv["predicted_ltv"], ltv["ltv_lower"], ltv["ltv_upper"])
        row.update(rmse=m["rmse"], total_predicted_ltv=m["total_pred"],
                   total_realized_spend=m["total_true"], total_spend_error_pct=m["total_error_pct"],
                   interval_coverage=m["coverage"])
        if abs(m["total_error_pct"]) > max_total_error:
            reasons.append(f"LTV total error {m['total_error_pct']:+.1f}% beyond "
                           f"+-{max_total_error:g}%")
            row["ltv_decayed"] = True
    row["status"] = "complete" if len(ltv) else ("churn" if len(churn) else "pending")
    row["decay_reasons"] = "; ".join(reasons)
    return row


def _name(group: pd.DataFrame, column: str):
    """The model that served a cutoff; scores written before champions could be of
    any family have no name column (they were churn_model / ltv_model)."""
    if column not in group:
        return column.removesuffix("_name")
    present = group[column].dropna()
    return str(present.iloc[-1]) if len(present) else None


def _version(values: pd.Series):
    """The model version that served a cutoff (scoring replaces a cutoff whole,
    so there is one); the newest if rows of several ever coexist."""
    present = values.dropna()
    return int(np.max(present)) if len(present) else None
