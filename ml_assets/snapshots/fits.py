"""Keeping the BTYD fit of every cutoff (table ``btyd_fits``)."""

import json

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import atomic, insert_frame, read_sql


def store_fits(conn: duckdb.DuckDBPyConnection, fits: list[dict]) -> None:
    """Replace the stored fit of each cutoff in ``fits`` ({"cutoff": ..., params})."""
    conn.execute(read_sql(__file__, "btyd_fits.sql")).fetchall()
    rows = pd.DataFrame(
        {
            "cutoff_date": pd.to_datetime([f["cutoff"] for f in fits]).date,
            "params": [json.dumps({k: v for k, v in f.items() if k != "cutoff"}) for f in fits],
        }
    )
    with atomic(conn):
        conn.execute("DELETE FROM btyd_fits WHERE cutoff_date IN (SELECT unnest(?::DATE[]))",
                     [list(rows["cutoff_date"])]).fetchall()
        insert_frame(conn, "btyd_fits", rows)
