"""Performance before labels mature: confidence-based performance estimation
(CBPE, as NannyML names it) of the churn champion's ROC-AUC and expected
calibration error from its calibrated probabilities alone.

If the probabilities are calibrated, customer i churns with probability p_i.
The expected ROC curve follows from the expected confusion matrix at every
threshold (true positives sum p_i, false positives sum 1 - p_i over the
customers flagged); its area is the estimated ROC-AUC. The 95% interval is
that of the realized value when outcomes are drawn as Bernoulli(p_i): the
spread the realized AUC and ECE will have around the estimate by chance
alone. No label is read here.
"""

from __future__ import annotations

import numpy as np

from ml_assets.lib.metrics import ECE_BINS, _rank_bins, churn_inputs

LEVEL = 0.95
_CHUNK = 50  # outcome draws per block, bounding memory at 50 x customers


def estimated_auc(p) -> float:
    """The area under the expected ROC curve of calibrated probabilities ``p``."""
    p = _probabilities(p)
    order = np.argsort(-p, kind="stable")
    q = p[order]
    # a threshold between distinct values only: tied scores move together
    last = np.r_[q[1:] != q[:-1], True]
    tp = np.cumsum(q)[last]
    fp = np.cumsum(1.0 - q)[last]
    positives, negatives = tp[-1], fp[-1]
    if positives <= 0 or negatives <= 0:
        return float("nan")
    tpr = np.r_[0.0, tp / positives]
    fpr = np.r_[0.0, fp / negatives]
    return float(np.trapezoid(tpr, fpr))


def performance_estimate(p, simulations: int = 500, seed: int = 0) -> dict:
    """Estimated ROC-AUC and ECE of ``p`` with 95% intervals of the realized
    values: ``estimated_roc_auc``, ``estimated_roc_auc_low``/``_high``,
    ``estimated_ece``, ``estimated_ece_low``/``_high``, ``expected_churn_rate``."""
    p = _probabilities(p)
    aucs, eces = simulated_metrics(p, simulations, seed)
    tail = (1 - LEVEL) / 2
    return {
        "estimated_roc_auc": estimated_auc(p),
        "estimated_roc_auc_low": float(np.nanquantile(aucs, tail)),
        "estimated_roc_auc_high": float(np.nanquantile(aucs, 1 - tail)),
        "estimated_ece": float(np.mean(eces)),
        "estimated_ece_low": float(np.quantile(eces, tail)),
        "estimated_ece_high": float(np.quantile(eces, 1 - tail)),
        "expected_churn_rate": float(p.mean()),
    }


def simulated_metrics(p: np.ndarray, simulations: int, seed: int):
    """ROC-AUC and ECE of ``simulations`` outcome vectors drawn as Bernoulli(p):
    the scores are fixed, so their ranks and calibration bins are computed once
    and every draw costs two matrix products."""
    rng = np.random.default_rng(seed)
    n = len(p)
    ranks = _midranks(p)
    bins = _rank_bins(p, ECE_BINS)
    onehot = np.zeros((n, bins.max() + 1))
    onehot[np.arange(n), bins] = 1.0
    counts = onehot.sum(axis=0)
    keep = counts > 0
    predicted = (p @ onehot)[keep]
    aucs, eces = [], []
    for start in range(0, simulations, _CHUNK):
        y = (rng.random((min(_CHUNK, simulations - start), n)) < p).astype(float)
        m = y.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs.append((y @ ranks - m * (m + 1) / 2) / (m * (n - m)))
        observed = (y @ onehot)[:, keep]
        eces.append(np.abs(observed - predicted).sum(axis=1) / n)
    return np.concatenate(aucs), np.concatenate(eces)


def _midranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.searchsorted(sorted_values, values, side="left")
    last = np.searchsorted(sorted_values, values, side="right")
    return (first + last + 1) / 2.0


def _probabilities(p) -> np.ndarray:
    """Validated probabilities (labels are not needed: a dummy vector passes the check)."""
    p = np.asarray(p, float)
    return churn_inputs(np.zeros(len(p)), p)[1]


ESTIMATE_COLUMNS = [
    "estimated_roc_auc", "estimated_roc_auc_low", "estimated_roc_auc_high", "estimated_ece",
    "estimated_ece_low", "estimated_ece_high", "expected_churn_rate", "estimated_decayed",
    "roc_auc_estimate_error", "roc_auc_in_interval",
]


def with_estimates(perf, outcomes, simulations: int, min_auc: float):
    """``perf`` (one row per served cutoff, ``realized_performance``) with the
    estimate of every cutoff from the served churn probabilities of
    ``outcomes``, and, where the realized ROC-AUC is known, the estimate's
    error (realized minus estimated) and whether the interval held it."""
    rows = {
        cutoff: performance_estimate(group["churn_probability"].to_numpy(float), simulations)
        for cutoff, group in outcomes.groupby("cutoff_date", sort=True)
    }
    out = perf.copy()
    for column in ESTIMATE_COLUMNS[:7]:
        out[column] = [rows[c][column] for c in out["cutoff_date"]]
    out["estimated_decayed"] = out["estimated_roc_auc"] < min_auc
    out["roc_auc_estimate_error"] = out["roc_auc"] - out["estimated_roc_auc"]
    known = out["roc_auc"].notna()
    out["roc_auc_in_interval"] = (
        (out["roc_auc"] >= out["estimated_roc_auc_low"])
        & (out["roc_auc"] <= out["estimated_roc_auc_high"])
    ).where(known)
    return out
