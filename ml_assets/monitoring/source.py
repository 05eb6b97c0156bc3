"""Cheap reads for sensor ticks and schedules: the transaction file's size,
row count and newest event without scanning it, and small rows of the
warehouse's monitoring and ingest tables.

Nothing here reads the transaction log's data: a CSV costs one ``os.stat``,
its header line and its last 64 KiB; a Parquet file costs its footer.
"""

from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from ml_assets.lib.columns import parse_column_map
from ml_assets.lib.warehouse import column_names, read_sql, table_exists
from ml_assets.settings import Settings

TAIL_BYTES = 64 * 1024


class WarehouseBusy(Exception):
    """The warehouse file is locked by a writer (a run is materializing)."""


def source_state(settings: Settings) -> dict | None:
    """``{"path", "bytes", "mtime_ns", "rows", "newest_event"}`` of the transaction
    file, None when it does not exist. ``path`` is resolved, as ingest records it
    in ``ingest_log``; ``rows`` is known for Parquet only; ``newest_event`` is None
    when it cannot be read cheaply (gzip, unparseable)."""
    path = settings.transactions_path().resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    column = _order_ts_column(settings)
    rows, newest = None, None
    name = path.name.lower()
    if name.endswith(".parquet"):
        rows, raw = _parquet_footer(path, column)
        newest = _parse_ts(raw, settings.timestamp_format)
    elif name.endswith((".csv", ".tsv")):
        newest = _parse_ts(_csv_last_value(path, column), settings.timestamp_format)
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "rows": rows, "newest_event": newest}


@contextmanager
def read_only(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the warehouse, None when the file does not exist
    yet. Raises ``WarehouseBusy`` while another process holds the write lock."""
    if not Path(settings.warehouse).exists():
        yield None
        return
    try:
        conn = duckdb.connect(settings.warehouse, read_only=True)
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise WarehouseBusy(str(error).splitlines()[0]) from error
    try:
        yield conn
    finally:
        conn.close()


def latest_load(conn: duckdb.DuckDBPyConnection | None) -> dict | None:
    """The last ``ingest_log`` row: source_path, source_bytes, rows_in, max_order_ts."""
    return _one_row(conn, "ingest_log", "latest_load.sql", {})


def latest_drift(conn: duckdb.DuckDBPyConnection | None) -> dict | None:
    """The newest ``feature_drift_summary`` row."""
    return _one_row(conn, "feature_drift_summary", "latest_drift.sql", {})


def performance_rows(conn: duckdb.DuckDBPyConnection | None) -> list[dict]:
    """Every row of ``model_performance`` (one per scored cutoff), newest first."""
    if conn is None or not table_exists(conn, "model_performance"):
        return []
    cursor = conn.execute(read_sql(__file__, "performance_rows.sql"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def champion_versions(conn: duckdb.DuckDBPyConnection | None) -> dict[str, tuple[str, int]]:
    """task -> (model_name, version) its ``champion`` alias points at."""
    if conn is None or "task" not in column_names(conn, "model_aliases"):
        return {}  # no registry yet, or schema 1 (migrated by the next run that writes)
    rows = conn.execute(read_sql(__file__, "champions.sql")).fetchall()
    return {task: (name, int(version)) for task, name, version in rows}


def champion_holdouts(conn: duckdb.DuckDBPyConnection | None) -> dict[str, dict]:
    """task -> {model_name, version, seen}: the champion and the newest cutoff
    whose labels it saw (its holdout, else its newest training cutoff)."""
    if conn is None or not table_exists(conn, "model_versions") \
            or "task" not in column_names(conn, "model_aliases"):
        return {}
    out = {}
    for task, name, version, holdout, training in conn.execute(
            read_sql(__file__, "champion_holdouts.sql")).fetchall():
        cutoffs = json.loads(training) if training else []
        seen = holdout or (date.fromisoformat(max(cutoffs)) if cutoffs else None)
        out[task] = {"model_name": name, "version": int(version), "seen": seen}
    return out


def matured_labels(conn: duckdb.DuckDBPyConnection | None, after: date, days: int,
                   newest: datetime, active_days: int) -> list[tuple[date, int]]:
    """(cutoff, labels) of the cutoffs after ``after`` whose ``days``-day label
    window closed by ``newest``, newest first."""
    if conn is None or not table_exists(conn, "customer_features"):
        return []
    params = {"after": after, "days": days, "newest": newest, "active_days": active_days}
    return [(c, int(n)) for c, n in conn.execute(read_sql(__file__, "matured_labels.sql"),
                                                 params).fetchall()]


def _one_row(conn, table: str, sql: str, params: dict) -> dict | None:
    if conn is None or not table_exists(conn, table):
        return None
    cursor = conn.execute(read_sql(__file__, sql), params)
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row))


def _order_ts_column(settings: Settings) -> str:
    return parse_column_map(settings.column_map).get("order_ts", ("order_ts",))[0]


def _parquet_footer(path: Path, column: str) -> tuple[int, str | None]:
    conn = duckdb.connect()
    try:
        rows, newest = conn.execute(
            read_sql(__file__, "parquet_footer.sql"), {"path": str(path), "column": column}
        ).fetchone()
    finally:
        conn.close()
    return int(rows or 0), newest


def _csv_last_value(path: Path, column: str) -> str | None:
    """``column`` of the file's last complete line (the newest event of a log
    written in time order), from the header and the last ``TAIL_BYTES``."""
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    with open(path, "rb") as handle:
        header = next(csv.reader([handle.readline().decode("utf-8", "replace")], delimiter=delimiter),
                      [])
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read().decode("utf-8", "replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines or column not in header:
        return None
    fields = next(csv.reader(io.StringIO(lines[-1]), delimiter=delimiter), [])
    if len(fields) != len(header):
        return None
    return fields[header.index(column)]


def _parse_ts(text: str | None, timestamp_format: str) -> datetime | None:
    if not text:
        return None
    try:
        if timestamp_format:
            moment = datetime.strptime(text.strip(), timestamp_format)
        else:
            moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:  # the warehouse holds naive UTC
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
