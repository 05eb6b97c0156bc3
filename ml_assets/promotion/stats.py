"""Paired tests of a candidate against a reference on the same holdout rows.

Both return the same record: the observed difference (candidate minus
reference), a two-sided 95% confidence interval of it, and the one-sided
p-value of "the candidate is no better".
"""

import numpy as np
from scipy import stats


def delong_test(y, p_candidate, p_reference, level: float = 0.95) -> dict:
    """DeLong's test for two correlated ROC-AUCs (fast version of Sun & Xu, 2014)."""
    y = np.asarray(y, float)
    scores = np.vstack([np.asarray(p_candidate, float), np.asarray(p_reference, float)])
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        raise ValueError("DeLong's test needs both classes in the holdout.")
    pos, neg = scores[:, positive], scores[:, ~positive]
    # midranks within positives, within negatives and over both
    rank_pos = np.apply_along_axis(stats.rankdata, 1, pos)
    rank_neg = np.apply_along_axis(stats.rankdata, 1, neg)
    rank_all = np.apply_along_axis(stats.rankdata, 1, np.hstack([pos, neg]))
    auc = (rank_all[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v_pos = (rank_all[:, :m] - rank_pos) / n  # structural components
    v_neg = 1.0 - (rank_all[:, m:] - rank_neg) / m
    cov = np.cov(v_pos) / m + np.cov(v_neg) / n
    diff = float(auc[0] - auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = np.sqrt(max(var, 0.0))
    return _record("delong", diff, se, level, candidate=float(auc[0]), reference=float(auc[1]))


def paired_bootstrap(
    y, p_candidate, p_reference, metric, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict:
    """Percentile bootstrap of metric(candidate) - metric(reference), resampling
    customers with replacement (the same rows for both models in each draw).
    ``metric(y, pred)`` is higher-is-better."""
    y, a, b = (np.asarray(v, float) for v in (y, p_candidate, p_reference))
    rng = np.random.default_rng(seed)
    observed = float(metric(y, a) - metric(y, b))
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        diffs[i] = metric(y[idx], a[idx]) - metric(y[idx], b[idx])
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) < n_boot // 2:
        raise ValueError("The bootstrap metric was undefined in most resamples (constant values?).")
    tail = (1 - level) / 2
    return {
        "method": f"paired bootstrap ({len(diffs)} resamples)",
        "difference": observed,
        "ci_low": float(np.quantile(diffs, tail)),
        "ci_high": float(np.quantile(diffs, 1 - tail)),
        # share of resamples where the candidate is no better, with the +1 correction
        "p_value": float((np.sum(diffs <= 0) + 1) / (len(diffs) + 1)),
        "candidate": float(metric(y, a)),
        "reference": float(metric(y, b)),
    }


def _record(method: str, diff: float, se: float, level: float, **values) -> dict:
    z_crit = stats.norm.ppf(0.5 + level / 2)
    if se == 0:
        p_value = 0.0 if diff > 0 else 1.0
    else:
        p_value = float(stats.norm.sf(diff / se))
    return {
        "method": method,
        "difference": diff,
        "ci_low": diff - z_crit * se,
        "ci_high": diff + z_crit * se,
        "p_value": p_value,
        "std_error": se,
        **values,
    }
