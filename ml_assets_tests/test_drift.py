"""Drift statistics on tiny samples with known answers, and on degenerate ones."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml_assets.monitoring import drift


def test_psi_of_identical_samples_is_zero():
    x = np.arange(1000, dtype=float)
    assert drift.psi(x, x) == 0.0
    assert drift.categorical_psi(list("aabbc"), list("aabbc")) == 0.0


def test_psi_known_shift_in_reference_quantile_bins():
    reference = np.arange(100, dtype=float)  # deciles: 10 values per bin
    # current: 30% in the first decile, 10% in each of deciles 2-8, none in 9-10
    current = np.concatenate([np.full(30, 5.0), np.repeat(np.arange(7) * 10 + 15.0, 10)])
    r = np.full(10, 0.1)
    c = np.array([0.3] + [0.1] * 7 + [drift.PSI_FLOOR] * 2)
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert drift.psi(reference, current, bins=10) == pytest.approx(expected, rel=1e-12)
    assert expected > 0.2  # a real shift by the usual rule of thumb


def test_psi_uses_reference_bins_so_it_is_not_symmetric_and_grows_with_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    small, large = drift.psi(ref, ref + 0.1), drift.psi(ref, ref + 1.0)
    assert 0 < small < 0.05 < 0.2 < large


def test_categorical_psi_and_chi_square_with_a_new_category():
    ref = ["a"] * 50 + ["b"] * 50
    cur = ["a"] * 50 + ["b"] * 25 + ["c"] * 25
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - drift.PSI_FLOOR) * math.log(
        0.25 / drift.PSI_FLOOR
    )
    assert drift.categorical_psi(ref, cur) == pytest.approx(expected)
    statistic, pvalue = drift.chi_square_test(ref, cur)
    table = np.array([[50, 50, 0], [50, 25, 25]])
    assert statistic == pytest.approx(stats.chi2_contingency(table, correction=False)[0])
    assert pvalue < 1e-6


def test_ks_and_wasserstein_known_values():
    statistic, pvalue = drift.ks_test([0.0, 1.0, 2.0], [10.0, 11.0, 12.0])
    assert statistic == 1.0 and pvalue < 0.2
    assert drift.wasserstein([0.0, 1.0], [2.0, 3.0]) == pytest.approx(2.0)
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2.0, 3.0, 700), rng.normal(5.0, 2.0, 300)
    assert drift.wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    assert drift.ks_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == (0.0, 1.0)


def test_constant_columns_are_reported_not_errors():
    row = drift.feature_drift_row("flag", np.ones(50), np.ones(20), 0.2, 0.1)
    assert row["psi"] == 0.0 and row["ks_statistic"] == 0.0 and row["wasserstein"] == 0.0
    assert row["drifted"] is False
    assert row["note"] == "reference is constant; current is constant"
    moved = drift.feature_drift_row("flag", np.ones(50), np.full(20, 2.0), 0.2, 0.1)
    assert moved["drifted"] is True and moved["psi"] > 5
    one_category = drift.chi_square_test(["x"] * 5, ["x"] * 3)
    assert one_category == (0.0, 1.0)


def test_empty_and_all_missing_columns_give_nan_and_a_note():
    empty = drift.feature_drift_row("f", np.arange(10.0), np.array([], float), 0.2, 0.1)
    assert math.isnan(empty["psi"]) and math.isnan(empty["ks_pvalue"])
    assert math.isnan(empty["missing_current"]) and empty["note"] == "current is empty"
    assert empty["drifted"] is False
    missing = drift.feature_drift_row("f", np.arange(10.0), np.full(4, np.nan), 0.2, 0.1)
    assert missing["kind"] == "numeric"
    assert missing["missing_current"] == 1.0 and missing["missing_change"] == 1.0
    assert math.isnan(missing["psi"]) and math.isnan(missing["wasserstein"])
    assert missing["drifted"] is True  # every value vanished: reported as drift
    assert missing["note"] == "current is entirely missing"


def test_nan_and_inf_are_missing_values_not_statistics():
    ref = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    cur = np.array([1.0, 2.0, 3.0, 4.0, np.inf, np.nan, 5.0, 6.0, 7.0, 8.0])
    row = drift.feature_drift_row("f", ref, cur, 0.2, 0.5)
    assert row["missing_reference"] == 0.6 and row["missing_current"] == 0.2
    assert row["missing_change"] == pytest.approx(-0.4)
    assert np.isfinite(row["psi"]) and np.isfinite(row["wasserstein"])
    assert row["mean_current"] == pytest.approx(36 / 8)


def test_compare_frames_orders_by_psi_and_handles_text_and_absent_columns():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 2000), "y": rng.normal(0, 1, 2000),
                              "segment": rng.choice(["a", "b"], 2000)})
    current = pd.DataFrame({"x": rng.normal(2, 1, 500), "y": rng.normal(0, 1, 500),
                            "segment": rng.choice(["a", "b"], 500)})
    rows = drift.compare_frames(reference, current, ["y", "segment", "x", "gone"], 0.2, 0.1)
    assert list(rows.columns) == drift.COLUMNS
    assert rows["feature"].iloc[0] == "x" and bool(rows["drifted"].iloc[0])
    segment = rows.set_index("feature").loc["segment"]
    assert segment["kind"] == "categorical" and segment["chi2_pvalue"] > 0.001
    assert math.isnan(segment["ks_statistic"])
    gone = rows.set_index("feature").loc["gone"]
    assert rows["feature"].iloc[-1] == "gone" and "entirely missing" in gone["note"]
    summary = drift.dataset_drift(rows, share_threshold=0.3)
    assert summary["drifted_features"] == 1 and summary["features"] == 4
    assert summary["drift_share"] == 0.25 and summary["dataset_drift"] is False
    assert summary["worst_feature"] == "x"
    assert drift.dataset_drift(rows, share_threshold=0.25)["dataset_drift"] is True


def test_cutoff_level_features_are_recognised():
    reference = pd.DataFrame({
        "cutoff_date": ["2024-01-01"] * 3 + ["2024-02-01"] * 3,
        "cutoff_month": [1.0] * 3 + [2.0] * 3,
        "spend": [1.0, 2.0, 3.0, 1.0, 5.0, 6.0],
        "always_zero": [0.0] * 6,
    })
    found = drift.cutoff_level_features(reference, ["cutoff_month", "spend", "always_zero"])
    assert found == ["cutoff_month"]
    assert drift.cutoff_level_features(reference.head(3), ["cutoff_month"]) == []


def test_quantile_edges_collapse_on_ties():
    assert drift.quantile_edges(np.ones(100)).tolist() == [1.0, np.nextafter(1.0, 2.0)]
    # the outer bins are open-ended: the top decile reaches beyond the maximum
    edges = drift.quantile_edges(np.arange(100.0), bins=4)
    assert edges.tolist() == [24.75, 49.5, 74.25]
    # a third of the values tied at the top: values above it get their own bin
    tied = np.concatenate([np.arange(20.0), np.full(10, 50.0)])
    assert drift.quantile_edges(tied, bins=4).tolist() == [7.25, 14.5, 50.0, np.nextafter(50.0, 51.0)]
    assert drift.psi(tied, np.full(10, 60.0)) > 5
    assert drift.quantile_edges(np.array([], float)).size == 0
    with pytest.raises(ValueError, match="bins"):
        drift.quantile_edges([1.0], bins=0)
