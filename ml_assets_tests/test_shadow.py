"""Evidence between retrains, as pure functions: champion vs shadow with a
paired test on the same customers, the performance estimate from calibrated
probabilities against realized outcomes, and shadow membership in the registry."""

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml_assets import registry
from ml_assets.lib.metrics import expected_calibration_error
from ml_assets.monitoring.comparison import compare_pair, shadow_comparison
from ml_assets.monitoring.estimate import estimated_auc, performance_estimate, simulated_metrics
from ml_assets.promotion.stats import delong_test, paired_bootstrap_gini


def _outcomes(n=2000, seed=0):
    """Served shadow_scores rows at two cutoffs: a noisy churn champion, a sharper
    churn shadow, an LTV shadow; the second cutoff's labels are not mature."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    churned = (rng.random(n) < 1 / (1 + np.exp(-2 * risk))).astype(float)
    spend = rng.gamma(2.0, 50.0, n) * (1 - churned)
    ids = [f"C{i:05d}" for i in range(n)]
    sharp = 1 / (1 + np.exp(-2 * risk))
    noisy = 1 / (1 + np.exp(-(risk + rng.normal(scale=2.0, size=n))))
    base = {"customer_id": ids, "ltv_lower": 0.0, "ltv_upper": 400.0,
            "churn_model_name": "churn_model", "churn_model_version": 1,
            "ltv_model_name": "ltv_model", "ltv_model_version": 1,
            "churn_label_mature": True, "churned": churned, "ltv_label_mature": True,
            "future_spend": spend}
    champion = pd.DataFrame({**base, "role": "champion", "shadow_task": None,
                             "churn_probability": noisy, "predicted_ltv": spend.mean()})
    churn_shadow = champion.assign(role="shadow", shadow_task="churn", churn_probability=sharp,
                                   churn_model_name="plain_lightgbm_churn", churn_model_version=3)
    ltv_shadow = champion.assign(role="shadow", shadow_task="ltv", ltv_model_version=2,
                                 predicted_ltv=spend * 0.9 + 5.0)
    mature = pd.concat([champion, churn_shadow, ltv_shadow]).assign(cutoff_date=date(2024, 1, 1))
    pending = mature.assign(cutoff_date=date(2024, 6, 1), churn_label_mature=False,
                            ltv_label_mature=False, churned=np.nan, future_spend=np.nan)
    return pd.concat([mature, pending], ignore_index=True)


def test_shadow_comparison_pairs_each_shadow_with_the_champion_on_matured_cutoffs():
    outcomes = _outcomes()
    rows = shadow_comparison(outcomes, alpha=0.05, n_boot=200)
    # the unmatured cutoff is not compared; one row per task's shadow version
    assert list(rows["cutoff_date"]) == [date(2024, 1, 1)] * 2
    churn = rows[rows["task"] == "churn"].iloc[0]
    ltv = rows[rows["task"] == "ltv"].iloc[0]
    assert (churn["champion_model"], churn["champion_version"]) == ("churn_model", 1)
    assert (churn["shadow_model"], churn["shadow_version"]) == ("plain_lightgbm_churn", 3)
    assert (ltv["shadow_model"], ltv["shadow_version"]) == ("ltv_model", 2)
    first = outcomes[(outcomes["cutoff_date"] == date(2024, 1, 1))]
    champ = first[first["role"] == "champion"]
    shadow = first[first["shadow_task"] == "churn"]
    y = champ["churned"].to_numpy()
    assert churn["champion_roc_auc"] == pytest.approx(roc_auc_score(y, champ["churn_probability"]))
    assert churn["shadow_roc_auc"] == pytest.approx(roc_auc_score(y, shadow["churn_probability"]))
    expected = delong_test(y, shadow["churn_probability"], champ["churn_probability"])
    assert churn["difference"] == pytest.approx(expected["difference"])
    assert churn["p_value"] == pytest.approx(expected["p_value"])
    assert churn["difference"] > 0.1 and churn["shadow_wins"]
    assert churn["shadow_ece"] == pytest.approx(
        expected_calibration_error(y, shadow["churn_probability"]))
    # LTV: the paired bootstrap of normalized Gini, same customers, same seed
    boot = paired_bootstrap_gini(champ["future_spend"], first[first["shadow_task"] == "ltv"][
        "predicted_ltv"], champ["predicted_ltv"], n_boot=200, seed=0)
    assert ltv["method"] == boot["method"] and ltv["p_value"] == pytest.approx(boot["p_value"])
    assert ltv["shadow_wins"] and ltv["champion_normalized_gini"] == pytest.approx(0.0)
    spend = champ["future_spend"]
    assert ltv["shadow_coverage"] == pytest.approx(np.mean((spend >= 0) & (spend <= 400)))
    assert ltv["shadow_rmse"] == pytest.approx(np.sqrt(np.mean((spend * 0.1 - 5.0) ** 2)))


def test_a_worse_shadow_does_not_win_and_customers_are_paired_by_id():
    outcomes = _outcomes(seed=1)
    first = outcomes[outcomes["cutoff_date"] == date(2024, 1, 1)]
    champ = first[first["role"] == "champion"][["customer_id", "churn_probability", "churned",
                                                 "churn_model_name", "churn_model_version"]]
    shadow = first[first["shadow_task"] == "churn"][champ.columns]
    # the champion is the sharper model here: the shadow loses
    swapped = compare_pair(date(2024, 1, 1), "churn", shadow, champ, alpha=0.05, n_boot=10)
    assert swapped["difference"] < 0 and not swapped["shadow_wins"]
    # row order does not matter, only customer ids
    shuffled = compare_pair(date(2024, 1, 1), "churn", champ, shadow.sample(frac=1, random_state=0),
                            alpha=0.05, n_boot=10)
    straight = compare_pair(date(2024, 1, 1), "churn", champ, shadow, alpha=0.05, n_boot=10)
    assert shuffled["difference"] == pytest.approx(straight["difference"])
    # only customers both scored are compared
    partial = compare_pair(date(2024, 1, 1), "churn", champ, shadow.iloc[:500], 0.05, 10)
    assert partial["customers"] == 500


def test_estimated_auc_is_the_expected_roc_area_of_calibrated_probabilities():
    # CBPE's area under the expected ROC curve: expected true and false positives at
    # every threshold. Two customers, p = 0.9 and 0.1: the curve runs through
    # (0.1, 0.9), area (0.9 * 0.9 + (0.9 * 0.1 + 0.1 * 0.9) / 2) / (1.0 * 1.0) = 0.9
    p = np.array([0.9, 0.1])
    assert estimated_auc(p) == pytest.approx(0.9)
    # in general: sum over pairs of p_i (1 - p_j) for s_i > s_j, ties (and i = j) counting
    # half, over sum p * sum (1 - p)
    q = np.round(np.random.default_rng(2).random(60), 1)
    above = (q[:, None] > q[None, :]) + 0.5 * (q[:, None] == q[None, :])
    pairwise = (q[:, None] * (1 - q[None, :]) * above).sum() / (q.sum() * (1 - q).sum())
    assert estimated_auc(q) == pytest.approx(pairwise)
    assert np.isnan(estimated_auc(np.zeros(5)))
    with pytest.raises(ValueError, match="probabilities"):
        estimated_auc(np.array([0.2, 1.4]))
    # the simulated draws compute exactly the realized metrics of each draw
    q = np.round(np.random.default_rng(3).random(400), 2)  # ties included
    aucs, eces = simulated_metrics(q, 1, seed=9)
    y = (np.random.default_rng(9).random((1, 400)) < q).astype(float)[0]
    assert aucs[0] == pytest.approx(roc_auc_score(y, q))
    assert eces[0] == pytest.approx(expected_calibration_error(y, q))


def test_realized_auc_falls_inside_the_estimates_95_interval_on_known_outcomes():
    """Generated customers whose churn probabilities are known (so a calibrated
    model's scores): the estimate never reads the outcomes, and the realized
    ROC-AUC lands inside its 95% interval in at least 8 of 10 seeds; a
    miscalibrated model (scores pushed towards 0.5) is caught by its ECE."""
    inside, ece_inside, errors = 0, 0, []
    for seed in range(10):
        p = np.random.default_rng([seed, 1]).beta(1.2, 2.5, 3000)
        y = (np.random.default_rng([seed, 2]).random(3000) < p).astype(float)
        estimate = performance_estimate(p, simulations=300, seed=seed)
        realized = roc_auc_score(y, p)
        errors.append(realized - estimate["estimated_roc_auc"])
        inside += estimate["estimated_roc_auc_low"] <= realized <= estimate["estimated_roc_auc_high"]
        ece = expected_calibration_error(y, p)
        ece_inside += estimate["estimated_ece_low"] <= ece <= estimate["estimated_ece_high"]
        assert estimate["estimated_roc_auc_high"] - estimate["estimated_roc_auc_low"] < 0.06
    assert inside >= 8 and ece_inside >= 8
    assert abs(np.mean(errors)) < 0.01
    p = np.random.default_rng(5).beta(1.2, 2.5, 3000)
    y = (np.random.default_rng(6).random(3000) < p).astype(float)
    flattened = 0.5 + 0.3 * (p - 0.5)  # same ranking, wrong probabilities
    estimate = performance_estimate(flattened, simulations=300)
    assert expected_calibration_error(y, flattened) > estimate["estimated_ece_high"]


def test_shadow_membership_keeps_at_most_n_per_task_and_survives_retention(tmp_path):
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    registry.ensure_tables(conn)
    conn.execute("INSERT INTO model_versions (model_name, version, task, family, created_at, "
                 "artifact_path, sha256, status) SELECT 'churn_model', v, 'churn', 'lightgbm', "
                 "now(), '/x', 'h', 'active' FROM range(1, 5) t(v)")
    for version in (1, 2):
        assert registry.enter_shadow(conn, "churn", "churn_model", version, reason="lost",
                                     decision_id=f"d{version}", max_versions=2) == []
    # entering again is a no-op; a third retires the oldest
    assert registry.enter_shadow(conn, "churn", "churn_model", 2, reason="lost",
                                 decision_id="d2b", max_versions=2) == []
    assert registry.enter_shadow(conn, "churn", "churn_model", 3, reason="lost",
                                 decision_id="d3", max_versions=2) == [("churn_model", 1)]
    now = registry.shadow_versions(conn, "churn")
    assert list(now["version"]) == [2, 3] and registry.shadow_versions(conn, "ltv").empty
    registry.leave_shadow(conn, "churn", "churn_model", 2, status="promoted", reason="evidence")
    states = conn.execute("SELECT version, status FROM shadow_versions ORDER BY version").fetchall()
    assert states == [(1, "retired"), (2, "promoted"), (3, "shadow")]
    # retention keeps the version in shadow even beyond the newest kept
    doomed = conn.execute(
        open(registry.registry.__file__.replace("registry.py", "sql/retention_candidates.sql"))
        .read(), {"model_name": "churn_model", "keep": 1}).fetchall()
    assert sorted(v for v, _ in doomed) == [1, 2]
    with pytest.raises(ValueError, match="Unknown task"):
        registry.shadow_versions(conn, "clv")
