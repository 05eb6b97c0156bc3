"""Reading training frames from the warehouse."""

from datetime import date

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import read_sql, table_exists

KEYS = ["cutoff_date", "customer_id"]
LABELS = ["churned", "future_spend"]


def mature_cutoffs(conn: duckdb.DuckDBPyConnection, label: str) -> list[date]:
    """Cutoffs whose ``label`` ('churn' or 'ltv') is mature for every customer."""
    rows = conn.execute(read_sql(__file__, "mature_cutoffs.sql"), {"label": label}).fetchall()
    return [row[0] for row in rows]


def load_frame(
    conn: duckdb.DuckDBPyConnection,
    cutoffs: list[date],
    label: str,
    active_days: int,
    per_cutoff: int = 0,
) -> pd.DataFrame:
    """Features and mature labels of active customers at ``cutoffs``, ordered;
    with ``per_cutoff`` > 0 a fixed sample of at most that many per cutoff."""
    params = {
        "cutoffs": list(cutoffs), "label": label, "active_days": active_days,
        "per_cutoff": per_cutoff,
    }
    frame = conn.execute(read_sql(__file__, "training_frame.sql"), params).df()
    frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"]).dt.date
    return frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEYS + LABELS]


def data_fingerprint(conn: duckdb.DuckDBPyConnection) -> str:
    """The loaded source file's sha256 when known, plus a digest of the table."""
    count, total, newest = conn.execute(
        "SELECT count(*), sum(amount::DECIMAL(18, 4)), max(order_ts) FROM transactions"
    ).fetchone()
    summary = f"rows={count};sum={total};newest={newest}"
    if table_exists(conn, "ingest_log"):
        row = conn.execute(
            "SELECT source_sha256 FROM ingest_log ORDER BY loaded_at DESC LIMIT 1"
        ).fetchone()
        if row:
            return f"sha256={row[0]};{summary}"
    return summary
