"""Child process for the crash tests: run a ``dagster`` CLI command in this
process, after arranging for the run to stop dead at a named point.

    python -m ml_assets_tests.kill_points POINT MARKER -- dagster-args...

At the point the child writes MARKER and sleeps; the test then SIGKILLs it, so
the run dies exactly there, with its DuckDB transaction open, as it would on an
OOM kill or a pulled plug. POINT ``none`` runs the command unchanged.

Points (each lets the real code run up to the point, then hangs):
  ingest        transaction_log has loaded the file, inside its step (which
                holds the run's "warehouse" pool slot)
  training      ltv_model has fitted its boosters, nothing registered yet
  registration  the version folder is renamed to its final name and the
                model_versions row inserted, the transaction not committed
  promotion     the decision row is inserted and the champion alias moved,
                the transaction not committed
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path


def _hang(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


def install(point: str, marker: str) -> None:
    if point == "none":
        return
    if point == "ingest":
        from ml_assets.ingest import assets as ingest

        load = ingest.load_transactions

        def loaded_then_hang(*args, **kwargs):
            load(*args, **kwargs)
            _hang(marker)

        ingest.load_transactions = loaded_then_hang
    elif point == "training":
        from ml_assets.models import assets as models

        train = models.train_ltv

        def trained_then_hang(*args, **kwargs):
            train(*args, **kwargs)
            _hang(marker)

        models.train_ltv = trained_then_hang
    elif point == "registration":
        from ml_assets.registry import registry as reg

        insert = reg._insert_version

        def inserted_then_hang(*args):
            insert(*args)
            _hang(marker)

        reg._insert_version = inserted_then_hang
    elif point == "promotion":
        import ml_assets.registry as registry

        set_alias = registry.set_alias

        def moved_then_hang(conn, task, alias, model_name, version, **kwargs):
            set_alias(conn, task, alias, model_name, version, **kwargs)
            if alias == "champion":
                _hang(marker)

        registry.set_alias = moved_then_hang
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    point, marker, separator, *cli = sys.argv[1:]
    assert separator == "--", "usage: POINT MARKER -- dagster-args..."
    install(point, marker)
    sys.argv = ["dagster", *cli]
    runpy.run_module("dagster", run_name="__main__", alter_sys=True)
