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
