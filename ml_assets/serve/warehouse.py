"""Read-only, per-request access to the warehouse.

The process keeps one in-memory DuckDB instance; each request attaches the
warehouse file to it read-only, works on its own connection, and detaches it
before answering, so the file is locked (shared, read-only) only while a
request is being answered and a run's writer can take it in between. Attaching
costs about 3 ms where opening a new DuckDB instance per request costs 20-30
ms. Requests take the file one at a time."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

# what a request waits before asking again while a run writes the warehouse
RETRY_AFTER_SECONDS = 5
_ALIAS = "warehouse"
_instance = duckdb.connect(config={"threads": 1})
_lock = threading.Lock()


class WarehouseBusy(Exception):
    """A writer holds the warehouse file; ask again in a few seconds."""


class WarehouseMissing(Exception):
    """There is no warehouse file to read."""


@contextmanager
def read_only(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection on which the warehouse ``path`` is the default database,
    attached read-only for the block and detached after it."""
    if not Path(path).exists():
        raise WarehouseMissing(
            f"The warehouse {path} does not exist: run `dg launch --job retrain_job && dg launch "
            "--job scoring_job` first, or point ML_ASSETS_WAREHOUSE at one."
        )
    with _lock:
        try:
            _instance.execute(f"ATTACH $path AS {_ALIAS} (READ_ONLY)", {"path": path})
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise WarehouseBusy(
                    f"A run is writing the warehouse {path}; retry in {RETRY_AFTER_SECONDS} s."
                ) from error
            raise
        conn = _instance.cursor()  # its own temp tables, dropped when it closes
        try:
            conn.execute(f"USE {_ALIAS}")
            yield conn
        finally:
            conn.close()
            _instance.execute(f"DETACH {_ALIAS}")
