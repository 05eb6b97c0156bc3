"""Monitoring assets, sensors and schedules on real instances and warehouses.

The drift scenario runs the project's own jobs, launched from the schedules'
and the drift sensor's run requests: a first load, a rescoring on data with
the generator's drift injection, and the retrain the drift sensor asks for.
"""

from datetime import date, datetime

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml_assets import registry
from ml_assets.definitions import defs as project_defs
from ml_assets.ingest.assets import transaction_log
from ml_assets.ingest.sample_data import write_sample
from ml_assets.lib.tags import PARTITION_TAG, TRIGGER_TAG
from ml_assets.lib.warehouse import warehouse_resource
from ml_assets.monitoring import defs as monitoring_defs
from ml_assets.monitoring import source
from ml_assets.monitoring.assets import model_performance
from ml_assets.monitoring.estimate import estimated_auc
from ml_assets.monitoring.jobs import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    cutoff_range,
    scoring_request,
)
from ml_assets.monitoring.performance import realized_performance
from ml_assets_tests.conftest import executable, resources_for, settings_in
from ml_assets_tests.factories import random_transactions, snapshot_tables

FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 300, "learning_rate": 0.1,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
MODELS = {"ops": {"churn_model": {"config": FAST}, "ltv_model": {"config": FAST}}}
# a policy any candidate passes, so the first run promotes deterministically
LAX = dict(promotion_min_holdout=100, churn_min_auc_gain=-1.0, ltv_min_gini_gain=-1.0,
           promotion_alpha=1.01, churn_max_ece=1.0, ltv_max_total_error=1e9, ltv_min_coverage=0.0)
SAMPLE = dict(n_customers=600, seed=3)


def _defs(settings) -> dg.Definitions:
    """The project's assets, checks, jobs, sensors and schedules with test resources."""
    return dg.Definitions(
        assets=project_defs.assets,  # external specs included: the UI's graph
        asset_checks=project_defs.asset_checks,
        jobs=monitoring_defs.jobs,
        sensors=monitoring_defs.sensors,
        schedules=monitoring_defs.schedules,
        resources=resources_for(settings),
        executor=dg.in_process_executor,
    )


def _tick(defs, name, instance, settings, cursor=None):
    sensor = defs.resolve_sensor_def(name)
    # closing the context tears its resources down now, not whenever the garbage
    # collector finalises them (which can leave a disposed instance current)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"settings": settings}
    ) as context:
        return sensor.evaluate_tick(context)


def _schedule_tick(defs, name, instance, settings, when=datetime(2025, 1, 6, 6, 0)):
    schedule = defs.resolve_schedule_def(name)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources={"settings": settings}
    ) as context:
        return schedule.evaluate_tick(context)


def _launch(defs, request, instance):
    """Execute a run request the way the daemon would: its job, with its tags."""
    job = defs.resolve_job_def(request.job_name)
    config = MODELS if request.job_name == "retrain_job" else None
    return job.execute_in_process(instance=instance, tags=request.tags, run_config=config,
                                  raise_on_error=False)


def _query(settings, sql, params=None):
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).df()


def test_drift_sensor_skips_without_drift_and_retrains_once_on_injected_drift(tmp_path):
    log = tmp_path / "tx.csv"
    write_sample(log, **SAMPLE)
    settings = settings_in(tmp_path, transactions=str(log), **LAX)
    defs = _defs(settings)
    with dg.instance_for_test() as instance:
        # the first load: the monthly schedule asks for every cutoff the data supports
        (request,) = _schedule_tick(defs, "monthly_retrain_schedule", instance, settings).run_requests
        assert request.job_name == "retrain_job"
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
            "2022-01-01", "2025-01-01")
        first = _launch(defs, request, instance)
        # promotion records the schedule as the trigger, whatever it decides
        assert set(_decisions(settings, first.run_id)["trigger"]) == {
            "schedule: monthly retrain 2025-01-06 06:00"}
        # which model won the first decision on this small sample is not under test here:
        # make the first models champion the way an operator would, then score
        _make_champions(settings, version=1)
        _materialize(settings, instance, "customer_scores", "feature_drift")

        summary = _query(settings, "SELECT * FROM feature_drift_summary")
        assert len(summary) == 1 and not summary["dataset_drift"].iloc[0]
        calm = _tick(defs, "drift_retrain_sensor", instance, settings)
        assert calm.run_requests == [] and "no drift" in calm.skip_message
        assert calm.cursor is None

        # new data with a drifted acquisition channel; the weekly scoring run rescores
        # it with the champion that was trained before the drift
        write_sample(log, **SAMPLE, drift_start="2024-01-01", drift_share=1.0)
        (scoring,) = _schedule_tick(defs, "weekly_scoring_schedule", instance, settings).run_requests
        # fresh data and scores for the newest cutoff, no retraining
        assert scoring.job_name == "refresh_job"
        assert scoring.tags[PARTITION_TAG] == "2025-01-01"
        assert _launch(defs, scoring, instance).success

        fired = _tick(defs, "drift_retrain_sensor", instance, settings)
        (retrain,) = fired.run_requests
        reason = retrain.tags[TRIGGER_TAG]
        assert reason.startswith("drift at cutoff 2025-01-01 vs churn_model v1, ltv_model v1: ")
        assert "features drifted" in reason
        assert retrain.run_key == fired.cursor == "drift:2025-01-01:churn_model v1:ltv_model v1"
        again = _tick(defs, "drift_retrain_sensor", instance, settings, cursor=fired.cursor)
        assert again.run_requests == [] and "Already requested" in again.skip_message

        # the requested run executes and promotion records why it ran
        run = _launch(defs, retrain, instance)
        assert run.success
        decisions = _decisions(settings, run.run_id)
        assert sorted(decisions["task"]) == ["churn", "ltv"]
        assert set(decisions["trigger"]) == {reason}
        versions = _query(settings, "SELECT model_name, max(version) AS v FROM model_versions "
                                    "GROUP BY ALL")
        assert set(versions["v"]) == {2}
        # the retrain's success starts the scoring of its newest cutoff, same trigger
        follow = scoring_request(instance.get_run_by_id(run.run_id))
        assert follow.job_name == "scoring_job" and follow.tags[TRIGGER_TAG] == reason
        assert follow.tags[PARTITION_TAG] == "2025-01-01"
        assert _launch(defs, follow, instance).success
        # a run launched by hand (no trigger) scores itself: nothing to follow
        assert scoring_request(instance.get_run_by_id(first.run_id).with_tags({})) is None
    summaries = _query(settings, "SELECT run_id, dataset_drift FROM feature_drift_summary "
                                 "ORDER BY computed_at")
    assert list(summaries["dataset_drift"]) == [False, True, summaries["dataset_drift"].iloc[2]]
    drifted = _query(settings, "SELECT * FROM feature_drift WHERE run_id = ? AND role = 'feature'",
                     [summaries["run_id"].iloc[1]])
    assert drifted["drifted"].mean() >= settings.drift_share_threshold
    assert set(drifted["model_version"]) == {1}


def _decisions(settings, run_id):
    return _query(settings, "SELECT task, trigger FROM promotion_decisions WHERE run_id = ?",
                  [run_id])


def _make_champions(settings, version: int) -> None:
    with duckdb.connect(settings.warehouse) as conn:
        for task in ("churn", "ltv"):
            if registry.resolve_alias(conn, task, "champion") != (f"{task}_model", version):
                with registry.atomic(conn):
                    registry.set_alias(conn, task, "champion", f"{task}_model", version,
                                       reason="test: first models", moved_by="test")


def _materialize(settings, instance, *names):
    assets = [a for a in executable(project_defs) if isinstance(a, dg.AssetsDefinition)
              and any(k.path[0] in names for k in a.keys)]
    resources = resources_for(settings)
    partition = "2025-01-01" if "customer_scores" in names else None
    return dg.materialize(assets, instance=instance, resources=resources, partition_key=partition)


def test_model_performance_measures_served_scores_once_labels_mature(tmp_path):
    settings = settings_in(tmp_path)
    transactions = random_transactions(n_customers=300, start="2022-06-01", days=900, seed=4)
    with duckdb.connect(settings.warehouse) as conn:
        conn.register("_tx", transactions)
        conn.execute("CREATE TABLE transactions AS SELECT * FROM _tx")
        snapshot_tables(conn, [date(2023, 6, 1), date(2024, 6, 1), date(2024, 10, 1)])
        # scores served at three cutoffs: a recency rule for churn, past spend for LTV
        conn.execute("""CREATE TABLE customer_scores AS
            SELECT cutoff_date, customer_id, 'churn_model' AS churn_model_name,
                   7 AS churn_model_version, 'ltv_model' AS ltv_model_name,
                   4 AS ltv_model_version, cutoff_date = '2023-01-01' AS backfilled,
                   least(recency_days / 400.0, 1.0) AS churn_probability,
                   greatest(spend_365d, 0) AS predicted_ltv,
                   0.5 * greatest(spend_365d, 0) AS ltv_lower,
                   2.0 * greatest(spend_365d, 0) AS ltv_upper
            FROM customer_features
            WHERE cutoff_date IN ('2023-06-01', '2024-06-01', '2024-10-01')""")
    with dg.instance_for_test() as instance:
        result = dg.materialize([model_performance], instance=instance,
                                resources=resources_for(settings))
    perf = _query(settings, "SELECT * FROM model_performance ORDER BY cutoff_date")
    # data ends late 2024: 2023-06 has mature churn and LTV labels, 2024-06 churn only
    assert [str(d.date()) for d in perf["cutoff_date"]] == ["2023-06-01", "2024-06-01", "2024-10-01"]
    assert list(perf["status"]) == ["complete", "churn", "pending"]
    assert list(perf["churn_model_version"]) == [7, 7, 7]
    joined = _query(settings, "SELECT s.churn_probability AS p, t.churned::DOUBLE AS y, "
                              "s.predicted_ltv AS ltv, t.future_spend AS spend "
                              "FROM customer_scores s JOIN training_snapshots t "
                              "USING (cutoff_date, customer_id) WHERE cutoff_date = ?",
                    ["2023-06-01"])
    first = perf.iloc[0]
    assert first["churn_labels"] == first["ltv_labels"] == first["customers_scored"] == len(joined)
    assert first["roc_auc"] == pytest.approx(roc_auc_score(joined["y"], joined["p"]))
    assert first["brier"] == pytest.approx(np.mean((joined["p"] - joined["y"]) ** 2))
    assert first["total_spend_error_pct"] == pytest.approx(
        (joined["ltv"].sum() - joined["spend"].sum()) / abs(joined["spend"].sum()) * 100)
    assert np.isnan(perf["rmse"].iloc[1]) and np.isnan(perf["roc_auc"].iloc[2])
    metadata = result.asset_materializations_for_node("model_performance")[0].metadata
    assert metadata["measured_cutoffs"].value == 2 and metadata["pending_cutoffs"].value == 1
    assert metadata["over_time"].value.startswith("![Realized performance")
    # every served cutoff has an estimate from its probabilities alone, labels or not
    served = _query(settings, "SELECT cutoff_date, churn_probability FROM customer_scores "
                              "WHERE cutoff_date = '2024-10-01'")
    pending = perf.iloc[2]
    assert pending["estimated_roc_auc"] == pytest.approx(estimated_auc(served["churn_probability"]))
    assert pending["estimated_roc_auc_low"] < pending["estimated_roc_auc"] \
        < pending["estimated_roc_auc_high"]
    assert pd.isna(pending["roc_auc_in_interval"]) and pd.isna(pending["roc_auc_estimate_error"])
    assert first["roc_auc_estimate_error"] == pytest.approx(
        first["roc_auc"] - first["estimated_roc_auc"])
    assert metadata["churn_estimate_over_time"].value.startswith("![Estimated vs realized")


def test_realized_performance_flags_decay_by_threshold():
    outcomes = pd.DataFrame({
        "cutoff_date": [date(2024, 1, 1)] * 4 + [date(2024, 2, 1)] * 2,
        "churn_model_version": [1] * 6, "ltv_model_version": [2] * 6,
        "churn_probability": [0.9, 0.8, 0.2, 0.1, 0.5, 0.5],
        "predicted_ltv": [10.0, 10.0, 10.0, 10.0, 1.0, 1.0],
        "ltv_lower": [0.0] * 6, "ltv_upper": [20.0] * 6,
        "churn_label_mature": [True] * 4 + [False] * 2,
        "churned": [1.0, 0.0, 0.0, 1.0, None, None],
        "ltv_label_mature": [True] * 4 + [False] * 2,
        "future_spend": [10.0, 10.0, 10.0, 30.0, None, None],
    })
    perf = realized_performance(outcomes, min_auc=0.7, max_ece=1.0, max_total_error=30.0)
    first = perf.iloc[0]
    assert first["roc_auc"] == 0.5 and first["churn_decayed"]  # 0.5 < 0.7
    assert first["total_spend_error_pct"] == pytest.approx((40 - 60) / 60 * 100)
    assert first["ltv_decayed"] and first["interval_coverage"] == 0.75
    assert "churn ROC-AUC 0.500 < 0.7" in first["decay_reasons"]
    assert list(perf["status"]) == ["complete", "pending"]
    assert not perf["churn_decayed"].iloc[1] and perf["customers_scored"].iloc[1] == 2
    lenient = realized_performance(outcomes, min_auc=0.4, max_ece=1.0, max_total_error=40.0)
    assert not lenient["churn_decayed"].any() and not lenient["ltv_decayed"].any()


def _performance_warehouse(settings, decayed: list[bool], versions: list[int], champion: int):
    """model_performance (newest cutoff last) and a churn champion alias, by hand."""
    n = len(decayed)
    perf = pd.DataFrame({
        "cutoff_date": pd.date_range("2024-01-01", periods=n, freq="MS").date,
        "status": ["churn"] * n, "churn_model_version": versions, "ltv_model_version": [1] * n,
        "churn_labels": [500] * n, "ltv_labels": [0] * n, "churn_decayed": decayed,
        "ltv_decayed": [False] * n,
        "decay_reasons": ["churn ROC-AUC 0.600 < 0.7" if d else "" for d in decayed],
    })
    with duckdb.connect(settings.warehouse) as conn:
        conn.register("_perf", perf)
        conn.execute("CREATE OR REPLACE TABLE model_performance AS SELECT * FROM _perf")
        conn.execute("CREATE OR REPLACE TABLE model_aliases AS SELECT 'churn' AS task, "
                     "'churn_model' AS model_name, 'champion' AS alias, ?::INTEGER AS version",
                     [champion])
        conn.execute("CREATE OR REPLACE TABLE ingest_log AS SELECT 'x.csv' AS source_path, "
                     "1 AS source_bytes, 1 AS rows_in, TIMESTAMP '2024-12-31 10:00' AS max_order_ts, "
                     "now() AS loaded_at")


def test_performance_sensor_fires_once_for_consecutive_decay_of_the_champion(tmp_path):
    settings = settings_in(tmp_path, performance_decay_cutoffs=2)
    defs = _defs(settings)
    with dg.instance_for_test() as instance:
        empty = _tick(defs, "performance_sensor", instance, settings)
        assert "No model_performance yet" in empty.skip_message

        _performance_warehouse(settings, [True, False, True], [3, 3, 3], champion=3)
        one = _tick(defs, "performance_sensor", instance, settings)
        assert one.run_requests == []
        assert "churn: 1 of the last 2 measured cutoffs decayed" in one.skip_message

        _performance_warehouse(settings, [False, True, True], [2, 2, 2], champion=3)
        old = _tick(defs, "performance_sensor", instance, settings)
        assert old.run_requests == [] and "the champion is now churn_model v3" in old.skip_message

        _performance_warehouse(settings, [False, True, True], [3, 3, 3], champion=3)
        fired = _tick(defs, "performance_sensor", instance, settings)
        (request,) = fired.run_requests
        assert request.job_name == "retrain_job"
        assert request.tags[TRIGGER_TAG] == (
            "performance decay: churn_model v3 decayed on the last 2 measured cutoffs through "
            "2024-03-01 (churn ROC-AUC 0.600 < 0.7)")
        assert request.tags[RANGE_END_TAG] == "2025-01-01"
        again = _tick(defs, "performance_sensor", instance, settings, cursor=fired.cursor)
        assert again.run_requests == [] and "Already requested" in again.skip_message


def test_new_data_sensor_fires_on_growth_and_new_months_once(tmp_path):
    log = tmp_path / "tx.csv"
    write_sample(log, n_customers=300, seed=5, malformed=False, end="2024-06-30")
    settings = settings_in(tmp_path, transactions=str(log))
    defs = _defs(settings)
    resources = resources_for(settings)
    with dg.instance_for_test() as instance:
        before = _tick(defs, "new_data_sensor", instance, settings)
        assert "Nothing loaded yet" in before.skip_message
        dg.materialize([transaction_log], instance=instance, resources=resources)
        same = _tick(defs, "new_data_sensor", instance, settings)
        assert same.run_requests == []
        assert "+0.0% bytes since the last load" in same.skip_message
        assert "newest event 2024-06-30" in same.skip_message

        # late rows for months already loaded: 25% more bytes, no new month
        lines = log.read_text().splitlines(keepends=True)
        with open(log, "a") as handle:
            handle.writelines(lines[1:len(lines) // 4 + 2])
        grown = _tick(defs, "new_data_sensor", instance, settings)
        (request,) = grown.run_requests
        reason = request.tags[TRIGGER_TAG]
        assert reason.startswith("new data: +25.") and "bytes since the last load" in reason
        assert "new month" not in reason
        again = _tick(defs, "new_data_sensor", instance, settings, cursor=grown.cursor)
        assert again.run_requests == [] and "Already requested" in again.skip_message

        # six more months of history: new months
        write_sample(log, n_customers=300, seed=5, malformed=False, end="2024-12-31")
        fired = _tick(defs, "new_data_sensor", instance, settings, cursor=again.cursor)
        (request,) = fired.run_requests
        assert "new month 2024-12 (last load ended 2024-06-30)" in request.tags[TRIGGER_TAG]
        # the run covers the new cutoffs up to the file's newest event
        assert request.tags[RANGE_END_TAG] == "2025-01-01"
        assert fired.cursor != grown.cursor


def test_new_data_sensor_honours_the_growth_threshold_for_a_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_sample(tmp_path / "tx.csv", n_customers=300, seed=5, malformed=False, end="2024-06-30")
    settings = settings_in(tmp_path, transactions="tx.csv")  # relative, as users set it
    defs = _defs(settings)
    resources = {"settings": settings, "warehouse": warehouse_resource(settings.warehouse)}
    with dg.instance_for_test() as instance:
        dg.materialize([transaction_log], instance=instance, resources=resources)
        # a few late rows (the newest stays last): about 1% more bytes, under the 10%
        # threshold, no new month
        lines = (tmp_path / "tx.csv").read_text().splitlines(keepends=True)
        with open(tmp_path / "tx.csv", "a") as handle:
            handle.writelines(lines[1 : len(lines) // 100 + 2] + lines[-1:])
        small = _tick(defs, "new_data_sensor", instance, settings)
        assert small.run_requests == []
        assert "+1." in small.skip_message and "threshold 10%" in small.skip_message
        assert small.skip_message.startswith(str(tmp_path / "tx.csv"))
        # past the threshold it fires, for growth alone
        with open(tmp_path / "tx.csv", "a") as handle:
            handle.writelines(lines[1 : len(lines) // 5 + 2] + lines[-1:])
        (request,) = _tick(defs, "new_data_sensor", instance, settings).run_requests
        assert "bytes since the last load" in request.tags[TRIGGER_TAG]
        assert "different file" not in request.tags[TRIGGER_TAG]


def test_source_state_reads_parquet_footer_and_csv_tail_only(tmp_path):
    log = tmp_path / "tx.csv"
    write_sample(log, n_customers=200, seed=1, malformed=False, end="2023-03-31")
    parquet = tmp_path / "tx.parquet"
    write_sample(parquet, n_customers=200, seed=1, malformed=False, end="2023-03-31")
    frame = pd.read_csv(log, dtype=str)
    newest = pd.Timestamp(frame["order_ts"].max()).to_pydatetime()
    csv_state = source.source_state(settings_in(tmp_path, transactions=str(log)))
    assert csv_state["rows"] is None and csv_state["newest_event"] == newest
    assert csv_state["bytes"] == log.stat().st_size
    pq_state = source.source_state(settings_in(tmp_path, transactions=str(parquet)))
    assert pq_state["rows"] == len(frame) and pq_state["newest_event"] == newest
    assert source.source_state(settings_in(tmp_path, transactions=str(tmp_path / "no.csv"))) is None


def test_cutoff_range_covers_changing_labels_and_never_materialized_cutoffs(tmp_path):
    settings = settings_in(tmp_path)
    with dg.instance_for_test() as instance:
        loaded, newer = datetime(2024, 6, 15), datetime(2024, 12, 31, 23)
        assert cutoff_range(instance, settings, None, None) == ("2022-01-01", "2025-01-01")
        assert cutoff_range(instance, settings, None, newer) == ("2022-01-01", "2025-01-01")
        # nothing materialized in this instance: every supported cutoff
        assert cutoff_range(instance, settings, loaded, None) == ("2022-01-01", "2024-06-01")
        instance.report_runless_asset_event(dg.AssetMaterialization(
            "customer_features", partition="2022-01-01"))
        for key in pd.date_range("2022-02-01", "2024-07-01", freq="MS").strftime("%Y-%m-%d"):
            instance.report_runless_asset_event(
                dg.AssetMaterialization("customer_features", partition=key))
        # labels whose window reaches past 2024-06-15 can change: cutoffs after 2023-06-16
        assert cutoff_range(instance, settings, loaded, newer) == ("2023-07-01", "2025-01-01")


def test_definitions_hold_every_trigger_stopped_by_default():
    sensors = {s.name: s for s in project_defs.sensors}
    schedules = {s.name: s for s in project_defs.schedules}
    assert set(sensors) >= {"drift_retrain_sensor", "new_data_sensor", "performance_sensor",
                            "label_maturity_sensor"}
    assert set(schedules) >= {"monthly_retrain_schedule", "weekly_scoring_schedule"}
    for definition in [*sensors.values(), *schedules.values()]:
        # scoring after a triggered retrain only follows runs the stopped triggers start
        expected = "RUNNING" if definition.name == "score_after_retrain_sensor" else "STOPPED"
        assert definition.default_status.value == expected, definition.name
    assert schedules["monthly_retrain_schedule"].cron_schedule == "0 3 1 * *"
    graph = project_defs.resolve_asset_graph()
    for key in ("feature_drift", "model_performance"):
        assert graph.get(dg.AssetKey(key)).group_name == "monitoring"
    retrain = project_defs.resolve_job_def("retrain_job")
    trained = {k.path[0] for k in retrain.asset_layer.executable_asset_keys}
    assert {"raw_transactions", "customer_features", "churn_model", "churn_baselines",
            "churn_promotion"} <= trained
    served = {"customer_scores", "shadow_scores", "feature_drift", "model_performance",
              "shadow_comparison", "shadow_promotion"}
    assert not trained & served
    scoring = project_defs.resolve_job_def("scoring_job")
    assert {k.path[0] for k in scoring.asset_layer.executable_asset_keys} == served
    # promotion on shadow evidence sits downstream of the comparison: no cycle back to scores
    assert dg.AssetKey("shadow_promotion") in graph.get(
        dg.AssetKey("shadow_comparison")).child_keys
    assert graph.get(dg.AssetKey("shadow_promotion")).group_name == "promotion"


def _estimated_warehouse(settings, estimates: list[float], versions: list[int], champion: int):
    """model_performance with estimates only (labels not mature), newest cutoff last."""
    n = len(estimates)
    perf = pd.DataFrame({
        "cutoff_date": pd.date_range("2024-07-01", periods=n, freq="MS").date,
        "status": ["pending"] * n, "churn_model_name": ["churn_model"] * n,
        "churn_model_version": versions, "ltv_model_version": [1] * n,
        "churn_labels": [0] * n, "ltv_labels": [0] * n, "churn_decayed": [False] * n,
        "ltv_decayed": [False] * n, "decay_reasons": [""] * n,
        "estimated_roc_auc": estimates,
        "estimated_decayed": [e < settings.performance_min_auc for e in estimates],
    })
    _performance_warehouse(settings, [False], [champion], champion)
    with duckdb.connect(settings.warehouse) as conn:
        conn.register("_perf", perf)
        conn.execute("CREATE OR REPLACE TABLE model_performance AS SELECT * FROM _perf")


def test_performance_sensor_fires_on_estimated_decay_only_when_turned_on(tmp_path):
    off = settings_in(tmp_path)
    assert off.performance_estimated_decay_cutoffs == 0
    _estimated_warehouse(off, [0.75, 0.62, 0.61], [3, 3, 3], champion=3)
    with dg.instance_for_test() as instance:
        quiet = _tick(_defs(off), "performance_sensor", instance, off)
        assert quiet.run_requests == [] and "estimate" not in quiet.skip_message

        on = settings_in(tmp_path, performance_estimated_decay_cutoffs=2)
        defs = _defs(on)
        fired = _tick(defs, "performance_sensor", instance, on)
        (request,) = fired.run_requests
        assert request.tags[TRIGGER_TAG].startswith(
            "performance decay: churn_model v3 estimated churn ROC-AUC below 0.7 on the last 2 "
            "served cutoffs before their labels mature (2024-09-01 0.610, 2024-08-01 0.620)")
        assert fired.cursor == "performance:estimate:churn_model v3:2024-09-01"
        again = _tick(defs, "performance_sensor", instance, on, cursor=fired.cursor)
        assert again.run_requests == [] and "Already requested" in again.skip_message

        three = settings_in(tmp_path, performance_estimated_decay_cutoffs=3)
        short = _tick(_defs(three), "performance_sensor", instance, three)
        assert short.run_requests == []
        assert "churn estimate: 2 of the last 3 served cutoffs estimated below 0.7" in \
            short.skip_message
        # once a cutoff's labels matured, its realized values decide, not its estimate
        _estimated_warehouse(on, [0.75, 0.62, 0.61], [3, 3, 3], champion=3)
        with duckdb.connect(on.warehouse) as conn:
            conn.execute("UPDATE model_performance SET churn_labels = 500, status = 'churn' "
                         "WHERE cutoff_date = '2024-08-01'")
        matured = _tick(defs, "performance_sensor", instance, on)
        assert matured.run_requests == [] and \
            "churn estimate: 1 of the last 2 served cutoffs estimated below 0.7" in \
            matured.skip_message
        _estimated_warehouse(on, [0.75, 0.62, 0.61], [3, 2, 2], champion=3)
        stale = _tick(defs, "performance_sensor", instance, on)
        assert stale.run_requests == [] and "the champion is now churn_model v3" in \
            stale.skip_message


def _label_warehouse(settings, newest_event: str, customers: dict[str, int]):
    """A registry whose churn and ltv champions saw cutoffs up to 2024-03-01, a load
    ending at ``newest_event`` and ``customers`` active customers per cutoff."""
    with duckdb.connect(settings.warehouse) as conn:
        registry.ensure_tables(conn)
        conn.execute("DELETE FROM model_versions; DELETE FROM model_aliases")
        for task in ("churn", "ltv"):
            conn.execute(
                "INSERT INTO model_versions (model_name, version, task, family, created_at, "
                "artifact_path, sha256, status, training_cutoffs, holdout_cutoff) VALUES "
                "(?, 4, ?, 'lightgbm', now(), '/x', 'h', 'active', '[\"2024-01-01\"]', "
                "DATE '2024-03-01')", [f"{task}_model", task])
            conn.execute("INSERT INTO model_aliases VALUES (?, 'champion', ?, 4, now())",
                         [task, f"{task}_model"])
        rows = [(c, f"C{i}", 10) for c, n in customers.items() for i in range(n)]
        rows += [(c, "C_lapsed", 900) for c in customers]  # not active: not a label a retrain uses
        frame = pd.DataFrame(rows, columns=["cutoff_date", "customer_id", "recency_days"])
        frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"])
        conn.register("_f", frame)
        conn.execute("CREATE OR REPLACE TABLE customer_features AS "
                     "SELECT * REPLACE (cutoff_date::DATE AS cutoff_date) FROM _f")
        conn.execute("CREATE OR REPLACE TABLE ingest_log AS SELECT 'x.csv' AS source_path, "
                     "1 AS source_bytes, 1 AS rows_in, ?::TIMESTAMP AS max_order_ts, "
                     "now() AS loaded_at", [newest_event])


def test_label_maturity_sensor_fires_once_when_a_new_cutoff_matures_with_enough_labels(tmp_path):
    settings = settings_in(tmp_path, label_retrain_min_labels=50)
    defs = _defs(settings)
    with dg.instance_for_test() as instance:
        nothing = _tick(defs, "label_maturity_sensor", instance, settings)
        assert nothing.run_requests == [] and "No load or no champion" in nothing.skip_message
        counts = {"2024-02-01": 80, "2024-03-01": 80, "2024-04-01": 80, "2024-05-01": 30}
        # data to 2024-06-29: 2024-04-01 + 90 days is 2024-06-30, not yet closed
        _label_warehouse(settings, "2024-06-29 23:00", counts)
        early = _tick(defs, "label_maturity_sensor", instance, settings)
        assert early.run_requests == []
        assert "churn: 0 cutoff(s) after churn_model v4's holdout 2024-03-01 matured" in \
            early.skip_message
        # one more day: 2024-04-01 matured with 80 active customers' labels
        _label_warehouse(settings, "2024-06-30 08:00", counts)
        fired = _tick(defs, "label_maturity_sensor", instance, settings)
        (request,) = fired.run_requests
        assert request.job_name == "retrain_job"
        assert request.tags[TRIGGER_TAG] == (
            "new labels matured: churn: cutoff 2024-04-01 matured with 80 labels after "
            "churn_model v4's holdout 2024-03-01")
        assert request.run_key == fired.cursor == "labels:churn:churn_model v4:2024-04-01"
        again = _tick(defs, "label_maturity_sensor", instance, settings, cursor=fired.cursor)
        assert again.run_requests == [] and "Already requested" in again.skip_message
        # 2024-05-01 matures next, with 30 labels: fewer than required
        _label_warehouse(settings, "2024-07-31 08:00", counts)
        few = _tick(defs, "label_maturity_sensor", instance, settings, cursor=fired.cursor)
        assert few.run_requests == [] and "Already requested" in few.skip_message
        strict = settings_in(tmp_path, label_retrain_min_labels=81)
        none = _tick(_defs(strict), "label_maturity_sensor", instance, strict)
        assert none.run_requests == [] and "the largest with 80 labels (at least 81" in \
            none.skip_message
