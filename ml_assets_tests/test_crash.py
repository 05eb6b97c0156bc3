"""Crash safety of whole runs: a real ``dagster asset materialize`` process is
SIGKILLed during training, during registration and during promotion (see
``kill_points``). After each kill the registry is consistent (no half-registered
version, no row pointing at a missing or different folder), the champion and
its history are unchanged, and a plain rerun succeeds with no cleanup of the
warehouse or the model folder.

The instance is configured like the project's dagster.yaml, "warehouse" pool
included. Dagster itself does not notice a run worker killed outright: the run
stays STARTED and keeps its pool slot, so later warehouse steps would wait for
it. The test asserts that, then does what the daemon's run monitoring
(``free_slots_after_run_end_seconds``) or an operator does: mark the run failed
and free its slots.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ml_assets import registry
from ml_assets.ingest.sample_data import write_sample
from ml_assets_tests.instances import PROJECT, project_instance_home

LTV_PATH = "ltv_model,ltv_baselines,ltv_evaluation,ltv_promotion"
UPSTREAM = "raw_transactions,rejected_transactions,training_snapshots,customer_features"
FAST = {"training_cutoffs": 24, "validation_folds": 2, "max_rounds": 60,
        "early_stopping_rounds": 10, "min_child_samples": 20, "num_threads": 1}
# A policy any sound candidate passes, so every completed promotion promotes.
LAX = {"PROMOTION_MIN_HOLDOUT": "100", "LTV_MIN_GINI_GAIN": "-1", "PROMOTION_ALPHA": "1.01",
       "LTV_MAX_TOTAL_ERROR": "1e9", "LTV_MIN_COVERAGE": "0", "LTV_MAX_RMSE_REGRESSION": "1e9",
       "LTV_MAX_TOTAL_ERROR_REGRESSION": "1e9", "LTV_MAX_COVERAGE_DROP": "1"}
MODEL = "ltv_model"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _env(folder: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_ASSETS_")}
    env.update({f"ML_ASSETS_{k}": v for k, v in LAX.items()})
    env.update(
        DAGSTER_HOME=str(home),
        ML_ASSETS_TRANSACTIONS=str(folder / "tx.csv"),
        ML_ASSETS_WAREHOUSE=str(folder / "warehouse.duckdb"),
        ML_ASSETS_MODEL_DIR=str(folder / "models"),
    )
    return env


def _command(point: str, marker: Path, selection: str, *extra: str) -> list[str]:
    config = json.dumps({"ops": {MODEL: {"config": FAST}}})
    return [sys.executable, "-m", "ml_assets_tests.kill_points", point, str(marker), "--",
            "asset", "materialize", "-m", "ml_assets", "--select", selection,
            "--config-json", config, *extra]


def _run(env, folder, selection, *extra) -> None:
    done = subprocess.run(_command("none", folder / "unused", selection, *extra), env=env,
                          cwd=PROJECT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def _kill_at(env, folder, point: str) -> None:
    marker = folder / f"{point}.reached"
    child = subprocess.Popen(_command(point, marker, LTV_PATH), env=env, cwd=PROJECT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"run ended before {point}: {child.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            raise AssertionError(f"run never reached {point}")
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    child.stderr.close()


def _first_run_in_process(env: dict, home: Path) -> None:
    """The chain up to ltv_promotion, in this process (it has imported everything
    already) and on the same instance the killed runs use."""
    from ml_assets.definitions import defs
    from ml_assets.settings import Settings
    from ml_assets_tests.conftest import executable, resources_for

    settings = Settings.from_env(env)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            executable(defs),
            selection=f"{UPSTREAM},{LTV_PATH}".split(","),
            instance=instance,
            resources=resources_for(settings),
            run_config={"ops": {MODEL: {"config": FAST}}},
            # the cutoffs ltv_model needs: its holdout (the newest with a mature
            # 365-day label, 2024-01) and training cutoffs a year before it
            tags={"dagster/asset_partition_range_start": "2022-01-01",
                  "dagster/asset_partition_range_end": "2024-01-01"},
        )
    assert result.success


def _registry_state(folder: Path) -> dict:
    """The registry as a reader sees it; every live version must verify."""
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as conn:
        versions = registry.list_versions(conn, MODEL)
        for row in versions.itertuples():
            assert row.status == "active"
            registry.load_verified(conn, MODEL, version=row.version)  # raises if inconsistent
        return {
            "versions": list(versions["version"]),
            "paths": set(versions["artifact_path"]),
            "champion": _version(registry.resolve_alias(conn, "ltv", "champion")),
            "challenger": _version(registry.resolve_alias(conn, "ltv", "challenger")),
            "champion_moves": list(
                registry.history(conn, "ltv").query("alias == 'champion'")["to_version"]
            ),
            "decisions": conn.execute(
                "SELECT count(*) FROM promotion_decisions WHERE task = 'ltv'"
            ).fetchone()[0],
        }


def _version(ref):
    """The version of ``MODEL`` an alias names (the test's policy promotes only it)."""
    if ref is None:
        return None
    assert ref[0] == MODEL, f"the alias names {ref}, not {MODEL}"
    return ref[1]


def _folders(folder: Path) -> set[str]:
    home = folder / "models" / MODEL
    return {str(p) for p in home.iterdir()} if home.is_dir() else set()


def _release_dead_run(home: Path) -> str:
    """Assert the killed run still holds the warehouse slot, then free it the way
    run monitoring does for a run that ended; returns the run id."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        dead = instance.get_runs(limit=1)[0]
        assert dead.status == dg.DagsterRunStatus.STARTED
        pool = instance.event_log_storage.get_concurrency_info("warehouse")
        assert {s.run_id for s in pool.claimed_slots} == {dead.run_id}
        instance.report_run_failed(dead)
        instance.event_log_storage.free_concurrency_slots_for_run(dead.run_id)
        assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []
    return dead.run_id


def test_killed_runs_leave_the_registry_consistent_and_a_rerun_succeeds(tmp_path):
    write_sample(tmp_path / "tx.csv", n_customers=1500, seed=3)
    home = project_instance_home(tmp_path)
    env = _env(tmp_path, home)
    _first_run_in_process(env, home)
    base = _registry_state(tmp_path)
    assert base == {"versions": [1], "paths": base["paths"], "champion": 1, "challenger": 1,
                    "champion_moves": [1], "decisions": 1}, "the first run must promote v1"

    # killed after fitting, before registering: nothing changes, not even a folder
    _kill_at(env, tmp_path, "training")
    assert _registry_state(tmp_path) == base
    assert _folders(tmp_path) == base["paths"]
    _release_dead_run(home)

    # killed with the folder renamed and the row inserted but not committed:
    # no row survives; the folder is an orphan nothing points at
    _kill_at(env, tmp_path, "registration")
    assert _registry_state(tmp_path) == base
    orphans = _folders(tmp_path) - base["paths"]
    assert len(orphans) == 1 and Path(next(iter(orphans))).name.startswith("v0002-")
    _release_dead_run(home)

    # killed with the decision inserted and the champion moved, uncommitted:
    # the new version (registered and evaluated earlier in the run) is challenger,
    # but the champion, its history and the decision log are as before
    _kill_at(env, tmp_path, "promotion")
    killed = _registry_state(tmp_path)
    assert killed["versions"] == [1, 2] and killed["challenger"] == 2
    assert (killed["champion"], killed["champion_moves"], killed["decisions"]) == (1, [1], 1)
    assert not killed["paths"] & orphans  # the orphan's number was reused, not its folder
    _release_dead_run(home)

    # a plain rerun: no sweep, no manual fixes to the warehouse or model folder
    _run(env, tmp_path, LTV_PATH)
    final = _registry_state(tmp_path)
    assert final["versions"] == [1, 2, 3]
    assert (final["champion"], final["challenger"], final["champion_moves"]) == (3, 3, [1, 3])
    assert final["decisions"] == 2
    assert _folders(tmp_path) - final["paths"] == orphans  # still unreferenced, still harmless
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        assert {str(p) for p in registry.sweep_orphans(conn, tmp_path / "models")} == orphans
    assert _folders(tmp_path) == final["paths"]
