"""Read-only, per-request access to the warehouse."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

# what a request waits before asking again while a run writes the warehouse
RETRY_AFTER_SECONDS = 5


class WarehouseBusy(Exception):
    """A writer holds the warehouse file; ask again in a few seconds."""


class WarehouseMissing(Exception):
    """There is no warehouse file to read."""


@contextmanager
def read_only(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse opened read-only, closed on exit: a writer (a Dagster run)
    can take the file as soon as the request is answered."""
    if not Path(path).exists():
        raise WarehouseMissing(
            f"The warehouse {path} does not exist: run `dg launch --job retrain_job && dg launch "
            "--job scoring_job` first, or point ML_ASSETS_WAREHOUSE at one."
        )
    try:
        conn = duckdb.connect(path, read_only=True,
                              config={"threads": 1, "autoload_known_extensions": False})
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseBusy(
                f"A run is writing the warehouse {path}; retry in {RETRY_AFTER_SECONDS} s."
            ) from error
        raise
    try:
        yield conn
    finally:
        conn.close()
