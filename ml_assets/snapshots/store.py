"""Writing per-cutoff rows into the warehouse: whole cutoffs replaced atomically."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import dagster as dg
import duckdb

from ml_assets.lib.warehouse import atomic, in_transaction, table_exists


def replace_cutoffs_in_batches(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    staged: str,
    cutoffs: list[date],
    batches: list,
    stage: Callable,
    partitions_def: dg.PartitionsDefinition,
    with_commit: Callable[[], None] = lambda: None,
) -> None:
    """``stage`` each batch (of the rows for ``cutoffs``: a chunk of customers,
    say) into the temp table ``staged`` and collect the batches in the table
    ``<table>_run``, then replace ``table``'s rows for ``cutoffs`` with it in
    one transaction, together with ``with_commit`` (writes that must land with
    them).

    Each batch is copied in its own transaction, so its staging is freed once it
    is copied (DuckDB keeps a replaced or dropped table until the end of the
    transaction that replaced it: staging every batch inside one transaction
    would hold the whole run in memory and spill it). Readers of ``table`` see
    the old rows or the new, never a mix; a run that dies leaves ``table`` as it
    was, and a ``<table>_run`` that the next run replaces.
    """
    if in_transaction(conn):
        raise RuntimeError(f"replace_cutoffs_in_batches({table!r}) commits batch by batch: "
                           "call it outside atomic(conn).")
    run = f"{table}_run"
    for i, batch in enumerate(batches):
        stage(batch)
        verb = f"CREATE OR REPLACE TABLE {run} AS" if i == 0 else f"INSERT INTO {run} BY NAME"
        conn.execute(f"{verb} SELECT * FROM {staged}").fetchall()
    with atomic(conn):
        replace_cutoffs(conn, table, run, cutoffs, partitions_def, take=True)
        with_commit()


def replace_cutoffs(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    staged: str,
    cutoffs: list[date],
    partitions_def: dg.PartitionsDefinition,
    take: bool = False,
) -> None:
    """Replace ``table``'s rows for ``cutoffs`` with the rows of ``staged``.

    One transaction, a rebuild after a change of columns included: readers see
    the old rows or the new, never a mix, and a failure leaves the old table as
    it was. Table names are constants from code; values are bound. With
    ``take``, ``staged`` is a table this call may consume: when ``table`` holds
    no other cutoffs, it is renamed into place instead of copied.
    """
    staged_columns = columns(conn, staged)
    with atomic(conn):
        exists = table_exists(conn, table)
        if exists and columns(conn, table) != staged_columns:
            every_key = set(partitions_def.get_partition_keys())
            if not every_key <= {c.isoformat() for c in cutoffs}:
                raise dg.Failure(
                    f"The columns of {table} changed in code (stored: "
                    f"{len(columns(conn, table))}, new: {len(staged_columns)}). Materialize "
                    "every cutoff in one run so the table is rebuilt whole, e.g. dagster asset "
                    "materialize --partition-range START...END."
                )
            conn.execute(f"DROP TABLE {table}")
            exists = False
        if take and (not exists or not _holds_other_cutoffs(conn, table, cutoffs)):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"ALTER TABLE {staged} RENAME TO {table}")
            return
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {staged} LIMIT 0")
        conn.execute(
            f"DELETE FROM {table} WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))",
            {"cutoffs": cutoffs},
        )
        # fetched: duckdb blocks the connection's next statement on an unread result
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {staged}").fetchall()
        if take:
            conn.execute(f"DROP TABLE {staged}")


def _holds_other_cutoffs(conn: duckdb.DuckDBPyConnection, table: str, cutoffs: list[date]) -> bool:
    return conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} "
        "WHERE cutoff_date NOT IN (SELECT unnest($cutoffs::DATE[])))",
        {"cutoffs": cutoffs},
    ).fetchone()[0]


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of ``table``."""
    return [(row[0], row[1]) for row in conn.execute(f"DESCRIBE {table}").fetchall()]
