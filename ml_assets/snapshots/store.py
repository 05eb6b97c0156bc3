"""Writing per-cutoff rows into the warehouse: whole cutoffs replaced atomically."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb

from ml_assets.lib.warehouse import atomic, table_exists


def replace_cutoffs(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    staged: str,
    cutoffs: list[date],
    partitions_def: dg.PartitionsDefinition,
    every: list[date] | None = None,
    first: bool = True,
) -> None:
    """Replace ``table``'s rows for ``cutoffs`` with the temp table ``staged``.

    One transaction, a rebuild after a change of columns included: readers see
    the old rows or the new, never a mix, and a failure leaves the old table as
    it was. Table names are constants from code; values are bound. A run
    written in batches calls this once per batch inside its own transaction,
    with ``every`` the run's cutoffs and ``first`` for its first batch (the
    only one that may rebuild the table).
    """
    staged_columns = columns(conn, staged)
    with atomic(conn):
        if first and table_exists(conn, table) and columns(conn, table) != staged_columns:
            every_key = set(partitions_def.get_partition_keys())
            if not every_key <= {c.isoformat() for c in (every or cutoffs)}:
                raise dg.Failure(
                    f"The columns of {table} changed in code (stored: "
                    f"{len(columns(conn, table))}, new: {len(staged_columns)}). Materialize "
                    "every cutoff in one run so the table is rebuilt whole, e.g. dagster asset "
                    "materialize --partition-range START...END."
                )
            conn.execute(f"DROP TABLE {table}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {staged} LIMIT 0")
        conn.execute(
            f"DELETE FROM {table} WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))",
            {"cutoffs": cutoffs},
        )
        # fetched: duckdb blocks the connection's next statement on an unread result
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {staged}").fetchall()


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of ``table``."""
    return [(row[0], row[1]) for row in conn.execute(f"DESCRIBE {table}").fetchall()]
