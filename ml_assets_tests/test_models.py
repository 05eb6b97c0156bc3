"""Model training: split rules, determinism, threshold policy, interval coverage."""

from datetime import date, timedelta

import dagster as dg
import numpy as np
import pytest

from ml_assets.models.churn import churn_probability, decision_threshold, train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import feature_columns, load_frame, mature_cutoffs
from ml_assets.models.ltv import conformal_margin, ltv_prediction, train_ltv
from ml_assets.models.splits import plan_split
from ml_assets_tests.factories import (
    monthly,
    random_transactions,
    snapshot_tables,
    warehouse_with,
)

FAST = dict(training_cutoffs=12, validation_folds=2, max_rounds=60, early_stopping_rounds=10,
            min_child_samples=20, num_threads=1)


@pytest.fixture(scope="module")
def warehouse():
    tx = random_transactions(n_customers=400, start="2020-01-01", days=1100, seed=11)
    conn = warehouse_with(tx)
    return snapshot_tables(conn, monthly("2020-04-01", "2022-12-01"), churn_days=90, ltv_days=180)


def test_split_never_trains_on_the_holdout_or_windows_reaching_it():
    mature = monthly("2021-01-01", "2023-10-01")
    split = plan_split(mature, horizon_days=90, train_cutoffs=24, folds=3)
    assert split.holdout == date(2023, 10, 1)
    assert split.holdout not in split.train
    assert all(c + timedelta(days=90) <= split.holdout for c in split.train)
    assert split.train[-1] == date(2023, 7, 1) and len(split.train) == 24
    for fold in split.folds:
        assert fold.valid in split.train
        assert all(c + timedelta(days=90) <= fold.valid for c in fold.train)
    # forward chaining: each fold's validation cutoff is newer than the one before
    valids = [f.valid for f in split.folds]
    assert valids == sorted(valids) and len(valids) == 3


def test_split_refuses_when_history_is_too_short():
    with pytest.raises(dg.Failure, match="No cutoff has mature labels"):
        plan_split([], 90, 24, 3)
    with pytest.raises(dg.Failure, match="forward-chaining"):
        plan_split(monthly("2023-01-01", "2023-04-01"), 365, 24, 3)


def test_training_frame_holds_only_mature_labels_of_active_customers(warehouse):
    # (the holdout cannot reach training: plan_split's own test; the model step loads
    # exactly split.train, so a second "holdout not in the frame" assertion could not fail)
    mature = mature_cutoffs(warehouse, "churn")
    split = plan_split(mature, 90, 12, 2)
    frame = load_frame(warehouse, list(split.train), "churn", 365)
    everyone = load_frame(warehouse, list(split.train), "churn", 0)
    assert frame.churned.notna().all()
    assert (frame.recency_days <= 365).all() and len(frame) < len(everyone)
    assert set(frame.cutoff_date) == set(split.train)


def _fit_churn(warehouse, **overrides):
    split = plan_split(mature_cutoffs(warehouse, "churn"), 90, 12, 2)
    frame = load_frame(warehouse, list(split.train), "churn", 365)
    config = ChurnModelConfig(**{**FAST, **overrides})
    return frame, train_churn(frame, feature_columns(frame), split, config)


def test_churn_training_is_deterministic(warehouse):
    frame, first = _fit_churn(warehouse)
    _, second = _fit_churn(warehouse)
    assert first["boosters"]["churn"].model_to_string() == second["boosters"]["churn"].model_to_string()
    assert first["meta"] == second["meta"]
    p1 = churn_probability(first["boosters"], first["meta"], frame)
    p2 = churn_probability(second["boosters"], second["meta"], frame)
    np.testing.assert_array_equal(p1, p2)
    _, other_seed = _fit_churn(warehouse, seed=7)
    assert other_seed["boosters"]["churn"].model_to_string() != first["boosters"]["churn"].model_to_string()


def test_churn_model_learns_and_is_calibrated_on_validation(warehouse):
    frame, fit = _fit_churn(warehouse)
    v = fit["validation"]
    assert v["valid_roc_auc"] > 0.6
    assert v["valid_ece_calibrated"] <= v["valid_ece_uncalibrated"] + 1e-9
    p = churn_probability(fit["boosters"], fit["meta"], frame)
    assert ((p > 0) & (p < 1)).all()


def test_threshold_policies():
    p = np.linspace(0, 1, 1001)
    cut = decision_threshold(p, ChurnModelConfig(threshold_policy="capacity", capacity_share=0.2))
    assert np.mean(p >= cut) == pytest.approx(0.2, abs=0.002)
    assert decision_threshold(p, ChurnModelConfig(threshold_policy="cost", cost_ratio=3)) == 0.25
    with pytest.raises(ValueError, match="threshold_policy"):
        decision_threshold(p, ChurnModelConfig(threshold_policy="vibes"))


def test_conformal_margin_reaches_nominal_coverage():
    rng = np.random.default_rng(0)
    y = rng.gamma(1.0, 100.0, size=4000)
    lower, upper = np.full_like(y, 40.0), np.full_like(y, 120.0)  # far too narrow
    margin = conformal_margin(y[:2000], lower[:2000], upper[:2000], 0.8)
    covered = np.mean((y[2000:] >= lower[2000:] - margin) & (y[2000:] <= upper[2000:] + margin))
    assert margin > 0 and covered == pytest.approx(0.8, abs=0.03)


def test_ltv_training_gives_ordered_intervals(warehouse):
    split = plan_split(mature_cutoffs(warehouse, "ltv"), 180, 12, 2)
    frame = load_frame(warehouse, list(split.train), "ltv", 365)
    fit = train_ltv(frame, feature_columns(frame), split, LtvModelConfig(**FAST))
    mean, lo, hi = ltv_prediction(fit["boosters"], fit["meta"], frame)
    assert (mean >= 0).all() and (lo <= hi).all() and (lo >= 0).all()
    assert fit["validation"]["valid_interval_coverage"] >= 0.7


def test_per_cutoff_cap_is_a_fixed_sample_whatever_else_is_loaded(warehouse):
    cutoffs = mature_cutoffs(warehouse, "churn")[-6:]
    every = load_frame(warehouse, cutoffs, "churn", 365)
    capped = load_frame(warehouse, cutoffs, "churn", 365, per_cutoff=30)
    sizes = capped.groupby("cutoff_date").size()
    full_sizes = every.groupby("cutoff_date").size()
    assert (full_sizes > 30).all() and (sizes == 30).all()
    alone = load_frame(warehouse, cutoffs[-1:], "churn", 365, per_cutoff=30)
    last = capped[capped.cutoff_date == cutoffs[-1]].reset_index(drop=True)
    assert list(alone.customer_id) == list(last.customer_id)
    # the sample is rows of the full frame, unchanged
    merged = last.merge(every, on=["cutoff_date", "customer_id"], suffixes=("", "_all"))
    assert len(merged) == 30 and (merged["recency_days"] == merged["recency_days_all"]).all()


def test_churn_calibration_is_fitted_on_scores_of_the_served_number_of_trees(warehouse):
    """Platt and the threshold come from the fold models cut to the served model's
    rounds, not from each fold's own early-stopped scores."""
    from sklearn.linear_model import LogisticRegression

    from ml_assets.models import boosting

    split = plan_split(mature_cutoffs(warehouse, "churn"), 90, 12, 2)
    frame = load_frame(warehouse, list(split.train), "churn", 365)
    config = ChurnModelConfig(**FAST, blend_btyd=False)
    fit = train_churn(frame, feature_columns(frame), split, config)
    target = frame["churned"].astype(float).to_numpy()
    params = boosting.params(config, "binary", "binary_logloss")
    folds = boosting.forward_chaining(frame, target, feature_columns(frame), split, config, params)
    rounds = fit["meta"]["rounds"]
    # the case the old code got wrong: a fold stopped at another iteration than the served model
    assert any(f.best_iteration != rounds for f in folds)
    rows = np.concatenate([f.valid_index for f in folds])
    raw = np.concatenate([f.scores_at(rounds) for f in folds])
    expected = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), target[rows].astype(int))
    calibration = fit["meta"]["calibration"]
    assert calibration["a"] == pytest.approx(expected.coef_[0, 0], rel=1e-6)
    assert calibration["b"] == pytest.approx(expected.intercept_[0], rel=1e-6)
    # the served booster has exactly the calibrated number of trees
    assert fit["boosters"]["churn"].num_trees() == rounds



def _fit_ltv(warehouse, **overrides):
    split = plan_split(mature_cutoffs(warehouse, "ltv"), 180, 12, 2)
    frame = load_frame(warehouse, list(split.train), "ltv", 365)
    config = LtvModelConfig(**{**FAST, **overrides})
    return frame, split, train_ltv(frame, feature_columns(frame), split, config)


def test_ltv_mean_is_a_correction_of_the_btyd_offset_at_training_and_serving(warehouse):
    """The tweedie trees start from log(BG/NBD x GG expected spend): the served mean
    is exp(trees + offset), so spend scales with the offset column beyond any leaf."""
    frame, _, fit = _fit_ltv(warehouse, offset_column="btyd_expected_value", offset_floor=1.0)
    assert fit["meta"]["offset"] == {"column": "btyd_expected_value", "floor": 1.0}
    mean, lo, hi = ltv_prediction(fit["boosters"], fit["meta"], frame)
    x = frame[fit["meta"]["features"]].to_numpy(float)
    trees = fit["boosters"]["mean"].predict(x, raw_score=True)
    base = np.maximum(np.nan_to_num(frame["btyd_expected_value"].to_numpy(float), nan=1.0), 1.0)
    np.testing.assert_allclose(mean, np.exp(trees) * base, rtol=1e-10)
    assert (lo <= mean).all() and (mean <= hi).all()
    # the trees were trained from the offset: on their own they are a correction factor
    # near 1, not a spend (spend here is in the tens to hundreds)
    assert np.median(np.abs(trees)) < np.median(np.log(base[base > 1.0]))
    # without the offset the model is a plain tweedie regression
    _, _, plain = _fit_ltv(warehouse, offset_column="")
    assert plain["meta"]["offset"] is None
    np.testing.assert_allclose(
        ltv_prediction(plain["boosters"], plain["meta"], frame)[0],
        plain["boosters"]["mean"].predict(x))


def test_ltv_conformal_margin_is_fitted_at_the_served_rounds_with_the_offset(warehouse):
    from ml_assets.models import boosting
    from ml_assets.models.ltv import mean_offset

    frame, split, fit = _fit_ltv(warehouse)
    config = LtvModelConfig(**FAST)
    rounds = fit["meta"]["rounds"]
    assert {n: b.num_trees() for n, b in fit["boosters"].items()} == rounds
    target = np.clip(frame["future_spend"].to_numpy(float), 0, None)
    alpha = (1 - config.interval_coverage) / 2
    folds = {
        name: boosting.forward_chaining(
            frame, target, feature_columns(frame), split, config,
            boosting.params(config, "quantile", "quantile", alpha=a))
        for name, a in (("lower", alpha), ("upper", 1 - alpha))
    }
    lower = np.concatenate([f.scores_at(rounds["lower"]) for f in folds["lower"]])
    upper = np.concatenate([f.scores_at(rounds["upper"]) for f in folds["upper"]])
    y = frame["future_spend"].to_numpy(float)[np.concatenate([f.valid_index for f in folds["lower"]])]
    assert fit["meta"]["conformal_margin"] == pytest.approx(
        conformal_margin(y, lower, upper, config.interval_coverage))
    # the mean's validation scores include the offset
    params = boosting.params(config, "tweedie", "tweedie",
                             tweedie_variance_power=config.tweedie_variance_power)
    offset = mean_offset(frame, config.offset_column, config.offset_floor)
    mean_folds = boosting.forward_chaining(frame, target, feature_columns(frame), split, config,
                                           params, offset)
    newest = mean_folds[-1]
    trees = newest.booster.predict(newest.valid_x, num_iteration=rounds["mean"], raw_score=True)
    np.testing.assert_allclose(newest.scores_at(rounds["mean"]), trees + offset[newest.valid_index])


def test_churn_blend_is_a_logistic_stack_fitted_on_the_folds_and_applied_when_served(warehouse):
    """With blend_btyd, the calibration is a logistic regression of the label on the fold
    models' scores (at the served rounds) and BG/NBD's log-odds, fitted on the validation
    rows only; serving applies the same three numbers to the served booster's score."""
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression

    from ml_assets.models import boosting
    from ml_assets.models.churn import btyd_logit

    split = plan_split(mature_cutoffs(warehouse, "churn"), 90, 12, 2)
    frame = load_frame(warehouse, list(split.train), "churn", 365)
    config = ChurnModelConfig(**FAST)
    assert config.blend_btyd  # the default
    fit = train_churn(frame, feature_columns(frame), split, config)
    target = frame["churned"].astype(float).to_numpy()
    folds = boosting.forward_chaining(frame, target, feature_columns(frame), split, config,
                                      boosting.params(config, "binary", "binary_logloss"))
    rows = np.concatenate([f.valid_index for f in folds])
    x = np.column_stack([np.concatenate([f.scores_at(fit["meta"]["rounds"]) for f in folds]),
                         btyd_logit(frame.iloc[rows])])
    expected = LogisticRegression(C=1e6, max_iter=1000).fit(x, target[rows].astype(int))
    c = fit["meta"]["calibration"]
    assert c["method"] == "platt_btyd" and c["c"] != 0
    assert [c["a"], c["c"], c["b"]] == pytest.approx(
        [*expected.coef_[0], expected.intercept_[0]], rel=1e-6)
    # serving: the stored numbers on the served booster's score and the row's BG/NBD value
    raw = fit["boosters"]["churn"].predict(frame[fit["meta"]["features"]].to_numpy(float),
                                           raw_score=True)
    np.testing.assert_allclose(churn_probability(fit["boosters"], fit["meta"], frame),
                               expit(c["a"] * raw + c["c"] * btyd_logit(frame) + c["b"]))
