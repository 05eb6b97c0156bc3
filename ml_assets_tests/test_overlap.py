"""Two overlapping runs of the main command, from the CLI, on one instance and
one warehouse: both succeed, and no promotion decision acts on a version its
own run's evaluation did not judge.

With the "warehouse" pool the two runs' steps interleave one at a time, so
one run's promotion may come after the other's evaluation: the later decision
then finds the champion moved since its evaluation and is recorded as refused.
Promotion judges the checks of its own run, never the other run's planned ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb

from ml_assets.ingest.sample_data import write_sample
from ml_assets_tests.instances import PROJECT, project_instance_home

FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 60,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
LAX = {"PROMOTION_MIN_HOLDOUT": "100", "PROMOTION_ALPHA": "1.01", "CHURN_MIN_AUC_GAIN": "-1",
       "LTV_MIN_GINI_GAIN": "-1", "CHURN_MAX_ECE": "1", "LTV_MAX_TOTAL_ERROR": "1e9",
       "LTV_MIN_COVERAGE": "0"}


def _launch(env: dict, log: Path) -> subprocess.Popen:
    config = json.dumps({"ops": {m: {"config": FAST} for m in ("churn_model", "ltv_model")}})
    return subprocess.Popen(["dg", "launch", "--job", "retrain_job", "--config-json", config],
                            cwd=PROJECT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_two_overlapping_cli_runs_both_succeed_and_act_only_on_what_they_evaluated(tmp_path):
    write_sample(tmp_path / "tx.csv", n_customers=1500, seed=3)
    home = project_instance_home(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_ASSETS_")}
    env.update({f"ML_ASSETS_{k}": v for k, v in LAX.items()})
    env.update(DAGSTER_HOME=str(home), ML_ASSETS_TRANSACTIONS=str(tmp_path / "tx.csv"),
               ML_ASSETS_WAREHOUSE=str(tmp_path / "warehouse.duckdb"),
               ML_ASSETS_MODEL_DIR=str(tmp_path / "models"))
    first = _launch(env, tmp_path / "first.log")
    time.sleep(8)  # the second starts while the first is running, as a user would
    second = _launch(env, tmp_path / "second.log")
    for run, name in ((first, "first"), (second, "second")):
        code = run.wait(timeout=600)
        assert code == 0, (tmp_path / f"{name}.log").read_text()[-4000:]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        decisions = conn.execute(
            "SELECT task, run_id, evaluation_id, outcome, model_name, candidate_version, "
            "champion_model, champion_version, promoted_model, promoted_version, reasons "
            "FROM promotion_decisions ORDER BY decided_at").fetchall()
        judged = {
            (evaluation_id, name, version) for evaluation_id, name, version in conn.execute(
                "SELECT DISTINCT evaluation_id, model_name, model_version FROM evaluation_metrics"
            ).fetchall()
        }
        registered = dict(conn.execute(
            "SELECT model_name || ' v' || version, run_id FROM model_versions").fetchall())
        challengers = conn.execute("SELECT count(*) FROM model_aliases").fetchone()[0]
    assert sorted(d[0] for d in decisions) == ["churn", "churn", "ltv", "ltv"]
    assert len({d[1] for d in decisions}) == 2 and challengers == 4
    for task, run_id, evaluation_id, outcome, name, version, *_, promoted, promoted_v, why in decisions:
        # each decision reads its own run's evaluation, which judged its own run's candidate
        assert evaluation_id == f"{run_id}:{task}"
        assert (evaluation_id, name, version) in judged
        assert registered[f"{name} v{version}"] == run_id
        assert "planned" not in why and "never completed" not in why, why
        if outcome == "refused":
            assert promoted is None and "moved since the evaluation" in why
        else:
            # a promoted model is one this decision's evaluation judged
            assert outcome in ("candidate promoted", "baseline promoted", "champion kept"), why
            if promoted is not None:
                assert (evaluation_id, promoted, promoted_v) in judged
