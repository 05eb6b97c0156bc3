"""The whole chain in process on a small generated log: ingest -> snapshots ->
models -> evaluations -> promotion -> scores, then a worse retrain that must
not replace the champion."""

import json
import shutil

import dagster as dg
import duckdb
import pytest

from ml_assets import registry
from ml_assets.definitions import defs
from ml_assets.ingest.sample_data import write_sample
from ml_assets.settings import Settings
from ml_assets.warehouse import warehouse_resource
from ml_assets_tests.conftest import settings_in

RANGE = {"dagster/asset_partition_range_start": "2022-01-01",
         "dagster/asset_partition_range_end": "2025-01-01"}
FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 300, "learning_rate": 0.1,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
WORSE = {**FAST, "max_rounds": 1, "num_leaves": 2, "feature_fraction": 0.1}
# a policy any candidate passes, so the first run promotes deterministically
LAX = dict(promotion_min_holdout=100, churn_min_auc_gain=-1.0, ltv_min_gini_gain=-1.0,
           promotion_alpha=1.01, churn_max_ece=1.0, ltv_max_total_error=1e9, ltv_min_coverage=0.0)


def _run(instance, settings, selection, training=FAST, tags=None, raise_on_error=True):
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=selection,
        instance=instance,
        resources={"settings": settings, "warehouse": warehouse_resource(settings.warehouse)},
        run_config={"ops": {"churn_model": {"config": training}, "ltv_model": {"config": training}}}
        if training else None,
        tags=tags,
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    write_sample(folder / "tx.csv", n_customers=1500, seed=3)
    settings = settings_in(folder, transactions=str(folder / "tx.csv"), **LAX)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(instance, settings, "*", tags=RANGE, raise_on_error=False)
        yield instance, settings, result


def _ensure_champions(settings):
    """An operator's decision where the policy kept a model out: champion = v1."""
    with duckdb.connect(settings.warehouse) as conn:
        for model in ("churn_model", "ltv_model"):
            if registry.resolve_alias(conn, model, "champion") is None:
                registry.set_alias(conn, model, "champion", 1, reason="test setup", moved_by="test")


def _changed(settings: Settings, **changes) -> Settings:
    """A new resource (model_copy would keep the old config inside Dagster)."""
    return Settings(**{**settings.model_dump(), **changes})


def _query(settings, sql, params=None):
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def test_first_decisions_follow_the_policy_and_move_only_passed_champions(chain):
    _, settings, _ = chain
    decisions = _query(settings, "SELECT task, candidate_version, champion_version, promoted, "
                                 "reasons, tests FROM promotion_decisions ORDER BY task")
    assert [d[:3] for d in decisions] == [("churn", 1, None), ("ltv", 1, None)]
    for task, _, _, promoted, reasons, tests in decisions:
        tests = json.loads(tests)
        assert promoted == all(t["passed"] for t in tests)
        assert {"holdout size", "upstream checks"} <= {t["name"] for t in tests}
        # with no champion, the candidate is measured against every baseline
        assert any(t["name"].endswith("beats every baseline") for t in tests)
        assert ("tests passed: promoting" in reasons) == promoted
        champion = _query(settings, "SELECT version FROM model_aliases WHERE model_name = ? AND "
                                    "alias = 'champion'", [f"{task}_model"])
        assert champion == ([(1,)] if promoted else [])
    # the LTV candidate beats its baselines by a wide margin on this log
    assert decisions[1][3] is True


def test_scoring_refuses_without_a_champion(chain, tmp_path):
    _, settings, _ = chain
    copy = _changed(settings, warehouse=str(tmp_path / "copy.duckdb"))
    shutil.copy(settings.warehouse, copy.warehouse)
    with duckdb.connect(copy.warehouse) as conn:
        conn.execute("DELETE FROM model_aliases WHERE alias = 'champion'")
    with dg.DagsterInstance.ephemeral() as instance:
        with pytest.raises(dg.Failure, match="no champion yet"):
            _run(instance, copy, "customer_scores", training=None)


def test_scores_cover_every_active_customer_with_the_champions(chain):
    instance, settings, _ = chain
    _ensure_champions(settings)
    _run(instance, settings, "customer_scores", training=None)
    (active,) = _query(settings, "SELECT count(*) FROM customer_features WHERE cutoff_date = "
                                 "'2025-01-01' AND recency_days <= ?", [settings.active_days])[0]
    scores = _query(settings, "SELECT count(*), count(DISTINCT customer_id), min(churn_probability),"
                              " max(churn_probability), min(ltv_lower <= predicted_ltv AND "
                              "predicted_ltv <= ltv_upper), max(churn_model_version), "
                              "max(ltv_model_version), count(reason_3) FROM customer_scores")[0]
    assert scores[0] == scores[1] == active > 200
    assert 0 <= scores[2] < scores[3] <= 1 and scores[4] is True
    assert scores[5:7] == (1, 1) and scores[7] == active


def test_holdout_predictions_cover_every_model_on_one_cutoff(chain):
    _, settings, _ = chain
    rows = _query(settings, "SELECT task, model_name, count(*), count(DISTINCT cutoff_date) "
                            "FROM holdout_predictions GROUP BY ALL ORDER BY ALL")
    names = {(task, name) for task, name, _, _ in rows}
    assert names == {("churn", "churn_model"), ("churn", "recency_frequency_rule"),
                     ("churn", "bg_nbd"), ("ltv", "ltv_model"), ("ltv", "rfm_rule"),
                     ("ltv", "last_year"), ("ltv", "bg_nbd_gamma_gamma")}
    per_task = {}
    for task, _, n, cutoffs in rows:
        assert cutoffs == 1
        per_task.setdefault(task, set()).add(n)
    assert all(len(sizes) == 1 for sizes in per_task.values())  # same customers for every model
    # the holdout cutoff is never among the candidate's training cutoffs
    for (cutoffs, holdout) in _query(settings, "SELECT training_cutoffs, holdout_cutoff "
                                               "FROM model_versions"):
        assert str(holdout) not in json.loads(cutoffs)


def test_a_worse_candidate_is_rejected_and_scoring_keeps_the_champion(chain):
    instance, lax, _ = chain
    _ensure_champions(lax)
    strict = _changed(lax, churn_min_auc_gain=0.002, ltv_min_gini_gain=0.005, promotion_alpha=0.05)
    retrain = dg.AssetSelection.assets("churn_model", "ltv_model").downstream()
    result = _run(instance, strict, retrain, training=WORSE)
    assert result.success
    decisions = _query(strict, "SELECT task, candidate_version, champion_version, promoted, reasons "
                               "FROM promotion_decisions WHERE candidate_version = 2 ORDER BY task")
    assert [d[:4] for d in decisions] == [("churn", 2, 1, False), ("ltv", 2, 1, False)]
    assert "roc_auc gain over the champion" in decisions[0][4]
    assert "champion stays" in decisions[1][4]
    aliases = dict(((m, a), v) for m, a, v in _query(
        strict, "SELECT model_name, alias, version FROM model_aliases"))
    assert aliases[("churn_model", "champion")] == 1 and aliases[("churn_model", "challenger")] == 2
    assert aliases[("ltv_model", "champion")] == 1
    versions = _query(strict, "SELECT DISTINCT churn_model_version, ltv_model_version "
                              "FROM customer_scores")
    assert versions == [(1, 1)]


def test_a_better_candidate_replaces_a_weak_champion_with_its_reasons(chain):
    instance, lax, _ = chain
    strict = _changed(lax, churn_min_auc_gain=0.002, ltv_min_gini_gain=0.005, promotion_alpha=0.05)
    retrain = dg.AssetSelection.assets("churn_model", "ltv_model").downstream()
    _run(instance, strict, retrain, training=WORSE)
    (weak,) = _query(strict, "SELECT max(version) FROM model_versions WHERE model_name = 'churn_model'")[0]
    with duckdb.connect(strict.warehouse) as conn:  # say a weak model became champion
        registry.set_alias(conn, "churn_model", "champion", weak, reason="test setup", moved_by="test")
    _run(instance, strict, retrain, training=FAST)
    better = weak + 1
    decision = _query(strict, "SELECT champion_version, promoted, reasons, tests FROM "
                              "promotion_decisions WHERE task = 'churn' AND candidate_version = ?",
                      [better])[0]
    assert decision[:2] == (weak, True)
    assert "tests passed: promoting" in decision[2]
    gain = next(t for t in json.loads(decision[3]) if t["name"].startswith("roc_auc gain over"))
    assert gain["value"] > 0.05 and gain["passed"]
    moves = _query(strict, "SELECT from_version, to_version, moved_by, reason FROM alias_history "
                           "WHERE model_name = 'churn_model' AND alias = 'champion' "
                           "ORDER BY moved_at DESC LIMIT 1")
    assert moves[0][:2] == (weak, better) and moves[0][2].startswith("promotion:")
    assert "tests passed" in moves[0][3]
    # the weak champion is kept for rollback, whatever retention archives
    (status,) = _query(strict, "SELECT status FROM model_versions WHERE model_name = 'churn_model' "
                               "AND version = ?", [weak])[0]
    assert status == "active"
    (used,) = _query(strict, "SELECT DISTINCT churn_model_version FROM customer_scores "
                             "WHERE cutoff_date = '2025-01-01'")
    assert used == (better,)
