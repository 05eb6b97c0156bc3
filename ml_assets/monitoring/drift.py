"""Drift statistics between a reference sample and a current sample.

Pure functions on arrays and frames, no Dagster and no warehouse. Missing
values (None, NaN, and for numbers also +-inf) are taken out before a
statistic is computed and reported on their own as the missing-rate change.
A column that is empty (or entirely missing) on either side gets NaN for the
statistics it leaves undefined and a ``note`` saying why; a constant column
is fine (PSI 0 and KS 0 when both sides hold the same constant). Nothing here
raises on legal data.

- PSI: population stability index over bins cut at the reference's
  quantiles (numeric) or over categories (categorical), with each bin's share
  floored at ``PSI_FLOOR`` so an empty bin does not give infinity.
  Rule of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 a real shift.
- KS: two-sample Kolmogorov-Smirnov statistic and p-value (numeric).
- chi-square: test of homogeneity of the category counts (categorical).
- Wasserstein: earth mover's distance in the feature's own units (numeric).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

PSI_FLOOR = 1e-4
DEFAULT_BINS = 10

COLUMNS = [
    "feature", "kind", "n_reference", "n_current", "missing_reference", "missing_current",
    "missing_change", "psi", "ks_statistic", "ks_pvalue", "chi2_statistic", "chi2_pvalue",
    "wasserstein", "mean_reference", "mean_current", "drifted", "note",
]


def quantile_edges(reference, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles, duplicates removed; the
    outer bins are open-ended. A heavily tied reference gives fewer bins. When
    the top edge is the reference's maximum (a constant reference, or many
    values tied at the top), an edge just above it gives values beyond the
    reference their own bin; below the minimum that holds already, as a value
    equal to an edge belongs to the bin above it."""
    ref = _finite(reference)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    if ref.size == 0:
        return np.empty(0)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    top = ref.max()
    if edges.size == 0 or edges[-1] >= top:
        edges = np.append(edges[edges < top], [top, np.nextafter(top, np.inf)])
    return edges


def psi(reference, current, bins: int = DEFAULT_BINS) -> float:
    """PSI of numeric ``current`` against ``reference`` in the reference's
    quantile bins. NaN when either side has no finite values."""
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    edges = quantile_edges(ref, bins)
    return _psi_from_counts(_bin_counts(ref, edges), _bin_counts(cur, edges))


def categorical_psi(reference, current) -> float:
    """PSI over categories; a category seen on one side only counts as an
    empty bin on the other. NaN when either side has no values."""
    ref, cur = _present(reference), _present(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    table = _category_table(ref, cur)
    return _psi_from_counts(table[0], table[1])


def ks_test(reference, current) -> tuple[float, float]:
    """(statistic, p-value) of the two-sample KS test; NaNs when a side is empty."""
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan, math.nan
    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


def chi_square_test(reference, current) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square test that both samples come from
    one category distribution. One category in all gives (0, 1): nothing can
    differ. NaNs when a side is empty."""
    ref, cur = _present(reference), _present(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan, math.nan
    table = _category_table(ref, cur)
    if table.shape[1] < 2:
        return 0.0, 1.0
    statistic, pvalue, _, _ = stats.chi2_contingency(table, correction=False)
    return float(statistic), float(pvalue)


def wasserstein(reference, current) -> float:
    """Earth mover's distance between the two samples, in the values' units."""
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    return float(stats.wasserstein_distance(ref, cur))


def missing_rate(values, numeric: bool = True) -> float:
    """Share of values that are missing (NaN for an empty column)."""
    series = pd.Series(values, dtype=object if not numeric else None)
    if len(series) == 0:
        return math.nan
    if numeric:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(float)
        return float(np.mean(~np.isfinite(numbers)))
    return float(series.isna().mean())


def is_numeric(values) -> bool:
    """Numbers are compared as numbers; text, categories and booleans as categories."""
    series = pd.Series(values)
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def feature_drift_row(
    name: str,
    reference,
    current,
    psi_threshold: float,
    missing_threshold: float,
    bins: int = DEFAULT_BINS,
) -> dict:
    """Every statistic for one feature, the ``drifted`` verdict (PSI at or
    above ``psi_threshold``, or the missing rate moved by at least
    ``missing_threshold``) and a ``note`` on anything that left a statistic
    undefined."""
    ref, cur = pd.Series(reference), pd.Series(current)
    numeric = is_numeric(ref) and (is_numeric(cur) or cur.isna().all())
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update(feature=name, kind="numeric" if numeric else "categorical",
               n_reference=len(ref), n_current=len(cur))
    row["missing_reference"] = missing_rate(ref, numeric)
    row["missing_current"] = missing_rate(cur, numeric)
    row["missing_change"] = row["missing_current"] - row["missing_reference"]
    if numeric:
        r, c = _finite(ref), _finite(cur)
        row["psi"] = psi(r, c, bins)
        row["ks_statistic"], row["ks_pvalue"] = ks_test(r, c)
        row["wasserstein"] = wasserstein(r, c)
        row["mean_reference"] = float(r.mean()) if r.size else math.nan
        row["mean_current"] = float(c.mean()) if c.size else math.nan
    else:
        row["psi"] = categorical_psi(ref, cur)
        row["chi2_statistic"], row["chi2_pvalue"] = chi_square_test(ref, cur)
    row["note"] = _note(ref, cur, numeric)
    psi_drift = not math.isnan(row["psi"]) and row["psi"] >= psi_threshold
    missing_drift = (
        not math.isnan(row["missing_change"]) and abs(row["missing_change"]) >= missing_threshold
    )
    row["drifted"] = bool(psi_drift or missing_drift)
    return row


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    psi_threshold: float,
    missing_threshold: float,
    bins: int = DEFAULT_BINS,
) -> pd.DataFrame:
    """One row per feature (``COLUMNS``), worst PSI first. A feature absent
    from a frame is compared as an entirely missing column."""
    rows = [
        feature_drift_row(
            name,
            reference[name] if name in reference else pd.Series([np.nan] * len(reference)),
            current[name] if name in current else pd.Series([np.nan] * len(current)),
            psi_threshold, missing_threshold, bins,
        )
        for name in features
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("psi", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def dataset_drift(rows: pd.DataFrame, share_threshold: float) -> dict:
    """Dataset-level summary: how many features drifted, their share, the worst
    feature, and whether the share reaches ``share_threshold``."""
    n = len(rows)
    drifted = int(rows["drifted"].sum()) if n else 0
    share = drifted / n if n else math.nan
    scored = rows.dropna(subset=["psi"])
    worst = scored.loc[scored["psi"].idxmax()] if len(scored) else None
    return {
        "features": n,
        "drifted_features": drifted,
        "drift_share": share,
        "worst_feature": None if worst is None else str(worst["feature"]),
        "max_psi": math.nan if worst is None else float(worst["psi"]),
        "dataset_drift": bool(n and share >= share_threshold),
    }


def cutoff_level_features(
    reference: pd.DataFrame, features: list[str], by: str = "cutoff_date"
) -> list[str]:
    """Features that describe the cutoff rather than the customer (such as
    ``cutoff_month``): one value within every cutoff of ``reference``, different
    values across cutoffs. A single current cutoff always "drifts" on them, so
    they are reported but not counted. Empty when ``reference`` has one cutoff."""
    if by not in reference or reference[by].nunique() < 2:
        return []
    present = [f for f in features if f in reference]
    within = reference.groupby(by)[present].nunique(dropna=False).max()
    across = reference[present].nunique(dropna=False)
    return [f for f in present if within[f] <= 1 and across[f] > 1]


# --- helpers ------------------------------------------------------------------


def _finite(values) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "fiu":
        numbers = array.astype(float, copy=False)
    else:
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    return numbers[np.isfinite(numbers)]


def _present(values) -> np.ndarray:
    series = pd.Series(values, dtype=object)
    return series[series.notna()].astype(str).to_numpy()


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)


def _category_table(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """2 x K counts of each category (sorted) in the reference and the current sample."""
    categories = np.union1d(ref, cur)
    return np.vstack([
        np.bincount(np.searchsorted(categories, side), minlength=categories.size)
        for side in (ref, cur)
    ])


def _psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    r = np.maximum(ref_counts / ref_counts.sum(), PSI_FLOOR)
    c = np.maximum(cur_counts / cur_counts.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _note(ref: pd.Series, cur: pd.Series, numeric: bool) -> str:
    clean = _finite if numeric else _present
    r, c = clean(ref), clean(cur)
    notes = []
    for label, side, raw in (("reference", r, ref), ("current", c, cur)):
        if len(raw) == 0:
            notes.append(f"{label} is empty")
        elif side.size == 0:
            notes.append(f"{label} is entirely missing")
        elif np.unique(side).size == 1:
            notes.append(f"{label} is constant")
    return "; ".join(notes)
