"""The point-in-time feature SQL, for every customer at many cutoffs (the
snapshots) or for one customer at one day (scoring on demand): one query
either way, so a feature cannot mean two things."""

from __future__ import annotations

from datetime import date

import duckdb

from ml_assets.lib.warehouse import read_sql


def prepare_state(
    conn: duckdb.DuckDBPyConnection, customer: str | None = None, before: date | None = None
) -> None:
    """Build the per-customer running state and first purchases (temp tables),
    for every customer and event, or only ``customer``'s events before ``before``."""
    params = {"customer": customer, "before": before}
    conn.execute(read_sql(__file__, "first_purchases.sql"), params)
    conn.execute(read_sql(__file__, "customer_state.sql"), params)  # keyed by first_purchases


def stage_features(conn: duckdb.DuckDBPyConnection, cutoffs: list[date]) -> None:
    """Features for every eligible customer at each cutoff into temp table staged_features."""
    sql = read_sql(__file__, "features.sql")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE staged_features AS {sql}", {"cutoffs": cutoffs})
