"""Keeping the BTYD fit of every cutoff (table ``btyd_fits``)."""

import json

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import atomic, read_sql


def store_fits(conn: duckdb.DuckDBPyConnection, fits: list[dict]) -> None:
    """Replace the stored fit of each cutoff in ``fits`` ({"cutoff": ..., params})."""
    conn.execute(read_sql(__file__, "btyd_fits.sql"))
    rows = pd.DataFrame(
        {
            "cutoff_date": pd.to_datetime([f["cutoff"] for f in fits]).date,
            "params": [json.dumps({k: v for k, v in f.items() if k != "cutoff"}) for f in fits],
        }
    )
    with atomic(conn):
        conn.register("_fits", rows)
        conn.execute("DELETE FROM btyd_fits WHERE cutoff_date IN (SELECT cutoff_date FROM _fits)")
        conn.execute("INSERT INTO btyd_fits SELECT cutoff_date, params FROM _fits")
        conn.unregister("_fits")
