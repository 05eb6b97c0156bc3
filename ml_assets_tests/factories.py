"""Small generated inputs shared by tests."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd


def random_transactions(
    n_customers: int = 150, start: str = "2021-01-01", days: int = 900, seed: int = 0
) -> pd.DataFrame:
    """A messy little log: uneven customers, several orders some days, refunds."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        first = rng.integers(0, days - 30)
        n = int(rng.geometric(0.12))
        offsets = np.sort(first + rng.integers(0, days - first, size=n))
        offsets[0] = first
        seconds = rng.integers(0, 86_400, size=n)
        amounts = np.round(rng.gamma(2.0, 20.0, size=n), 2)
        refund = rng.random(n) < 0.08
        amounts[refund] = -np.round(amounts[refund] * rng.uniform(0.2, 1.0, refund.sum()), 2)
        amounts[0] = abs(amounts[0]) + 1.0
        for off, sec, amt in zip(offsets, seconds, amounts):
            ts = pd.Timestamp(start) + pd.Timedelta(days=int(off)) + pd.Timedelta(seconds=int(sec))
            rows.append((f"C{c:04d}", ts, float(amt)))
    frame = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    frame["order_id"] = [f"O{i:06d}" for i in range(len(frame))]
    frame["quantity"] = 1.0
    frame["source_row"] = np.arange(1, len(frame) + 1)
    return frame


def warehouse_with(transactions: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding ``transactions`` in the ingest contract."""
    conn = duckdb.connect(":memory:")
    conn.register("_tx", transactions)
    conn.execute(
        """CREATE TABLE transactions AS SELECT customer_id::VARCHAR AS customer_id,
        order_ts::TIMESTAMP AS order_ts, amount::DOUBLE AS amount, order_id::VARCHAR AS order_id,
        quantity::DOUBLE AS quantity, source_row::BIGINT AS source_row FROM _tx"""
    )
    conn.unregister("_tx")
    return conn


def monthly(start: str, end: str) -> list:
    return [d.date() for d in pd.date_range(start, end, freq="MS")]


def snapshot_tables(conn: duckdb.DuckDBPyConnection, cutoffs: list, churn_days=90, ltv_days=365):
    """Fill customer_features and training_snapshots in ``conn`` with the real SQL."""
    from ml_assets.settings import Settings
    from ml_assets.snapshots.assets import prepare_state, stage_features, stage_labels
    from ml_assets.snapshots.btyd_features import add_btyd_features

    last_event = conn.execute("SELECT max(order_ts) FROM transactions").fetchone()[0]
    prepare_state(conn, cutoffs, (churn_days, ltv_days))
    stage_features(conn, cutoffs)
    add_btyd_features(conn, churn_days, ltv_days)
    stage_labels(conn, cutoffs, Settings(churn_window_days=churn_days, ltv_horizon_days=ltv_days), last_event)
    conn.execute("CREATE OR REPLACE TABLE customer_features AS SELECT * FROM staged_features")
    conn.execute("CREATE OR REPLACE TABLE training_snapshots AS SELECT * FROM staged_labels")
    return conn
