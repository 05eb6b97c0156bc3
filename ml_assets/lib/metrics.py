"""Holdout metrics for churn probabilities and LTV forecasts.

Library metrics come from scikit-learn and scipy; only normalized Gini, lift,
decile/lift/calibration tables and expected calibration error are written here.

Every function validates its inputs (same length, non-empty, finite; binary
labels and probabilities in [0, 1] for churn) and raises ``ValueError`` saying
what was wrong. Degenerate but legal holdouts do not raise, they return NaN
for the metrics they leave undefined:

- a single-class ``y_true`` gives NaN ROC-AUC, PR-AUC and (with no churners)
  recall and lift, since none of them means anything on one class;
- a constant prediction gives normalized Gini 0 and NaN Spearman;
- a zero total actual spend gives NaN ``total_error_pct``.

Equal-frequency bins are formed by rank, and tied predictions always share a
bin (the bin of the tie's lowest rank), so results do not depend on row order;
heavily tied predictions therefore give fewer, larger bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

LOG_LOSS_EPS = 1e-6
ECE_BINS = 10
TOP_SHARE = 0.10


def churn_metrics(y_true, p, threshold: float) -> dict[str, float]:
    """Discrimination, calibration and targeting metrics for churn probabilities.

    Keys: ``roc_auc``, ``pr_auc`` (average precision), ``brier``, ``log_loss``
    (p clipped to [1e-6, 1 - 1e-6]), ``ece`` (10 equal-frequency bins, weighted
    |mean p - churn rate|), ``base_rate``, ``mean_pred``; at the threshold
    (churn predicted when p >= threshold): ``precision``, ``recall``, ``f1``,
    ``lift`` (precision / base rate), ``share_flagged``; among the top 10% by p
    (rounded up, ties broken by row order): ``precision_top_decile``,
    ``recall_top_decile``, ``lift_top_decile``; and ``n``.
    """
    y, p = churn_inputs(y_true, p)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
    two_classes = 0 < y.sum() < len(y)
    base_rate = float(y.mean())
    flagged = (p >= threshold).astype(int)
    precision = float(precision_score(y, flagged, zero_division=np.nan))
    top = _top_share(p)
    precision_top = float(y[top].mean())
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else np.nan,
        "pr_auc": float(average_precision_score(y, p)) if two_classes else np.nan,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(
            log_loss(y, np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS), labels=[0, 1])
        ),
        "ece": expected_calibration_error(y, p),
        "base_rate": base_rate,
        "mean_pred": float(p.mean()),
        "precision": precision,
        "recall": float(recall_score(y, flagged, zero_division=np.nan)),
        "f1": float(f1_score(y, flagged, zero_division=np.nan)),
        "lift": _ratio(precision, base_rate),
        "share_flagged": float(flagged.mean()),
        "precision_top_decile": precision_top,
        "recall_top_decile": _ratio(y[top].sum(), y.sum()),
        "lift_top_decile": _ratio(precision_top, base_rate),
        "n": float(len(y)),
    }


def ltv_metrics(y_true, y_pred, lower=None, upper=None) -> dict[str, float]:
    """Error, ranking and total-spend metrics for LTV forecasts.

    Keys: ``rmse``, ``mae``, ``spearman``, ``normalized_gini``, ``total_pred``,
    ``total_true``, ``total_error_pct`` ((total_pred - total_true) / |total_true|
    * 100, so positive always means over-forecast), ``total_ratio`` (pred / true), ``mean_pred``,
    ``mean_true``, ``r2``, ``n``; with an interval (``lower`` and ``upper``
    together) also ``coverage`` (share of actuals inside [lower, upper]) and
    ``mean_interval_width``.
    """
    y, pred = paired_inputs(y_true, y_pred)
    total_true, total_pred = float(y.sum()), float(pred.sum())
    constant = np.ptp(y) == 0 or np.ptp(pred) == 0
    out = {
        "rmse": float(root_mean_squared_error(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
        "spearman": np.nan if constant else float(stats.spearmanr(y, pred).statistic),
        "normalized_gini": normalized_gini(y, pred),
        "total_pred": total_pred,
        "total_true": total_true,
        "total_error_pct": _ratio(total_pred - total_true, abs(total_true)) * 100,
        "total_ratio": _ratio(total_pred, total_true),
        "mean_pred": float(pred.mean()),
        "mean_true": float(y.mean()),
        "r2": float(r2_score(y, pred)) if len(y) > 1 else np.nan,
        "n": float(len(y)),
    }
    if lower is None and upper is None:
        return out
    if lower is None or upper is None:
        raise ValueError("Pass both lower and upper for interval metrics, or neither.")
    low = _array(lower, "lower", len(y))
    high = _array(upper, "upper", len(y))
    if np.any(low > high):
        raise ValueError(
            f"{int(np.sum(low > high))} intervals have lower > upper; "
            "check the quantile models' outputs are ordered."
        )
    out["coverage"] = float(np.mean((y >= low) & (y <= high)))
    out["mean_interval_width"] = float(np.mean(high - low))
    return out


def normalized_gini(y_true, y_pred) -> float:
    """Gini of ``y_true`` ordered by ``y_pred`` over the Gini of the perfect order.

    1 is a perfect ranking, 0 no better than random (and any constant
    prediction), -1 the reversed ranking. It equals
    cov(y, rank(y_pred)) / cov(y, rank(y)) with average ranks for ties, which is
    the classic cumulative-share (Lorenz) definition with ties counted as the
    average over their orderings; the total spend cancels, so zeros, refunds
    and a negative total are all fine. A constant ``y_true`` (no ranking to
    find) gives 0.
    """
    y, pred = paired_inputs(y_true, y_pred)
    if np.ptp(y) == 0 or np.ptp(pred) == 0:
        return 0.0
    centred = y - y.mean()
    perfect = _centred(stats.rankdata(y)) @ centred
    return float(_centred(stats.rankdata(pred)) @ centred / perfect)


def expected_calibration_error(y_true, p, bins: int = ECE_BINS) -> float:
    """Row-weighted mean of |mean p - churn rate| over equal-frequency bins of p."""
    table = calibration_table(y_true, p, bins)
    gap = (table["mean_pred"] - table["observed_rate"]).abs()
    return float((gap * table["n"]).sum() / table["n"].sum())


def decile_table(y_true, y_pred) -> pd.DataFrame:
    """Customers by decile of predicted value (10 = highest): ``decile``, ``n``,
    ``mean_pred``, ``mean_true``, ``sum_pred``, ``sum_true``."""
    y, pred = paired_inputs(y_true, y_pred)
    frame = pd.DataFrame({"decile": _rank_bins(pred, 10) + 1, "pred": pred, "true": y})
    table = frame.groupby("decile").agg(
        n=("pred", "size"),
        mean_pred=("pred", "mean"),
        mean_true=("true", "mean"),
        sum_pred=("pred", "sum"),
        sum_true=("true", "sum"),
    )
    return table.reset_index()


def lift_table(y_true, p, bins: int = 10) -> pd.DataFrame:
    """Customers by equal-frequency bin of churn probability (1 = highest p):
    ``bin``, ``n``, ``churn_rate``, ``cumulative_recall`` (share of all churners
    in this bin and those above it) and ``lift`` (churn rate / base rate).
    Recall and lift are NaN when the holdout has no churners."""
    y, p = churn_inputs(y_true, p)
    frame = pd.DataFrame({"bin": _rank_bins(-p, _bins(bins)) + 1, "y": y})
    table = frame.groupby("bin").agg(n=("y", "size"), churn_rate=("y", "mean"), churners=("y", "sum"))
    total, base_rate = y.sum(), y.mean()
    table["cumulative_recall"] = table["churners"].cumsum() / total if total else np.nan
    table["lift"] = table["churn_rate"] / base_rate if base_rate else np.nan
    return table.drop(columns="churners").reset_index()


def calibration_table(y_true, p, bins: int = 10) -> pd.DataFrame:
    """Reliability table over equal-frequency bins of p, lowest first:
    ``mean_pred``, ``observed_rate`` and ``n`` per bin."""
    y, p = churn_inputs(y_true, p)
    frame = pd.DataFrame({"bin": _rank_bins(p, _bins(bins)), "p": p, "y": y})
    table = frame.groupby("bin").agg(
        mean_pred=("p", "mean"), observed_rate=("y", "mean"), n=("p", "size")
    )
    return table.reset_index(drop=True)


def churn_inputs(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    """Validated (binary labels, probabilities in [0, 1]) as float arrays."""
    y, p = paired_inputs(y_true, p, pred_name="p")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(
            f"y_true must be binary (0/1 or bool); found values such as {np.setdiff1d(y, [0, 1])[:3]}."
        )
    if p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"p must be probabilities in [0, 1]; found range [{p.min():.4g}, {p.max():.4g}]."
        )
    return y, p


def paired_inputs(y_true, y_pred, pred_name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    """Validated (y_true, y_pred): finite, 1-D, non-empty float arrays of one length."""
    y = _array(y_true, "y_true")
    return y, _array(y_pred, pred_name, len(y))


def _rank_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """0-based equal-frequency bin of each value, ascending; ties share the bin
    of their lowest rank, so bins can be empty (and are then absent)."""
    first_rank = np.searchsorted(np.sort(values), values, side="left")
    return first_rank * bins // len(values)


def _top_share(p: np.ndarray) -> np.ndarray:
    """Indices of the top 10% by p (at least one row), ties in row order."""
    k = max(1, -(-len(p) // int(1 / TOP_SHARE)))
    return np.argsort(-p, kind="stable")[:k]


def _centred(values: np.ndarray) -> np.ndarray:
    return values - values.mean()


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else np.nan


def _bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}.")
    return int(bins)


def _array(values, name: str, length: int | None = None) -> np.ndarray:
    """A finite 1-D float array, or a ValueError that says what is wrong."""
    if values is None:
        raise ValueError(f"{name} is None; pass an array of numbers.")
    try:
        if isinstance(values, (pd.Series, pd.Index)):
            array = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one row.")
    if length is not None and array.size != length:
        raise ValueError(f"{name} has {array.size} rows but y_true has {length}.")
    if not np.isfinite(array).all():
        raise ValueError(
            f"{name} has {int((~np.isfinite(array)).sum())} NaN or infinite values; "
            "drop or fill them before evaluating."
        )
    return array
