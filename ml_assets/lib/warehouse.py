"""The DuckDB warehouse: connections and the SQL files that run in it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from ml_assets.lib.runs import record_host, release_dead_runs


def warehouse_resource(path: str, memory_limit: str = "30%") -> DuckDBResource:
    """The DuckDB resource; DuckDB spills to disk beyond ``memory_limit`` (bytes
    like '8GB' or a share of RAM like '40%'), leaving room for the models."""
    return WarehouseResource(database=path, connection_config={"memory_limit": memory_limit})


class WarehouseResource(DuckDBResource):
    """DuckDB, plus a run-start hook: every step in the "warehouse" pool needs
    this resource, and Dagster sets it up (in the in-process executor, once per
    run) before the first step asks the pool for a slot. The hook frees the
    slots of runs whose process died, so this run does not wait on them forever."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run, instance = context.run, context.instance
        if run is None or instance is None:  # a sensor tick or a direct call
            return
        record_host(instance, run)
        release_dead_runs(instance, run.run_id, context.log)


@contextmanager
def connect(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for writing; the file's folder is created if needed.

    Closes the connection on failure too (DuckDB holds a file lock while a
    connection is open, and the resource itself only closes on success).
    """
    if warehouse.database != ":memory:":
        Path(warehouse.database).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as conn:
        try:
            yield conn
        finally:
            conn.close()


def read_sql(anchor: str, name: str) -> str:
    """Text of ``sql/<name>`` beside the module file ``anchor`` (pass ``__file__``)."""
    return (Path(anchor).parent / "sql" / name).read_text()


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchone()[0]
    )


def column_names(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The names of ``table``'s columns; empty when there is no such table."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {row[0] for row in rows}


@contextmanager
def atomic(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: BEGIN, run the block, COMMIT; ROLLBACK and re-raise on
    any exception. Inside an open transaction the block joins it, so nothing
    commits until the outermost ``atomic`` ends."""
    if in_transaction(conn):
        yield conn
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def in_transaction(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``conn`` has an explicit transaction open: outside one, every
    statement runs in its own transaction and gets a new id."""
    first = conn.execute("SELECT txid_current()").fetchone()[0]
    return conn.execute("SELECT txid_current()").fetchone()[0] == first


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Append a DataFrame's rows to ``table``, matching columns by name. ``table``
    is one of the project's own table names, never user input."""
    conn.register("_frame", frame)
    try:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame").fetchall()
    finally:
        conn.unregister("_frame")
