"""Overlapping runs against one DuckDB warehouse, on an instance configured like
the project's dagster.yaml ("warehouse" pool, default limit 1).

Two real ``dagster asset materialize`` processes with the multiprocess
executor: a 12-cutoff backfill of the snapshot assets (one run, single-run
backfill policy) and a 3-cutoff run beside it. The test holds the pool's only
slot until both runs are waiting for it, so they provably overlap; then both
must finish, the pool must have run their warehouse steps one at a time, and
every cutoff of both must be in the tables, equal to a recomputation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ml_assets.ingest.assets import transaction_log
from ml_assets.settings import Settings
from ml_assets_tests.conftest import resources_for
from ml_assets_tests.factories import (
    monthly,
    random_transactions,
    snapshot_tables,
    warehouse_with,
)
from ml_assets_tests.instances import PROJECT, project_instance_home

BACKFILL = ("2022-01-01", "2022-12-01")
BESIDE = ("2023-01-01", "2023-03-01")
POOL = "warehouse"


def _start(env: dict, first: str, last: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize",
         "-m", "ml_assets_tests.multiprocess_defs",
         "--select", "training_snapshots,customer_features", "--partition-range", f"{first}...{last}"],
        env=env, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _wait_until(predicate, children, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for child in children:
            if child.poll() is not None:
                raise AssertionError(f"a run ended while waiting for {what}: {child.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _step_times(instance: dg.DagsterInstance, run_id: str, step: str) -> tuple[float, float]:
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    )
    times = {e.dagster_event.event_type: e.timestamp for e in events if e.step_key == step}
    return times[dg.DagsterEventType.STEP_START], times[dg.DagsterEventType.STEP_SUCCESS]


def _blocked(instance: dg.DagsterInstance, run_id: str) -> bool:
    return any(
        "blocked by limit for pool warehouse" in (e.message or "")
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    )


@pytest.mark.skipif(os.name != "posix", reason="forkserver start method")
def test_overlapping_multiprocess_runs_are_serialised_by_the_pool_and_lose_nothing(tmp_path):
    transactions = random_transactions(n_customers=150, seed=11)
    transactions.drop(columns="source_row").to_csv(tmp_path / "tx.csv", index=False)
    settings = Settings(transactions=str(tmp_path / "tx.csv"),
                        warehouse=str(tmp_path / "warehouse.duckdb"),
                        model_dir=str(tmp_path / "models"))
    home = project_instance_home(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_ASSETS_")}
    env.update(DAGSTER_HOME=str(home), ML_ASSETS_TRANSACTIONS=settings.transactions,
               ML_ASSETS_WAREHOUSE=settings.warehouse, ML_ASSETS_MODEL_DIR=settings.model_dir)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        loaded = dg.materialize(
            [transaction_log], instance=instance,
            resources=resources_for(settings),
        )
        assert loaded.success
        storage = instance.event_log_storage
        assert storage.get_concurrency_info(POOL).slot_count == 1  # the project's default_limit
        assert storage.claim_concurrency_slot(POOL, "holder", "holder").is_claimed

        children = [_start(env, *BACKFILL), _start(env, *BESIDE)]
        try:
            def both_waiting():
                info = storage.get_concurrency_info(POOL)
                return len({p.run_id for p in info.pending_steps} - {"holder"}) == 2

            _wait_until(both_waiting, children, "both runs to wait for the warehouse slot")
            storage.free_concurrency_slot_for_step("holder", "holder")
            for child in children:
                _, stderr = child.communicate(timeout=240)
                assert child.returncode == 0, stderr[-3000:]
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()

        runs = [r for r in instance.get_runs() if r.run_id != loaded.run_id]
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert all(_blocked(instance, r.run_id) for r in runs)
        (a_start, a_end), (b_start, b_end) = sorted(_step_times(instance, r.run_id, "snapshots") for r in runs)
        assert a_end <= b_start  # one warehouse writer at a time, across runs
        info = storage.get_concurrency_info(POOL)
        assert info.claimed_slots == [] and info.pending_steps == []

    cutoffs = monthly(BACKFILL[0], BACKFILL[1]) + monthly(BESIDE[0], BESIDE[1])
    with duckdb.connect(settings.warehouse, read_only=True) as conn:
        stored = {t: conn.execute(f"SELECT * FROM {t} ORDER BY cutoff_date, customer_id").df()
                  for t in ("customer_features", "training_snapshots")}
        logged = conn.execute("SELECT * FROM transactions").df()
    reference = snapshot_tables(warehouse_with(logged), cutoffs)
    for table, frame in stored.items():
        assert sorted(set(frame["cutoff_date"].dt.date)) == cutoffs == sorted(cutoffs)
        expected = reference.execute(f"SELECT * FROM {table} ORDER BY cutoff_date, customer_id").df()
        pd.testing.assert_frame_equal(frame, expected)
    assert len(cutoffs) == 15 and cutoffs[0] == date(2022, 1, 1)
