"""Promotion statistics and policy on hand-made cases."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml_assets.lib.metrics import normalized_gini
from ml_assets.promotion.policy import (
    best,
    churn_policy,
    decide,
    decision_markdown,
    eligible,
    limit_failures,
    ltv_policy,
)
from ml_assets.promotion.stats import delong_test
from ml_assets.settings import Settings
from ml_assets_tests.reference_stats import paired_bootstrap


def _scores(rng, n, signal):
    y = rng.random(n) < 0.4
    return y.astype(float), y * signal + rng.normal(size=n)


def test_delong_aucs_match_sklearn_and_detect_a_real_gain():
    rng = np.random.default_rng(1)
    y, strong = _scores(rng, 3000, 1.5)
    weak = strong + rng.normal(scale=2.0, size=len(y))
    test = delong_test(y, strong, weak)
    assert test["candidate"] == pytest.approx(roc_auc_score(y, strong), abs=1e-12)
    assert test["reference"] == pytest.approx(roc_auc_score(y, weak), abs=1e-12)
    assert test["difference"] > 0.05 and test["p_value"] < 1e-6
    assert test["ci_low"] < test["difference"] < test["ci_high"]
    reverse = delong_test(y, weak, strong)
    assert reverse["p_value"] > 0.999


def test_delong_variance_matches_the_bootstrap():
    rng = np.random.default_rng(2)
    y, a = _scores(rng, 2000, 1.0)
    b = a + rng.normal(scale=1.0, size=len(y))
    test = delong_test(y, a, b)
    boot = paired_bootstrap(y, a, b, roc_auc_score, n_boot=400, seed=3)
    width_delong = test["ci_high"] - test["ci_low"]
    width_boot = boot["ci_high"] - boot["ci_low"]
    assert width_boot == pytest.approx(width_delong, rel=0.2)


def test_delong_identical_models_are_not_significant():
    rng = np.random.default_rng(4)
    y, a = _scores(rng, 500, 1.0)
    test = delong_test(y, a, a.copy())
    assert test["difference"] == 0 and test["p_value"] == 1.0


def test_paired_bootstrap_gini_sees_no_gain_from_noise():
    rng = np.random.default_rng(5)
    y = rng.gamma(1.0, 100.0, 2000) * (rng.random(2000) < 0.5)
    pred = y + rng.normal(scale=50, size=len(y))
    same = paired_bootstrap(y, pred, pred + rng.normal(scale=1e-6, size=len(y)), normalized_gini,
                            n_boot=200, seed=0)
    assert same["p_value"] > 0.05
    better = paired_bootstrap(y, pred, rng.permutation(pred), normalized_gini, n_boot=200, seed=0)
    assert better["p_value"] < 0.01 and better["ci_low"] > 0


CHURN = {"roc_auc": 0.80, "brier": 0.15, "ece": 0.02}


def _test(diff, p, cand=0.80, ref=0.79):
    return {"method": "delong", "difference": diff, "ci_low": diff - 0.01, "ci_high": diff + 0.01,
            "p_value": p, "candidate": cand, "reference": ref}


def test_a_significantly_better_candidate_within_guardrails_is_promoted():
    policy = churn_policy(Settings())
    decision = decide(CHURN, {"roc_auc": 0.79, "brier": 0.151, "ece": 0.021}, {}, _test(0.01, 0.001),
                      policy, checks_passed=True, n_holdout=5000)
    assert decision["promote"]
    assert all(t["passed"] for t in decision["tests"])
    shown = decision_markdown(decision, "churn_model v2", "churn_model v1")
    assert "PROMOTED" in shown
    # counts read as counts, metrics to four significant digits
    assert "| holdout size | 5,000 | >= 500 | pass |" in shown
    assert "| limit: ece | 0.02 | <= 0.05 | pass |" in shown


@pytest.mark.parametrize(
    "reference, test, checks, n, failing",
    [
        ({"roc_auc": 0.799, "brier": 0.15, "ece": 0.02}, _test(0.001, 0.2), True, 5000,
         {"roc_auc gain over the champion", "roc_auc gain is significant"}),
        ({"roc_auc": 0.79, "brier": 0.14, "ece": 0.02}, _test(0.01, 0.001), True, 5000,
         {"guardrail: brier regression"}),
        ({"roc_auc": 0.79, "brier": 0.15, "ece": 0.02}, _test(0.01, 0.001), False, 5000,
         {"upstream checks"}),
        ({"roc_auc": 0.79, "brier": 0.15, "ece": 0.02}, _test(0.01, 0.001), True, 100,
         {"holdout size"}),
    ],
)
def test_each_failed_test_blocks_promotion_and_is_named(reference, test, checks, n, failing):
    decision = decide(CHURN, reference, {}, test, churn_policy(Settings()), checks, n)
    assert not decision["promote"]
    assert {t["name"] for t in decision["tests"] if not t["passed"]} == failing
    assert any("not promoted" in r for r in decision["reasons"])


def test_without_a_champion_the_candidate_must_beat_the_best_eligible_baseline():
    # the caller hands only the baselines that pass the limits; the test is against the best
    baselines = {"bg_nbd": {"roc_auc": 0.81, "ece": 0.03}}
    decision = decide(CHURN, None, baselines, _test(-0.01, 0.9, 0.80, 0.81),
                      churn_policy(Settings()), True, 5000)
    assert not decision["promote"]
    failed = {t["name"] for t in decision["tests"] if not t["passed"]}
    assert failed == {"roc_auc gain over the best eligible baseline", "roc_auc gain is significant"}
    # guardrails compare with a champion only; absolute limits always apply
    assert not any(t["name"].startswith("guardrail") for t in decision["tests"])
    assert any(t["name"] == "limit: ece" for t in decision["tests"])


def test_ltv_guardrails_use_absolute_total_error_and_relative_rmse():
    policy = ltv_policy(Settings())
    cand = {"normalized_gini": 0.6, "rmse": 101.0, "total_error_pct": -9.0, "coverage": 0.8}
    champ = {"normalized_gini": 0.5, "rmse": 100.0, "total_error_pct": 2.0, "coverage": 0.8}
    test = _test(0.1, 0.001, 0.6, 0.5)
    decision = decide(cand, champ, {}, test, policy, True, 5000)
    failed = {t["name"] for t in decision["tests"] if not t["passed"]}
    # |total error| went from 2 to 9 points (> 5 allowed); RMSE +1% (< 2% allowed)
    assert failed == {"guardrail: |total_error_pct| regression"}


def test_a_nan_metric_never_passes():
    cand = {**CHURN, "ece": float("nan")}
    decision = decide(cand, None, {"rule": {"roc_auc": 0.5}}, _test(0.3, 0.0, 0.8, 0.5),
                      churn_policy(Settings()), True, 5000)
    assert not decision["promote"]
    assert {t["name"] for t in decision["tests"] if not t["passed"]} == {"limit: ece"}


def test_with_no_eligible_baseline_a_first_candidate_needs_only_the_gates_and_limits():
    decision = decide(CHURN, None, {}, {}, churn_policy(Settings()), True, 5000)
    assert decision["promote"]
    assert not any(t["name"].startswith("roc_auc") for t in decision["tests"])
    failing = decide({**CHURN, "ece": 0.2}, None, {}, {}, churn_policy(Settings()), True, 5000)
    assert not failing["promote"]


def test_eligibility_best_and_limit_failures_name_the_setting():
    policy = ltv_policy(Settings())
    models = {
        "ltv_model v1": {"normalized_gini": 0.8, "total_error_pct": 40.0, "coverage": 0.8},
        "rfm_rule v1": {"normalized_gini": 0.7, "total_error_pct": -5.0, "coverage": 0.5},
        "last_year v1": {"normalized_gini": 0.6, "total_error_pct": 10.0, "coverage": 0.7},
        "bg_nbd_gamma_gamma v1": {"normalized_gini": 0.65, "total_error_pct": -20.0, "coverage": 0.9},
    }
    passing = eligible(policy, models)
    assert set(passing) == {"last_year v1", "bg_nbd_gamma_gamma v1"}
    assert best(policy, passing) == "bg_nbd_gamma_gamma v1"
    assert best(policy, {}) is None
    lines = limit_failures(policy, models)
    assert any(line.startswith("ltv_model v1") and "ML_ASSETS_LTV_MAX_TOTAL_ERROR" in line
               for line in lines)
    assert any(line.startswith("rfm_rule v1") and "ML_ASSETS_LTV_MIN_COVERAGE" in line
               for line in lines)
    assert not any(line.startswith("last_year") for line in lines)


def test_a_first_model_needs_a_significant_gain_over_baselines_not_the_minimum_effect():
    baselines = {"rule": {"roc_auc": 0.70}, "bg_nbd": {"roc_auc": 0.799}}
    small = decide(CHURN, None, baselines, _test(0.001, 0.01, 0.80, 0.799),
                   churn_policy(Settings(churn_min_auc_gain=0.01)), True, 5000)
    assert small["promote"]
    noise = decide(CHURN, None, baselines, _test(0.001, 0.2, 0.80, 0.799),
                   churn_policy(Settings(churn_min_auc_gain=0.01)), True, 5000)
    assert not noise["promote"]
    assert {t["name"] for t in noise["tests"] if not t["passed"]} == {"roc_auc gain is significant"}
    # replacing a champion does need the minimum effect
    champion = {"roc_auc": 0.799, "brier": 0.15, "ece": 0.02}
    replace = decide(CHURN, champion, {}, _test(0.001, 0.01, 0.80, 0.799),
                     churn_policy(Settings(churn_min_auc_gain=0.01)), True, 5000)
    assert {t["name"] for t in replace["tests"] if not t["passed"]} == {"roc_auc gain over the champion"}


def test_linear_gini_bootstrap_equals_the_generic_one_ties_included():
    from ml_assets.promotion.stats import paired_bootstrap_gini

    rng = np.random.default_rng(9)
    n = 400
    y = np.round(rng.gamma(0.7, 80, n) * (rng.random(n) < 0.6), 0)  # zeros and tied values
    cand = y + rng.normal(scale=40, size=n)
    ref = np.round(cand / 50)  # a coarse grid rule: many ties
    fast = paired_bootstrap_gini(y, cand, ref, n_boot=150, seed=4)
    slow = paired_bootstrap(y, cand, ref, normalized_gini, n_boot=150, seed=4)
    for key in ("difference", "ci_low", "ci_high", "p_value", "candidate", "reference"):
        assert fast[key] == pytest.approx(slow[key], abs=1e-12), key
