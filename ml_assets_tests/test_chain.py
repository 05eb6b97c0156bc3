"""The whole chain in process on a small generated log: ingest -> snapshots ->
models and baselines -> evaluations -> promotion -> scores; then the per-task
champion rules: a baseline serves when no candidate passes, a learned
candidate replaces a baseline champion, a failure names every failing limit,
and promotion refuses a decision whose champion moved since its evaluation."""

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.definitions import defs
from ml_assets.ingest.sample_data import write_sample
from ml_assets.settings import Settings
from ml_assets_tests.conftest import executable, resources_for, settings_in

RANGE = {"dagster/asset_partition_range_start": "2022-01-01",
         "dagster/asset_partition_range_end": "2025-01-01"}
NEWEST = "2025-01-01"
FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 300, "learning_rate": 0.1,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
WORSE = {**FAST, "max_rounds": 1, "num_leaves": 2, "feature_fraction": 0.1}
# a policy any candidate passes, so the first run promotes deterministically
LAX = dict(promotion_min_holdout=100, churn_min_auc_gain=-1.0, ltv_min_gini_gain=-1.0,
           promotion_alpha=1.01, churn_max_ece=1.0, ltv_max_total_error=1e9, ltv_min_coverage=0.0)
STRICT = dict(churn_min_auc_gain=0.002, ltv_min_gini_gain=0.005, promotion_alpha=0.05)
# what scoring_job runs: scores, shadow scores, monitoring, promotion on shadow evidence
SERVED = dg.AssetSelection.assets("customer_scores", "shadow_scores", "shadow_promotion") \
    | dg.AssetSelection.groups("monitoring")
TRAIN = dg.AssetSelection.all() - SERVED
RETRAIN = dg.AssetSelection.assets("churn_model", "ltv_model").downstream() - SERVED


def _run(instance, settings, selection, training=FAST, tags=None, raise_on_error=True,
         partition_key=None, models=("churn_model", "ltv_model")):
    return dg.materialize(
        executable(defs),
        selection=selection,
        instance=instance,
        resources=resources_for(settings),
        run_config={"ops": {m: {"config": training} for m in models}} if training else None,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
    )


def _score(instance, settings, cutoff=NEWEST, **kwargs):
    return _run(instance, settings, "customer_scores", training=None, partition_key=cutoff, **kwargs)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    write_sample(folder / "tx.csv", n_customers=1500, seed=3)
    settings = settings_in(folder, transactions=str(folder / "tx.csv"), **LAX)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(instance, settings, TRAIN, tags=RANGE)
        _score(instance, settings)
        yield instance, settings, result


def _changed(settings: Settings, **changes) -> Settings:
    """A new resource (model_copy would keep the old config inside Dagster)."""
    return Settings(**{**settings.model_dump(), **changes})


def _copy(settings, tmp_path, **changes) -> Settings:
    """The chain's warehouse and models copied, with no champion yet."""
    copy = _changed(settings, warehouse=str(tmp_path / "wh.duckdb"),
                    model_dir=str(tmp_path / "models"), **changes)
    shutil.copy(settings.warehouse, copy.warehouse)
    shutil.copytree(settings.model_dir, copy.model_dir)
    with duckdb.connect(copy.warehouse) as conn:
        conn.execute("UPDATE model_versions SET artifact_path = replace(artifact_path, ?, ?)",
                     [str(registry.artifacts.model_home(settings.model_dir, "x").parent),
                      str(registry.artifacts.model_home(copy.model_dir, "x").parent)])
        conn.execute("DELETE FROM model_aliases WHERE alias = 'champion'")
    return copy


def _query(settings, sql, params=None):
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _champion(settings, task):
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        return registry.resolve_alias(conn, task, "champion")


def test_first_decisions_name_a_champion_for_every_task(chain):
    _, settings, _ = chain
    decisions = _query(settings, "SELECT task, candidate_version, champion_version, outcome, "
                                 "promoted_model, promoted_version, compared_with, "
                                 "candidate_value, reference_value, reasons, tests "
                                 "FROM promotion_decisions ORDER BY task")
    assert [d[:3] for d in decisions] == [("churn", 1, None), ("ltv", 1, None)]
    for task, _, _, outcome, model, version, compared, cand, ref, reasons, tests in decisions:
        names = {t["name"] for t in json.loads(tests)}
        assert {"holdout size", "upstream checks"} <= names
        assert "best eligible baseline" in compared
        # the policy here is lax except for one rule: a first candidate must beat the best
        # eligible baseline; otherwise that baseline serves
        if outcome == "candidate promoted":
            assert (model, version) == (f"{task}_model", 1) and cand > ref
        else:
            assert outcome == "baseline promoted" and cand <= ref
            assert f"{model} v{version}" in compared and "candidate stays challenger" in reasons
        assert _champion(settings, task) == (model, version)


def test_baselines_are_registered_versions_with_lineage_and_artifacts(chain):
    _, settings, _ = chain
    rows = _query(settings, "SELECT task, model_name, family, training_cutoffs, holdout_cutoff, "
                            "artifact_path FROM model_versions ORDER BY task, model_name")
    families = {(task, name): family for task, name, family, *_ in rows}
    assert families == {
        ("churn", "bg_nbd_churn"): "btyd", ("churn", "churn_model"): "lightgbm",
        ("churn", "plain_lightgbm_churn"): "plain_lightgbm",
        ("churn", "recency_frequency_rule"): "rule",
        ("ltv", "bg_nbd_gamma_gamma"): "btyd", ("ltv", "last_year"): "rule",
        ("ltv", "ltv_model"): "lightgbm", ("ltv", "plain_lightgbm_ltv"): "plain_lightgbm",
        ("ltv", "rfm_rule"): "rule",
    }
    lineage = {(task, name): (cutoffs, holdout) for task, name, _, cutoffs, holdout, _ in rows}
    for (task, name), value in lineage.items():
        assert value == lineage[(task, f"{task}_model")], name  # the candidate's cutoffs
        assert str(value[1]) not in json.loads(value[0])  # the holdout is never trained on
    for task, name, family, _, _, path in rows:
        meta = json.loads((Path(path) / "meta.json").read_text())
        assert meta["family"] == family
        if task == "ltv" and family != "lightgbm":
            assert meta["interval"]["q"] > 0  # conformal, like the learned model's


def test_scores_cover_every_active_customer_with_the_champions(chain):
    _, settings, _ = chain
    (active,) = _query(settings, "SELECT count(*) FROM customer_features WHERE cutoff_date = "
                                 "? AND recency_days <= ?", [NEWEST, settings.active_days])[0]
    scores = _query(settings, "SELECT count(*), count(DISTINCT customer_id), min(churn_probability),"
                              " max(churn_probability), min(ltv_lower <= predicted_ltv AND "
                              "predicted_ltv <= ltv_upper), max(churn_model_name), "
                              "max(churn_model_version), max(ltv_model_name), "
                              "count(reason_1), bool_or(backfilled) FROM customer_scores")[0]
    assert scores[0] == scores[1] == active > 200
    assert 0 <= scores[2] < scores[3] <= 1 and scores[4] is True
    champion = _champion(settings, "churn")
    assert scores[5:8] == (*champion, _champion(settings, "ltv")[0]) and scores[8] > active / 2
    assert scores[9] is False
    runs = _query(settings, "SELECT cutoff_date::VARCHAR, customers, churn_model_name, backfilled "
                            "FROM scoring_runs")
    assert runs == [(NEWEST, active, champion[0], False)]


def test_scores_in_small_batches_equal_the_scores_in_one(chain, tmp_path):
    instance, settings, _ = chain
    batched = _copy(settings, tmp_path, scoring_batch_rows=97)
    with duckdb.connect(batched.warehouse) as conn:  # _copy clears the champions: restore them
        conn.execute("ATTACH ? AS served (READ_ONLY)", [settings.warehouse])
        conn.execute("INSERT INTO model_aliases SELECT * FROM served.model_aliases "
                     "WHERE alias = 'champion'")
    _score(instance, batched)
    columns = ("customer_id, churn_probability, risk_level, reason_1, reason_2, reason_3, "
               "predicted_ltv, ltv_lower, ltv_upper, value_segment, churn_model_version")
    one = _query(settings, f"SELECT {columns} FROM customer_scores WHERE cutoff_date = ? "
                           "ORDER BY customer_id", [NEWEST])
    many = _query(batched, f"SELECT {columns} FROM customer_scores WHERE cutoff_date = ? "
                           "ORDER BY customer_id", [NEWEST])
    assert len(one) > 3 * 97 and many == one
    stored = ("SELECT value_cuts, rfm_reference FROM scoring_runs WHERE cutoff_date = ? "
              "ORDER BY scored_at DESC LIMIT 1")
    assert _query(batched, stored, [NEWEST]) == _query(settings, stored, [NEWEST])


def test_a_past_cutoff_scored_after_the_fact_is_a_backfill(chain):
    instance, settings, _ = chain
    _score(instance, settings, cutoff="2024-06-01")
    rows = _query(settings, "SELECT cutoff_date::VARCHAR, bool_and(backfilled), count(*) FROM "
                            "customer_scores GROUP BY 1 ORDER BY 1")
    assert [(c, b) for c, b, _ in rows] == [("2024-06-01", True), (NEWEST, False)]
    _run(instance, settings, "model_performance", training=None)
    measured = _query(settings, "SELECT cutoff_date::VARCHAR FROM model_performance")
    # 2024-06 has mature churn labels, but its scores were never served
    assert measured == [(NEWEST,)]
    # had 2024-06's scores been served (scored while it was the newest cutoff), a backfill
    # would refuse to replace that evidence
    with duckdb.connect(settings.warehouse) as conn:
        conn.execute("UPDATE customer_scores SET backfilled = false "
                     "WHERE cutoff_date = '2024-06-01'")
    with pytest.raises(dg.Failure, match="2024-06-01 hold the scores served at the time"):
        _score(instance, settings, cutoff="2024-06-01")
    assert _query(settings, "SELECT count(*) FROM customer_scores WHERE cutoff_date = "
                            "'2024-06-01' AND NOT backfilled") == [(rows[0][2],)]
    with duckdb.connect(settings.warehouse) as conn:
        conn.execute("DELETE FROM customer_scores WHERE cutoff_date = '2024-06-01'")


def test_a_baseline_serves_when_no_candidate_passes_then_a_learned_one_replaces_it(tmp_path):
    # a log large enough for a real gain to be significant on its holdout
    write_sample(tmp_path / "tx.csv", n_customers=6000, seed=5)
    # the limits are set so that baselines pass them on this log, whose churn base rate
    # moves with the season; significance is the project's default
    strict = settings_in(tmp_path, transactions=str(tmp_path / "tx.csv"), **STRICT,
                         churn_max_ece=0.15, ltv_max_total_error=1e9, ltv_min_coverage=0.0)
    instance = dg.DagsterInstance.ephemeral()
    # a weak candidate cannot beat the baselines significantly: baselines become champions
    _run(instance, strict, TRAIN, training=WORSE, tags=RANGE)
    decisions = dict(_query(strict, "SELECT task, outcome FROM promotion_decisions "
                                    "WHERE candidate_version = 1"))
    assert decisions == {"churn": "baseline promoted", "ltv": "baseline promoted"}
    churn = _champion(strict, "churn")
    assert churn[0] in ("bg_nbd_churn", "plain_lightgbm_churn", "recency_frequency_rule")
    reasons = _query(strict, "SELECT reasons FROM promotion_decisions WHERE task = 'churn' "
                             "AND candidate_version = 1")[0][0]
    assert f"{churn[0]} v{churn[1]}" in reasons and "candidate stays challenger" in reasons
    with duckdb.connect(strict.warehouse, read_only=True) as conn:
        assert registry.resolve_alias(conn, "churn", "challenger") == ("churn_model", 1)
    _score(instance, strict)
    served = _query(strict, "SELECT DISTINCT churn_model_name, churn_model_version, reason_1 "
                            "IS NOT NULL FROM customer_scores WHERE reason_1 IS NOT NULL")
    assert {(name, version) for name, version, _ in served} == {churn}
    # a good learned candidate significantly beats the baseline champion and replaces it
    before = {task: _champion(strict, task) for task in ("churn", "ltv")}
    _run(instance, strict, RETRAIN, training=FAST)
    outcome, champion, tests, why = _query(
        strict, "SELECT outcome, champion_model || ' v' || champion_version, tests, reasons "
                "FROM promotion_decisions WHERE task = 'churn' AND candidate_version = 2")[0]
    assert (outcome, champion) == ("candidate promoted", "{} v{}".format(*before["churn"])), why
    gain = next(t for t in json.loads(tests) if t["name"] == "roc_auc gain over the champion")
    assert gain["passed"] and gain["value"] > 0
    assert _champion(strict, "churn") == ("churn_model", 2)
    # LTV: the same rule, whichever way this log's test comes out
    outcome, promoted, tests = _query(
        strict, "SELECT outcome, promoted, tests FROM promotion_decisions "
                "WHERE task = 'ltv' AND candidate_version = 2")[0]
    assert promoted == all(t["passed"] for t in json.loads(tests))
    assert _champion(strict, "ltv") == (("ltv_model", 2) if promoted else before["ltv"])


def test_when_no_model_passes_the_limits_the_failure_names_each_and_its_setting(chain, tmp_path):
    instance, settings, _ = chain
    impossible = _copy(settings, tmp_path, churn_max_ece=0.0)
    result = _run(instance, impossible, RETRAIN, training=FAST, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure
                   and e.step_key == "churn_promotion")
    message = failure.step_failure_data.error.message
    assert "No churn model passes the absolute limits" in message
    for model in ("churn_model", "bg_nbd_churn", "plain_lightgbm_churn", "recency_frequency_rule"):
        assert model in message
    assert "ML_ASSETS_CHURN_MAX_ECE" in message
    assert _query(impossible, "SELECT outcome FROM promotion_decisions WHERE task = 'churn' "
                              "ORDER BY decided_at DESC LIMIT 1") == [("no model passes",)]
    assert _champion(impossible, "churn") is None


def test_promotion_refuses_when_the_champion_moved_since_its_evaluation(chain, tmp_path):
    instance, settings, _ = chain
    copy = _copy(settings, tmp_path, **LAX)
    with duckdb.connect(copy.warehouse) as conn:
        for task in ("churn", "ltv"):
            registry.set_alias(conn, task, "champion", f"{task}_model", 1, reason="t", moved_by="t")
    evaluations = dg.AssetSelection.assets("churn_model").downstream() \
        - dg.AssetSelection.assets("churn_promotion") - SERVED
    _run(instance, copy, evaluations, models=("churn_model",))  # evaluates v2 against v1
    with duckdb.connect(copy.warehouse) as conn:  # an operator rolls back meanwhile
        bg = conn.execute("SELECT max(version) FROM model_versions "
                          "WHERE model_name = 'bg_nbd_churn'").fetchone()[0]
        registry.rollback(conn, "churn", to=("bg_nbd_churn", bg), reason="test", moved_by="t")
    _run(instance, copy, "churn_promotion", training=None)
    outcome, promoted, reasons = _query(
        copy, "SELECT outcome, promoted, reasons FROM promotion_decisions WHERE task = 'churn' "
              "ORDER BY decided_at DESC LIMIT 1")[0]
    assert (outcome, promoted) == ("refused", False)
    assert "churn_model v1" in reasons and f"bg_nbd_churn v{bg}" in reasons
    assert _champion(copy, "churn") == ("bg_nbd_churn", bg)
    _score(instance, copy)
    assert _query(copy, "SELECT DISTINCT churn_model_name FROM customer_scores") == [("bg_nbd_churn",)]


def test_a_log_too_short_for_the_ltv_horizon_fails_first_naming_span_window_and_setting(tmp_path):
    # a 12-month log with the default 365-day LTV horizon
    write_sample(tmp_path / "tx.csv", n_customers=800, seed=2, start="2024-01-01",
                 end="2024-12-31", malformed=False)
    settings = settings_in(tmp_path, transactions=str(tmp_path / "tx.csv"), **LAX,
                           partitions_start="2024-02-01", partitions_end="2025-01-01")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(instance, settings, TRAIN, raise_on_error=False, tags={
            "dagster/asset_partition_range_start": "2024-02-01",
            "dagster/asset_partition_range_end": "2025-01-01"})
    failures = {e.step_key: e.step_failure_data.error.message
                for e in result.all_events if e.is_step_failure}
    assert set(failures) == {"ltv_model"}  # the churn chain (a 90-day window) still runs
    message = failures["ltv_model"]
    assert "spans 2024-01-01 to 2024-12-3" in message
    assert "365-day window (ML_ASSETS_LTV_HORIZON_DAYS)" in message
    longest = int(message.split("The longest window these cutoffs support is ")[1].split(" ")[0])
    assert 60 <= longest < 365 and f"set ML_ASSETS_LTV_HORIZON_DAYS={longest} or less" in message
    # the advice holds: with the longest supported window the LTV model trains
    shorter = _changed(settings, ltv_horizon_days=longest)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(instance, shorter, TRAIN, raise_on_error=False, tags={
            "dagster/asset_partition_range_start": "2024-02-01",
            "dagster/asset_partition_range_end": "2025-01-01"})
    assert "ltv_model" not in {e.step_key for e in result.all_events if e.is_step_failure}
    assert any(e.step_key == "ltv_model" and e.is_step_success for e in result.all_events)


def test_feature_drift_refuses_a_champion_folder_outside_the_model_directory(chain, tmp_path):
    instance, settings, _ = chain
    (tmp_path / "copy").mkdir()
    copy = _copy(settings, tmp_path / "copy")
    with duckdb.connect(copy.warehouse) as conn:
        for task in ("churn", "ltv"):
            registry.set_alias(conn, task, "champion", f"{task}_model", 1, reason="t", moved_by="t")
        (path,) = conn.execute("SELECT artifact_path FROM model_versions WHERE "
                               "model_name = 'churn_model' AND version = 1").fetchone()
        # the same files, same digest, in a look-alike folder elsewhere
        elsewhere = tmp_path / "elsewhere" / "churn_model" / Path(path).name
        shutil.copytree(path, elsewhere)
        conn.execute("UPDATE model_versions SET artifact_path = ? WHERE model_name = "
                     "'churn_model' AND version = 1", [str(elsewhere)])
    result = _run(instance, copy, "feature_drift", training=None, raise_on_error=False)
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "not this version's folder" in failure.step_failure_data.error.message
    assert str(Path(copy.model_dir).resolve() / "churn_model") in failure.step_failure_data.error.message


def _champions_and_shadows(copy, shadows):
    """churn_model v1 and ltv_model v1 as champions, ``shadows`` (task, model) v1 in shadow."""
    with duckdb.connect(copy.warehouse) as conn:
        for task in ("churn", "ltv"):
            registry.set_alias(conn, task, "champion", f"{task}_model", 1, reason="t", moved_by="t")
        conn.execute("DELETE FROM shadow_versions")
        for task, model in shadows:
            registry.enter_shadow(conn, task, model, 1, reason="test", decision_id=None,
                                  max_versions=2)


def test_shadow_scores_score_each_shadow_beside_the_champion_on_the_served_customers(
        chain, tmp_path):
    instance, settings, _ = chain
    copy = _copy(settings, tmp_path, **LAX)
    _champions_and_shadows(copy, [("churn", "plain_lightgbm_churn"), ("ltv", "bg_nbd_gamma_gamma")])
    _score(instance, copy)
    result = _run(instance, copy, "shadow_scores", training=None, partition_key=NEWEST)
    rows = duckdb.connect(copy.warehouse, read_only=True).execute(
        "SELECT * FROM shadow_scores ORDER BY role, shadow_task, customer_id").df()
    served = duckdb.connect(copy.warehouse, read_only=True).execute(
        "SELECT * FROM customer_scores ORDER BY customer_id").df()
    champion = rows[rows["role"] == "champion"].reset_index(drop=True)
    churn = rows[rows["shadow_task"] == "churn"].reset_index(drop=True)
    ltv = rows[rows["shadow_task"] == "ltv"].reset_index(drop=True)
    # the champion's rows are what was served; each shadow scored exactly those customers
    assert list(champion["customer_id"]) == list(served["customer_id"])
    assert champion["churn_probability"].tolist() == served["churn_probability"].tolist()
    for shadow in (churn, ltv):
        assert list(shadow["customer_id"]) == list(served["customer_id"])
        assert not shadow["backfilled"].any()
    # a shadow replaces only its own task's model
    assert set(churn["churn_model_name"]) == {"plain_lightgbm_churn"}
    assert churn["predicted_ltv"].tolist() == served["predicted_ltv"].tolist()
    assert not np.allclose(churn["churn_probability"], served["churn_probability"])
    assert set(ltv["ltv_model_name"]) == {"bg_nbd_gamma_gamma"}
    assert ltv["churn_probability"].tolist() == served["churn_probability"].tolist()
    assert (ltv["ltv_lower"] <= ltv["predicted_ltv"]).all()
    metadata = result.asset_materializations_for_node("shadow_scores")[0].metadata
    assert metadata["shadow_rows"].value == 2 * len(served)
    assert "plain_lightgbm_churn v1" in metadata["versions"].value
    # at a cutoff a shadow's holdout covers, it is not scored (it saw that cutoff's labels):
    # the churn shadow's holdout is after 2024-06-01, the LTV shadow's (a year's window) before
    holdouts = dict(_query(copy, "SELECT model_name, holdout_cutoff::VARCHAR FROM model_versions "
                                 "WHERE model_name IN ('plain_lightgbm_churn', "
                                 "'bg_nbd_gamma_gamma') AND version = 1"))
    assert holdouts["bg_nbd_gamma_gamma"] < "2024-06-01" < holdouts["plain_lightgbm_churn"]
    _score(instance, copy, cutoff="2024-06-01")
    past = _run(instance, copy, "shadow_scores", training=None, partition_key="2024-06-01")
    assert _query(copy, "SELECT role, shadow_task, bool_and(backfilled) FROM shadow_scores "
                        "WHERE cutoff_date = '2024-06-01' GROUP BY ALL ORDER BY ALL") == [
        ("champion", None, True), ("shadow", "ltv", True)]
    assert f"not scored: cutoff is not after its holdout {holdouts['plain_lightgbm_churn']}" in \
        past.asset_materializations_for_node("shadow_scores")[0].metadata["versions"].value


def _comparison_stub(rows: list[dict]):
    """shadow_comparison as a stand-in: writes ``rows`` as its table and hands its run on."""
    from ml_assets.lib.warehouse import insert_frame, read_sql
    from ml_assets.monitoring import shadow_comparison as comparison_module
    from ml_assets.monitoring.comparison import COLUMNS

    @dg.asset(name="shadow_comparison", io_manager_key="handoff")
    def stub(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        frame = pd.DataFrame([{**dict.fromkeys(COLUMNS), **r} for r in rows], columns=COLUMNS)
        frame["run_id"] = context.run.run_id
        with warehouse.get_connection() as conn:
            conn.execute(read_sql(comparison_module.__file__, "create_shadow_comparison.sql"))
            conn.execute("DELETE FROM shadow_comparison")
            insert_frame(conn, "shadow_comparison", frame)
        return {"run_id": context.run.run_id, "rows": len(frame), "champions": {}}
    return stub


def _win(cutoff, shadow, wins=True, ece=0.03, customers=1000, champion=("churn_model", 1)):
    return {"cutoff_date": cutoff, "task": "churn", "champion_model": champion[0],
            "champion_version": champion[1], "shadow_model": shadow, "shadow_version": 1,
            "customers": customers, "metric": "roc_auc", "champion_value": 0.70,
            "shadow_value": 0.74, "difference": 0.04, "p_value": 0.001 if wins else 0.4,
            "shadow_wins": wins, "shadow_ece": ece}


def test_shadow_evidence_promotes_a_winner_within_the_limits_and_records_a_failing_one(
        chain, tmp_path):
    from ml_assets.promotion.shadow import shadow_promotion

    instance, settings, _ = chain
    copy = _copy(settings, tmp_path, **{**LAX, "churn_max_ece": 0.05})
    _champions_and_shadows(copy, [("churn", "plain_lightgbm_churn"),
                                  ("churn", "recency_frequency_rule")])
    rows = [
        # the rule wins three matured cutoffs but is badly calibrated: it fails a limit
        *[_win(c, "recency_frequency_rule", ece=0.2)
          for c in ("2024-01-01", "2024-02-01", "2024-03-01")],
        # the plain LightGBM wins twice against this champion; a win on too few customers
        # and one against an earlier champion do not count
        _win("2024-01-01", "plain_lightgbm_churn"), _win("2024-02-01", "plain_lightgbm_churn",
                                                         wins=False),
        _win("2024-03-01", "plain_lightgbm_churn"),
        _win("2024-04-01", "plain_lightgbm_churn", customers=50),
        _win("2023-12-01", "plain_lightgbm_churn", champion=("bg_nbd_churn", 1)),
    ]
    with dg.DagsterInstance.ephemeral() as run_instance:
        result = dg.materialize([_comparison_stub(rows), shadow_promotion],
                                instance=run_instance, resources=resources_for(copy))
    decisions = _query(copy, "SELECT model_name, outcome, promoted, reasons, tests, trigger "
                             "FROM promotion_decisions WHERE evaluation_id LIKE "
                             "'shadow_comparison:%' ORDER BY decided_at")
    assert [d[:3] for d in decisions] == [("recency_frequency_rule", "champion kept", False),
                                          ("plain_lightgbm_churn", "shadow promoted", True)]
    rule, plain = decisions
    assert "beat the champion churn_model v1 on 3 matured served cutoffs" in rule[3]
    assert "limit: ece: 0.2 (required <= 0.05) failed" in rule[3]
    assert rule[3].startswith("shadow evidence:") and plain[3].startswith("shadow evidence:")
    assert "on 2 matured served cutoffs (2024-01-01, 2024-03-01" in plain[3]
    assert {t["name"]: t["passed"] for t in json.loads(plain[4])} == {
        "shadow wins on matured served cutoffs": True, "limit: ece": True}
    assert plain[5] == "manual"
    assert _champion(copy, "churn") == ("plain_lightgbm_churn", 1)
    (moved,) = _query(copy, "SELECT from_model, to_model, reason FROM alias_history WHERE "
                            "to_model = 'plain_lightgbm_churn'")
    assert moved[0] == "churn_model" and moved[2].startswith("shadow evidence:")
    states = dict(_query(copy, "SELECT model_name, status FROM shadow_versions"))
    assert states == {"plain_lightgbm_churn": "promoted", "recency_frequency_rule": "shadow"}
    metadata = result.asset_materializations_for_node("shadow_promotion")[0].metadata
    assert metadata["promoted"].value == "churn: plain_lightgbm_churn v1"
    # the same evidence again: it was gathered against the previous champion, so it no
    # longer counts, and nothing is decided
    with dg.DagsterInstance.ephemeral() as run_instance:
        dg.materialize([_comparison_stub(rows), shadow_promotion], instance=run_instance,
                       resources=resources_for(copy))
    assert len(_query(copy, "SELECT * FROM promotion_decisions WHERE evaluation_id LIKE "
                            "'shadow_comparison:%'")) == 2
    assert _champion(copy, "churn") == ("plain_lightgbm_churn", 1)


def test_the_estimate_from_a_real_models_holdout_probabilities_is_near_its_realized_auc(chain):
    """The churn candidate's calibrated probabilities on its holdout (never trained
    on): the estimate, which reads no label, against the realized ROC-AUC. The
    interval assumes calibrated probabilities; a model fitted on this small log
    is calibrated only roughly (its holdout ECE is a few points), so the check
    here is the size of the estimate's error, not the interval."""
    from sklearn.metrics import roc_auc_score

    from ml_assets.monitoring.estimate import performance_estimate

    _, settings, _ = chain
    rows = _query(settings, "SELECT y_true, y_pred FROM holdout_predictions WHERE role = "
                            "'candidate' AND model_name = 'churn_model' AND model_version = 1 "
                            "ORDER BY customer_id")
    y, p = np.array(rows, float).T
    estimate = performance_estimate(p, simulations=300)
    realized = roc_auc_score(y, p)
    assert abs(realized - estimate["estimated_roc_auc"]) < 0.05
    assert estimate["estimated_roc_auc_low"] < estimate["estimated_roc_auc"] \
        < estimate["estimated_roc_auc_high"]
    assert abs(estimate["expected_churn_rate"] - y.mean()) < 0.05


def test_shadow_comparison_measures_served_matured_cutoffs_only(chain, tmp_path):
    instance, settings, _ = chain
    copy = _copy(settings, tmp_path, **LAX)
    _champions_and_shadows(copy, [("churn", "plain_lightgbm_churn")])
    with duckdb.connect(copy.warehouse) as conn:
        # as if the shadow had been trained before 2024-06-01: its labels were unseen then
        conn.execute("UPDATE model_versions SET holdout_cutoff = '2024-01-01' "
                     "WHERE model_name = 'plain_lightgbm_churn' AND version = 1")
    _score(instance, copy, cutoff="2024-06-01")
    _run(instance, copy, "shadow_scores", training=None, partition_key="2024-06-01")
    backfill = _run(instance, copy, "shadow_comparison", training=None)
    # 2024-06-01's churn labels are mature, but its scores were a backfill: never served
    assert _query(copy, "SELECT count(*) FROM shadow_comparison") == [(0,)]
    assert "No served cutoff" in backfill.asset_materializations_for_node(
        "shadow_comparison")[0].metadata["champion_vs_shadow"].value
    with duckdb.connect(copy.warehouse) as conn:  # had they been served at the time
        conn.execute("UPDATE shadow_scores SET backfilled = false")
    result = _run(instance, copy, "shadow_comparison", training=None)
    rows = duckdb.connect(copy.warehouse, read_only=True).execute(
        "SELECT * FROM shadow_comparison").df()
    assert list(zip(rows["task"], rows["shadow_model"], rows["champion_model"])) == [
        ("churn", "plain_lightgbm_churn", "churn_model")]
    pairs = _query(copy, "SELECT t.churned::DOUBLE, c.churn_probability, s.churn_probability "
                         "FROM shadow_scores c JOIN shadow_scores s USING (cutoff_date, customer_id) "
                         "JOIN training_snapshots t USING (cutoff_date, customer_id) "
                         "WHERE c.role = 'champion' AND s.shadow_task = 'churn' "
                         "AND t.churn_label_mature ORDER BY customer_id")
    y, champion, shadow = np.array(pairs, float).T
    from ml_assets.promotion.stats import delong_test

    expected = delong_test(y, shadow, champion)
    row = rows.iloc[0]
    assert row["customers"] == len(y) > 100
    assert row["difference"] == pytest.approx(expected["difference"])
    assert row["p_value"] == pytest.approx(expected["p_value"])
    assert bool(row["shadow_wins"]) == (expected["difference"] > 0
                                        and expected["p_value"] < copy.promotion_alpha)
    metadata = result.asset_materializations_for_node("shadow_comparison")[0].metadata
    assert metadata["churn_difference_plot"].value.startswith("![Champion vs shadow (churn)]")
