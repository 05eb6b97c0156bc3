"""The generic paired bootstrap the project's linear-time Gini bootstrap must
reproduce (and DeLong's variance must agree with); test code only."""

import numpy as np


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
