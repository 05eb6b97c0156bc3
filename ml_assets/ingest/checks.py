"""Data-quality gates on the loaded transaction log; each blocks downstream
assets when it fails."""

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from ml_assets.lib.warehouse import connect, read_sql, table_exists
from ml_assets.settings import Settings, env_var


@dg.asset_check(asset="raw_transactions", blocking=True, pool="warehouse")
def rejected_share_under_limit(
    settings: Settings, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    """The last load rejected at most max_rejected_share of its input rows; more
    means the file or the column map is wrong, not that a few rows are dirty."""
    with connect(warehouse) as conn:
        _require(conn, "ingest_log")
        rows_in, kept, rejected, path, loaded_at = conn.execute(
            read_sql(__file__, "latest_load.sql")
        ).fetchone()
    share = rejected / rows_in
    limit = settings.max_rejected_share
    return dg.AssetCheckResult(
        passed=share <= limit,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if share <= limit else (
            f"{share:.1%} of the rows were rejected (limit {limit:.1%}); see "
            f"rejected_transactions, fix the file or {env_var('column_map')}, or raise "
            f"{env_var('max_rejected_share')}."
        ),
        metadata={
            "rejected_share": share,
            "limit": limit,
            "rows_in": rows_in,
            "rows_kept": kept,
            "rows_rejected": rejected,
            "source_path": path,
            "loaded_at": str(loaded_at),
        },
    )


@dg.asset_check(asset="raw_transactions", blocking=True, pool="warehouse")
def order_ids_unique(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """No order id appears on more than one row of transactions."""
    with connect(warehouse) as conn:
        _require(conn, "transactions")
        duplicated, rows, examples = conn.execute(
            read_sql(__file__, "check_order_ids.sql")
        ).fetchone()
    return dg.AssetCheckResult(
        passed=duplicated == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "duplicated_order_ids": duplicated,
            "rows_involved": int(rows),
            "examples": examples,
        },
    )


@dg.asset_check(asset="raw_transactions", blocking=True, pool="warehouse")
def amounts_plausible(settings: Settings, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """Every amount is finite and at most max_amount in absolute value, and at
    least one is positive (a log of only refunds means the sign or column is wrong)."""
    with connect(warehouse) as conn:
        _require(conn, "transactions")
        rows, not_finite, too_large, positive, largest = conn.execute(
            read_sql(__file__, "check_amounts.sql"), {"max_amount": settings.max_amount}
        ).fetchone()
    return dg.AssetCheckResult(
        passed=not_finite == 0 and too_large == 0 and positive > 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": rows,
            "not_finite": not_finite,
            "above_max_amount": too_large,
            "positive": positive,
            "max_amount": settings.max_amount,
            "largest_finite_abs_amount": float(largest) if largest is not None else None,
        },
    )


def _require(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    if not table_exists(conn, table):
        raise dg.Failure(
            f"Table {table} is not in the warehouse; materialize raw_transactions first."
        )
