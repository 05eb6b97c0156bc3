"""A run killed outright keeps its "warehouse" pool slot in Dagster's records.
The next CLI run must free it and finish, with no daemon and no manual step.

A real ``dagster asset materialize`` is SIGKILLed inside its ingest step (see
``kill_points``), on an instance configured like the project's dagster.yaml
(pool limit 1, no daemon); then a second CLI run of the same step must
complete within the subprocess timeout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import EngineEventData

from ml_assets.lib.runs import HOST_TAG, dead_reason
from ml_assets_tests.factories import random_transactions
from ml_assets_tests.instances import PROJECT, project_instance_home

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _command(point: str, marker: Path) -> list[str]:
    return [sys.executable, "-m", "ml_assets_tests.kill_points", point, str(marker), "--",
            "asset", "materialize", "-m", "ml_assets", "--select", "raw_transactions"]


def _env(folder: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_ASSETS_")}
    env.update(DAGSTER_HOME=str(home), ML_ASSETS_TRANSACTIONS=str(folder / "tx.csv"),
               ML_ASSETS_WAREHOUSE=str(folder / "warehouse.duckdb"),
               ML_ASSETS_MODEL_DIR=str(folder / "models"))
    return env


def _kill_inside_ingest(env: dict, folder: Path) -> None:
    marker = folder / "ingest.reached"
    child = subprocess.Popen(_command("ingest", marker), env=env, cwd=PROJECT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"run ended before ingest: {child.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            raise AssertionError("run never reached ingest")
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    child.stderr.close()


def test_a_run_after_a_killed_one_frees_its_pool_slot_and_completes(tmp_path):
    random_transactions(n_customers=60, seed=2).drop(columns="source_row").to_csv(
        tmp_path / "tx.csv", index=False
    )
    home = project_instance_home(tmp_path)
    env = _env(tmp_path, home)
    _kill_inside_ingest(env, tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (dead,) = instance.get_runs()
        assert dead.status == dg.DagsterRunStatus.STARTED  # Dagster did not notice
        claimed = instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
        assert {s.run_id for s in claimed} == {dead.run_id}

    # Without the fix this run waits for the slot forever and the timeout fails it.
    done = subprocess.run(_command("none", tmp_path / "unused"), env=env, cwd=PROJECT,
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Freed the warehouse pool slots of run {dead.run_id}" in done.stderr

    with dg.DagsterInstance.from_config(str(home)) as instance:
        statuses = {r.run_id: r.status for r in instance.get_runs()}
        assert statuses.pop(dead.run_id) == dg.DagsterRunStatus.FAILURE
        assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        assert info.claimed_slots == [] and info.pending_steps == []


def test_only_a_run_from_this_host_whose_process_is_gone_is_judged_dead():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now
    with dg.instance_for_test() as instance:
        def run_with(pid: int, host: str) -> dg.DagsterRun:
            run = instance.create_run_for_job(dg.GraphDefinition("g").to_job(), tags={HOST_TAG: host})
            instance.report_engine_event("Executing steps in process", run,
                                         EngineEventData.in_process(pid))
            return instance.get_run_by_id(run.run_id)

        here = socket.gethostname()
        assert dead_reason(instance, run_with(os.getpid(), here)) is None  # alive
        assert dead_reason(instance, run_with(gone.pid, "elsewhere")) is None  # not ours to judge
        assert f"pid {gone.pid}" in dead_reason(instance, run_with(gone.pid, here))
        assert dead_reason(instance, None) == "the run no longer exists"
