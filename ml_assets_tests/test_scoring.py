"""Reasons in words and the risk / value levels of customer_scores."""

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.scoring.frame import RISK_LEVELS, levels as _levels
from ml_assets.scoring.reasons import (
    path_contributions,
    rfm_reasons,
    rfm_reference,
    top_reasons,
)


def _booster(frame, features, y):
    params = {"objective": "binary", "verbosity": -1, "seed": 0, "deterministic": True,
              "num_threads": 1, "min_child_samples": 5}
    return lgb.train(params, lgb.Dataset(frame[features].to_numpy(float), label=y,
                                         feature_name=features), num_boost_round=30)


def test_reasons_name_the_features_that_raised_the_score_and_skip_context():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({
        "recency_days": rng.uniform(0, 400, n),
        "orders_total": rng.integers(1, 30, n).astype(float),
        "cutoff_month": rng.integers(1, 13, n).astype(float),
    })
    # churn driven by recency, and by the month (a context everyone at a cutoff shares)
    logit = (frame.recency_days - 200) / 40 + (frame.cutoff_month - 6.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    features = list(frame.columns)
    booster = _booster(frame, features, y)
    silent = pd.DataFrame({"recency_days": [390.0], "orders_total": [3.0], "cutoff_month": [12.0]})
    reasons = top_reasons(booster, silent, features)[0]
    assert reasons[0] == "No purchase for 390 days"
    assert not any("month" in r for r in reasons)
    fresh = pd.DataFrame({"recency_days": [2.0], "orders_total": [25.0], "cutoff_month": [1.0]})
    # nothing raised a recent, frequent buyer's risk: no made-up reasons
    assert all("No purchase" not in r for r in top_reasons(booster, fresh, features)[0])


def test_risk_levels_follow_the_documented_cut_points():
    p = np.array([0.0, 0.29, 0.3, 0.49, 0.5, 0.69, 0.7, 1.0])
    assert list(_levels(p, [0.3, 0.5, 0.7], RISK_LEVELS)) == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]


def test_rfm_reasons_name_the_risky_side_of_recency_frequency_and_value():
    frame = pd.DataFrame({
        "recency_days": [300.0, 10.0, 20.0, 30.0, 200.0],
        "orders_total": [1.0, 20.0, 15.0, 10.0, 12.0],
        "avg_order_value": [5.0, 80.0, 70.0, 60.0, 90.0],
    })
    reasons = rfm_reasons(frame, rfm_reference(frame))
    # long silent, one order, smallest orders: all three, the most extreme first
    assert set(reasons[0]) == {"No purchase for 300 days", "1 orders in total",
                               "Average order of 5.00"}
    # a recent, frequent, big spender sits on the safe side of every median: no reasons
    assert reasons[1] == []
    # silent for long but frequent and big: only recency is a reason
    assert reasons[4] == ["No purchase for 200 days"]
    # ranked against the population, not the rows at hand: one customer alone
    # (a batch, or a single score on demand) gets the reasons it gets among all
    for i in range(len(frame)):
        assert rfm_reasons(frame.iloc[[i]], rfm_reference(frame)) == [reasons[i]]


def test_path_contributions_add_up_to_the_raw_score_and_mostly_agree_with_treeshap():
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(6)})
    frame.loc[rng.random(n) < 0.1, "f2"] = np.nan  # missing values take the default branch
    logit = 1.5 * frame.f0 - frame.f1 + 0.5 * frame.f2.fillna(0) * frame.f3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    features = list(frame.columns)
    booster = _booster(frame, features, y)
    x = frame[features].to_numpy(float)
    path = path_contributions(booster, x)
    shap = booster.predict(x, pred_contrib=True)
    # local accuracy: contributions plus the trees' root values (one constant for
    # every row) are the raw score
    bias = booster.predict(x, raw_score=True) - path.sum(axis=1)
    assert np.ptp(bias) < 1e-9
    # the features that drive the score are the ones credited most, as with TreeSHAP
    assert np.mean(path.argmax(axis=1) == shap[:, :-1].argmax(axis=1)) > 0.8
    # the same rows alone or among others: the same contributions
    np.testing.assert_array_equal(path_contributions(booster, x[17:18]), path[17:18])


def test_segments_follow_the_documented_rules_and_the_summary_adds_up():
    from ml_assets.scoring.segments import segment_summary, segments
    from ml_assets.settings import Settings

    scores = pd.DataFrame({
        "cutoff_date": ["2025-01-01"] * 6,
        "customer_id": list("abcdef"),
        "churn_probability": [0.9, 0.6, 0.6, 0.2, 0.1, 0.49],
        "value_segment": ["top", "high", "medium", "top", "low", "high"],
        "predicted_ltv": [100.0, 50.0, 10.0, 80.0, 5.0, 40.0],
    })
    tenure = [30.0, 400.0, 400.0, 400.0, 89.9, 90.0]
    got = segments(scores, tenure, Settings())
    # new beats risk and value; at risk from 0.5; high value from the "high" segment
    assert list(got) == ["new", "at-risk high value", "at-risk low value", "loyal high value",
                         "new", "loyal high value"]
    strict = segments(scores, tenure, Settings(segment_new_days=0, segment_high_value="top",
                                               segment_at_risk_probability=0.8))
    assert list(strict) == ["at-risk high value", "steady low value", "steady low value",
                            "loyal high value", "steady low value", "steady low value"]
    summary = segment_summary(scores.assign(segment=got)).set_index("segment")
    assert list(summary.index) == ["new", "at-risk high value", "at-risk low value",
                                   "loyal high value"]
    assert summary.loc["new", "customers"] == 2 and summary["share"].sum() == 1.0
    assert summary.loc["new", "value_at_risk"] == 100.0 * 0.9 + 5.0 * 0.1
    assert summary.loc["loyal high value", "predicted_ltv"] == 120.0
