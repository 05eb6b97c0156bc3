"""One customer's features at an as-of date, from the snapshots' own SQL."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import read_sql
from ml_assets.snapshots.btyd_features import COLUMNS as BTYD_COLUMNS, btyd_values
from ml_assets.snapshots.features import prepare_state, stage_features


def btyd_fit(conn: duckdb.DuckDBPyConnection, as_of: date) -> tuple[date, dict] | None:
    """(cutoff, params) of the stored BTYD fit of the newest cutoff at or before ``as_of``."""
    row = conn.execute(read_sql(__file__, "btyd_fit.sql"), {"as_of": as_of}).fetchone()
    return None if row is None else (row[0], json.loads(row[1]))


def customer_features(conn: duckdb.DuckDBPyConnection, customer_id: str, as_of: date,
                      fit: dict, churn_days: int, ltv_days: int) -> pd.DataFrame:
    """The customer's row of features at ``as_of`` (empty when they had no purchase
    before it): features.sql over only their events strictly before ``as_of``,
    then the BTYD columns under the stored ``fit``."""
    prepare_state(conn, [as_of], customer=customer_id, before=as_of)
    stage_features(conn, [as_of])
    rows = conn.execute("SELECT * FROM staged_features").df()
    if rows.empty:
        return rows
    values = btyd_values(rows, fit, churn_days, ltv_days)
    for column in BTYD_COLUMNS:
        rows[column] = values[column].to_numpy()
    return rows
