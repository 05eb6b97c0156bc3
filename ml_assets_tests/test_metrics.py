"""Evaluation metrics against scikit-learn/scipy and hand-computed answers, and
the plots and markdown tables shown in asset metadata."""

import base64
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from ml_assets.lib import plots
from ml_assets.lib.metrics import (
    calibration_table,
    churn_metrics,
    decile_table,
    expected_calibration_error,
    lift_table,
    ltv_metrics,
    normalized_gini,
)
from ml_assets.lib.tables import markdown_table

# 20 customers, 6 churners (base rate 0.3); rows 1 and 2 tie at p = 0.90.
P20 = np.array([0.95, 0.90, 0.90, 0.80, 0.75, 0.70, 0.65, 0.60, 0.55, 0.50,
                0.45, 0.40, 0.35, 0.30, 0.25, 0.20, 0.15, 0.10, 0.05, 0.00])
Y20 = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])


def _churn_sample(n=400, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < p).astype(int), p


def _ltv_sample(n=300, seed=1):
    rng = np.random.default_rng(seed)
    y = np.round(rng.gamma(1.5, 60.0, n), 2)
    y[rng.random(n) < 0.2] = 0.0
    y[rng.random(n) < 0.05] *= -0.5  # refunds
    return y, y + rng.normal(0, 40, n)


def _reference_gini(actual, pred):
    """Textbook Lorenz-curve Gini (Kaggle style), looped; needs distinct preds."""
    order = sorted(range(len(actual)), key=lambda i: -pred[i])
    total, cumulative, area = float(sum(actual)), 0.0, 0.0
    for i in order:
        cumulative += actual[i]
        area += cumulative / total
    n = len(actual)
    return area / n - (n + 1) / (2 * n)


# --- churn ---------------------------------------------------------------------------


def test_churn_metrics_match_sklearn():
    y, p = _churn_sample()
    p[:3] = [0.0, 1.0, 1.0]  # log loss must clip, not blow up
    got = churn_metrics(y, p, 0.5)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert got["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert got["brier"] == pytest.approx(brier_score_loss(y, p))
    assert got["log_loss"] == pytest.approx(log_loss(y, clipped))
    assert np.isfinite(got["log_loss"])
    assert got["base_rate"] == pytest.approx(y.mean())
    assert got["mean_pred"] == pytest.approx(p.mean())
    assert got["n"] == len(y)


def test_threshold_and_top_decile_by_hand():
    got = churn_metrics(Y20, P20, 0.6)
    # flagged: the 8 rows with p >= 0.60 hold 4 of the 6 churners
    assert got["share_flagged"] == pytest.approx(0.4)
    assert got["precision"] == pytest.approx(4 / 8)
    assert got["recall"] == pytest.approx(4 / 6)
    assert got["f1"] == pytest.approx(2 * 4 / (2 * 4 + 4 + 2))
    assert got["lift"] == pytest.approx(0.5 / 0.3)
    # top 10% = 2 rows: row 0 and, of the tie at 0.90, row 1 (first in row order)
    assert got["precision_top_decile"] == pytest.approx(0.5)
    assert got["recall_top_decile"] == pytest.approx(1 / 6)
    assert got["lift_top_decile"] == pytest.approx(0.5 / 0.3)


def test_top_decile_rounds_up_to_at_least_one_row():
    y = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # 11 rows -> top 2
    p = np.linspace(0.9, 0.1, 11)
    assert churn_metrics(y, p, 0.5)["recall_top_decile"] == 1.0
    assert churn_metrics([1, 0], [0.7, 0.2], 0.5)["precision_top_decile"] == 1.0


def test_lift_table_by_hand():
    table = lift_table(Y20, P20)
    assert list(table.columns) == ["bin", "n", "churn_rate", "cumulative_recall", "lift"]
    assert table["bin"].tolist() == list(range(1, 11))
    # the 0.90 tie straddles the bin 1/2 boundary and stays whole in bin 1
    assert table["n"].tolist() == [3, 1] + [2] * 8
    assert table["churn_rate"].tolist()[:5] == pytest.approx([2 / 3, 1.0, 0.5, 0.0, 0.5])
    assert table["cumulative_recall"].tolist()[:5] == pytest.approx([2, 3, 4, 4, 5] / np.array(6))
    assert table["cumulative_recall"].iloc[-1] == pytest.approx(1.0)
    assert table["lift"].iloc[0] == pytest.approx((2 / 3) / 0.3)
    assert np.average(table["lift"], weights=table["n"]) == pytest.approx(1.0)


def test_tied_probabilities_share_a_bin_whatever_the_row_order():
    y, p = _churn_sample(n=300)
    p = np.round(p, 1)  # heavy ties
    order = np.random.default_rng(5).permutation(len(y))
    for table_fn in (calibration_table, lift_table):
        a, b = table_fn(y, p), table_fn(y[order], p[order])
        pd.testing.assert_frame_equal(a, b)
    table = calibration_table(y, p)
    assert table["mean_pred"].is_monotonic_increasing
    assert table["mean_pred"].nunique() == len(table)  # no value split across bins


def test_calibration_table_matches_sklearn_quantile_curve():
    y, p = _churn_sample(n=1000, seed=3)
    table = calibration_table(y, p)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    assert (table["n"] == 100).all()
    np.testing.assert_allclose(table["observed_rate"], observed)
    np.testing.assert_allclose(table["mean_pred"], predicted)


def test_ece_by_hand_and_on_simulated_calibration():
    assert expected_calibration_error([0, 0, 1, 0], [0.2, 0.2, 0.8, 0.8], bins=2) == pytest.approx(
        (0.2 + 0.3) / 2
    )
    rng = np.random.default_rng(7)
    p = rng.random(20_000)
    calibrated = (rng.random(p.size) < p).astype(int)
    overconfident = (rng.random(p.size) < 0.5 + (p - 0.5) * 0.3).astype(int)
    assert churn_metrics(calibrated, p, 0.5)["ece"] < 0.015
    assert churn_metrics(overconfident, p, 0.5)["ece"] > 0.15


def test_single_class_holdout_gives_nan_auc_not_an_error():
    got = churn_metrics(np.zeros(30), np.linspace(0.05, 0.6, 30), 0.5)
    assert np.isnan(got["roc_auc"]) and np.isnan(got["pr_auc"])
    assert np.isnan(got["recall"]) and np.isnan(got["lift"]) and np.isnan(got["recall_top_decile"])
    assert got["brier"] == pytest.approx(np.mean(np.linspace(0.05, 0.6, 30) ** 2))
    assert np.isfinite(got["log_loss"]) and np.isfinite(got["ece"])
    assert lift_table(np.zeros(30), np.linspace(0, 1, 30))["cumulative_recall"].isna().all()
    all_churn = churn_metrics(np.ones(10), np.full(10, 0.9), 0.5)
    assert np.isnan(all_churn["roc_auc"]) and all_churn["lift"] == pytest.approx(1.0)


def test_constant_churn_prediction():
    y, _ = _churn_sample(n=200)
    got = churn_metrics(y, np.full(200, 0.3), 0.5)
    assert got["roc_auc"] == pytest.approx(0.5)
    assert got["share_flagged"] == 0.0 and np.isnan(got["precision"])
    assert got["ece"] == pytest.approx(abs(0.3 - y.mean()))
    assert len(calibration_table(y, np.full(200, 0.3))) == 1


# --- LTV ------------------------------------------------------------------------------


def test_ltv_metrics_match_sklearn_and_scipy():
    y, pred = _ltv_sample()
    got = ltv_metrics(y, pred)
    assert got["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, pred)))
    assert got["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert got["r2"] == pytest.approx(r2_score(y, pred))
    assert got["spearman"] == pytest.approx(spearmanr(y, pred).statistic)
    assert got["total_pred"] == pytest.approx(pred.sum())
    assert got["total_true"] == pytest.approx(y.sum())
    assert got["total_error_pct"] == pytest.approx((pred.sum() - y.sum()) / y.sum() * 100)
    assert got["mean_pred"] == pytest.approx(pred.mean())
    assert got["n"] == len(y)
    assert "coverage" not in got


def test_total_error_sign_means_over_forecast_even_for_a_negative_total():
    assert ltv_metrics([10.0, 30.0], [30.0, 30.0])["total_error_pct"] == pytest.approx(50.0)
    assert ltv_metrics([-10.0, -30.0], [0.0, -20.0])["total_error_pct"] == pytest.approx(50.0)
    assert np.isnan(ltv_metrics([-5.0, 5.0], [1.0, 2.0])["total_error_pct"])


def test_interval_coverage_and_width():
    y = [10.0, 20.0, 30.0, 40.0]
    got = ltv_metrics(y, [12, 18, 35, 60], lower=[5, 20, 31, 50], upper=[15, 25, 40, 70])
    # inside: 10 in [5,15], 20 in [20,25] (bound inclusive); 30 < 31, 40 < 50 outside
    assert got["coverage"] == pytest.approx(0.5)
    assert got["mean_interval_width"] == pytest.approx((10 + 5 + 9 + 20) / 4)
    with pytest.raises(ValueError, match="lower > upper"):
        ltv_metrics(y, y, lower=[1, 2, 3, 50], upper=[2, 3, 4, 45])
    with pytest.raises(ValueError, match="both lower and upper"):
        ltv_metrics(y, y, lower=y)


def test_decile_table_sums_and_order():
    y, pred = _ltv_sample()
    table = decile_table(y, pred)
    assert list(table.columns) == ["decile", "n", "mean_pred", "mean_true", "sum_pred", "sum_true"]
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["n"].sum() == len(y) and (table["n"] == 30).all()
    assert table["sum_pred"].sum() == pytest.approx(pred.sum())
    assert table["sum_true"].sum() == pytest.approx(y.sum())
    assert table["mean_pred"].is_monotonic_increasing  # decile 10 = highest predictions
    np.testing.assert_allclose(table["mean_true"] * table["n"], table["sum_true"])


def test_decile_table_keeps_tied_predictions_together():
    pred = np.r_[np.zeros(50), np.arange(1.0, 51.0)]  # half the customers predicted 0
    table = decile_table(np.arange(100.0), pred)
    assert table["decile"].iloc[0] == 1 and table["n"].iloc[0] == 50
    assert table["decile"].tolist()[1:] == [6, 7, 8, 9, 10]
    assert table["n"].sum() == 100


# --- normalized Gini ------------------------------------------------------------------


def test_gini_perfect_reversed_and_random():
    y, _ = _ltv_sample()
    assert normalized_gini(y, y) == pytest.approx(1.0)
    assert normalized_gini(y, -y) == pytest.approx(-1.0)
    rng = np.random.default_rng(11)
    big = rng.gamma(1.5, 60.0, 40_000)
    assert abs(normalized_gini(big, rng.random(big.size))) < 0.03


def test_gini_is_invariant_to_monotone_transforms():
    y, pred = _ltv_sample()
    base = normalized_gini(y, pred)
    shifted = pred - pred.min() + 1
    for transformed in (3 * pred + 7, np.exp(pred / 50), shifted**3, np.log(shifted)):
        assert normalized_gini(y, transformed) == pytest.approx(base)


def test_gini_equals_brute_force_reference():
    rng = np.random.default_rng(2)
    for _ in range(5):
        y, pred = _ltv_sample(n=int(rng.integers(20, 200)), seed=int(rng.integers(1_000)))
        expected = _reference_gini(y, pred) / _reference_gini(y, y)
        assert normalized_gini(y, pred) == pytest.approx(expected, abs=1e-12)


def test_gini_ties_average_over_their_orderings():
    y = np.array([5.0, 0.0, 3.0, 8.0, -2.0])
    tied = np.array([0.9, 0.5, 0.5, 0.1, 0.2])  # rows 1 and 2 tie
    orders = [np.array([0.9, 0.51, 0.5, 0.1, 0.2]), np.array([0.9, 0.5, 0.51, 0.1, 0.2])]
    expected = np.mean([_reference_gini(y, o) for o in orders]) / _reference_gini(y, y)
    assert normalized_gini(y, tied) == pytest.approx(expected)


def test_gini_degenerate_inputs_are_zero_not_nan():
    y, _ = _ltv_sample()
    assert normalized_gini(y, np.full(y.size, 0.1)) == 0.0
    assert normalized_gini(np.full(10, 0.1), np.arange(10.0)) == 0.0
    assert normalized_gini(np.zeros(10), np.arange(10.0)) == 0.0
    # zeros, refunds and a negative total still give a finite, bounded value
    refunds = np.array([0.0, -40.0, -5.0, 0.0, 10.0, -30.0])
    value = normalized_gini(refunds, np.arange(6.0))
    assert np.isfinite(value) and -1 <= value <= 1
    assert normalized_gini(refunds, refunds) == pytest.approx(1.0)
    got = ltv_metrics(y, np.full(y.size, 50.0))
    assert got["normalized_gini"] == 0.0 and np.isnan(got["spearman"])


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "rows"),
        ([], [], "empty"),
        ([0, 1, np.nan], [0.1, 0.2, 0.3], "NaN"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "infinite"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "binary"),
        ([0, 1, 1], [0.1, 1.2, 0.3], r"\[0, 1\]"),
        ([0, 1, 1], [-0.1, 0.2, 0.3], r"\[0, 1\]"),
        ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
        (["a", "b"], [0.1, 0.2], "numeric"),
        (None, [0.1], "None"),
        (pd.Series([0, 1, None], dtype="Int64"), [0.1, 0.2, 0.3], "NaN"),
    ],
)
def test_invalid_churn_inputs_raise(y, p, message):
    with pytest.raises(ValueError, match=message):
        churn_metrics(y, p, 0.5)


def test_other_invalid_inputs_raise():
    with pytest.raises(ValueError, match="threshold"):
        churn_metrics([0, 1], [0.2, 0.8], float("nan"))
    with pytest.raises(ValueError, match="bins"):
        lift_table([0, 1], [0.2, 0.8], bins=0)
    with pytest.raises(ValueError, match="rows"):
        ltv_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        normalized_gini([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        decile_table([1.0, 2.0], [np.nan, 2.0])
    with pytest.raises(ValueError, match="rows"):
        ltv_metrics([1.0, 2.0], [1.0, 2.0], lower=[0.0], upper=[3.0])


def test_accepts_bools_and_series():
    y = pd.Series([True, False, True, False])
    p = pd.Series([0.8, 0.3, 0.6, 0.4])
    assert churn_metrics(y, p, 0.5)["roc_auc"] == 1.0


# --- plots and tables -----------------------------------------------------------------

_IMAGE = re.compile(r"^!\[([^\]]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)$")


def _png_bytes(markdown: str) -> bytes:
    match = _IMAGE.match(markdown)
    assert match, markdown[:80]
    data = base64.b64decode(match.group(2), validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 80_000
    return data


def test_every_plot_is_a_small_png_data_uri():
    y, p = _churn_sample(n=500)
    rng = np.random.default_rng(4)
    churn = {"candidate v2": p, "champion v1": np.clip(p + rng.normal(0, 0.2, p.size), 0, 1),
             "rule": np.round(p, 1)}
    spend, pred = _ltv_sample()
    ltv = {"candidate v2": pred, "last_year": np.zeros(spend.size), "rfm_rule": np.round(pred, -2)}
    importance = pd.Series(rng.random(40), index=[f"feature_{i}" for i in range(40)], name="gain")
    images = [
        plots.roc_plot(y, churn),
        plots.calibration_plot(y, churn),
        plots.lift_plot(y, churn),
        plots.decile_plot(spend, ltv),
        plots.importance_plot(importance, top=15),
        # degenerate holdouts still draw
        plots.roc_plot(np.zeros(20), {"m": np.linspace(0, 1, 20)}),
        plots.lift_plot(np.zeros(20), {"m": np.linspace(0, 1, 20)}),
    ]
    for image in images:
        _png_bytes(image)
    assert _IMAGE.match(images[4]).group(1) == "Top 15 features"
    # brackets in a title would end the markdown alt text: they become parentheses
    titled = plots.image(plots.figure(2, 2), "Drift [monthly]")
    assert _IMAGE.match(titled).group(1) == "Drift (monthly)"


def test_plots_reject_bad_input():
    with pytest.raises(ValueError, match="preds is empty"):
        plots.roc_plot([0, 1], {})
    with pytest.raises(ValueError, match="'short'"):
        plots.calibration_plot([0, 1, 1], {"short": np.array([0.1, 0.2])})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plots.roc_plot([0, 1], {"m": np.array([0.1, 3.0])})
    with pytest.raises(ValueError, match="empty"):
        plots.importance_plot(pd.Series(dtype=float))


def test_markdown_table_layout_and_formatting():
    frame = pd.DataFrame({
        "model": ["cand|v2", "rule"],
        "auc": [0.81234, np.nan],
        "n": [1200, 30],
        "cutoff": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        "promoted": [True, False],
    })
    lines = markdown_table(frame, floatfmt=".3f").split("\n")
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in
             (line.replace("\\|", "\x00") for line in lines)]
    assert cells[0] == ["model", "auc", "n", "cutoff", "promoted"]
    assert set("".join(cells[1])) <= {"-", ":"}
    assert cells[2] == ["cand\x00v2", "0.812", "1200", "2024-01-01", "True"]
    assert cells[3] == ["rule", "", "30", "2024-02-01", "False"]
    assert len(lines) == 4
    empty = markdown_table(frame.iloc[:0])
    assert [line.split("|")[1].strip() for line in empty.split("\n")][:1] == ["model"]
