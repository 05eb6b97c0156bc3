"""The point-in-time feature SQL, for every customer at many cutoffs (the
snapshots, a chunk of customers at a time), for chosen (cutoff, customer)
pairs (the BTYD fit's sample), or for one customer at one day (scoring on
demand): one query every way, so a feature cannot mean two things."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import read_sql


# The windows [cutoff - w, cutoff) of the window features, in days; features.sql
# names each in its pivot. The features look the state up at these offsets from
# each cutoff.
WINDOW_DAYS = (30, 90, 180, 275, 365)
FEATURE_OFFSETS = (0, *(-w for w in WINDOW_DAYS))


def prepare_state(
    conn: duckdb.DuckDBPyConnection,
    cutoffs: list[date],
    horizons: tuple[int, ...] = (),
    customer: str | None = None,
    before: date | None = None,
) -> None:
    """Build the first purchases and the per-customer running state (temp
    tables) for features at ``cutoffs`` and, when ``horizons`` (days) are given,
    labels over [cutoff, cutoff + horizon): for every customer and event, or
    only ``customer``'s events before ``before``. The state holds only the days
    those look-ups need (state_boundaries.sql)."""
    offsets = [*FEATURE_OFFSETS, *horizons]
    conn.execute(read_sql(__file__, "state_boundaries.sql"), {"cutoffs": cutoffs, "offsets": offsets})
    conn.execute(read_sql(__file__, "customer_spans.sql"), {"customer": customer, "before": before})
    conn.execute(read_sql(__file__, "first_purchases.sql"))
    conn.execute(read_sql(__file__, "customer_state.sql"))  # keyed by first_purchases
    conn.execute("DROP TABLE customer_spans")


def require_lookups(conn: duckdb.DuckDBPyConnection, cutoffs: list[date],
                    offsets: tuple[int, ...]) -> None:
    """Refuse look-ups of the state at days it was not prepared for: the state
    between two boundaries is rolled up, so such a look-up would be wrong."""
    days = {c + timedelta(days=o) for c in cutoffs for o in offsets}
    held = {row[0] for row in conn.execute("SELECT day FROM state_boundaries").fetchall()}
    missing = sorted(days - held)
    if missing:
        raise ValueError(
            f"the customer state was prepared without the look-up days {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}: call prepare_state with these cutoffs "
            "(and the label horizons) first")


def stage_features(
    conn: duckdb.DuckDBPyConnection,
    cutoffs: list[date],
    keys: tuple[int, int] | None = None,
    pairs: pd.DataFrame | None = None,
) -> None:
    """Features into temp table staged_features: for every eligible customer at
    each of ``cutoffs`` (only those with a customer_key in the range ``keys``,
    both ends included, when given), or for the rows of ``pairs``
    (cutoff_date, customer_key) instead."""
    lo, hi = keys or (None, None)
    if pairs is None:
        stage_pairs(conn, cutoffs, keys)
    else:
        conn.register("_pairs", pairs)
        try:
            conn.execute("CREATE OR REPLACE TEMP TABLE snapshot_pairs AS SELECT "
                         "cutoff_date::DATE AS cutoff_date, customer_key::BIGINT AS customer_key "
                         "FROM _pairs")
        finally:
            conn.unregister("_pairs")
    require_lookups(conn, _pair_cutoffs(conn), FEATURE_OFFSETS)
    sql = read_sql(__file__, "features.sql")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE staged_features AS {sql}",
                 {"lo": lo, "hi": hi, "windows": list(WINDOW_DAYS)})


def stage_pairs(
    conn: duckdb.DuckDBPyConnection, cutoffs: list[date], keys: tuple[int, int] | None = None
) -> None:
    """Temp table snapshot_pairs: every customer in the snapshot at each of
    ``cutoffs`` (first purchase before it), only those with a customer_key in
    the range ``keys`` (ends included) when given. Features and labels both
    read it, so who is in a snapshot is stated once."""
    lo, hi = keys or (None, None)
    conn.execute(read_sql(__file__, "snapshot_pairs.sql"), {"cutoffs": cutoffs, "lo": lo, "hi": hi})


def _pair_cutoffs(conn: duckdb.DuckDBPyConnection) -> list[date]:
    return [row[0] for row in conn.execute("SELECT DISTINCT cutoff_date FROM snapshot_pairs").fetchall()]
