"""Scoring every model of a task on the holdout and storing the evidence."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd

from ml_assets.lib.warehouse import atomic, insert_frame, read_sql


@dataclass
class Entry:
    """One model's holdout predictions."""

    role: str  # candidate | champion | baseline
    name: str
    version: int
    pred: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    metrics: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def store(
    conn: duckdb.DuckDBPyConnection,
    evaluation_id: str,
    task: str,
    holdout: pd.DataFrame,
    y_true: np.ndarray,
    entries: list[Entry],
) -> None:
    """Write every model's predictions and metrics for this evaluation, atomically."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    cutoff = holdout["cutoff_date"].iloc[0]
    predictions = pd.concat(
        [
            pd.DataFrame(
                {
                    "evaluation_id": evaluation_id,
                    "task": task,
                    "role": e.role,
                    "model_name": e.name,
                    "model_version": e.version,
                    "cutoff_date": cutoff,
                    "customer_id": holdout["customer_id"].to_numpy(),
                    "y_true": y_true,
                    "y_pred": e.pred,
                    "y_lower": e.lower if e.lower is not None else np.nan,
                    "y_upper": e.upper if e.upper is not None else np.nan,
                }
            )
            for e in entries
        ],
        ignore_index=True,
    )
    metrics = pd.DataFrame(
        [
            (evaluation_id, now, task, e.role, e.name, e.version, cutoff, metric, float(value))
            for e in entries
            for metric, value in e.metrics.items()
        ],
        columns=[
            "evaluation_id", "evaluated_at", "task", "role", "model_name", "model_version",
            "cutoff_date", "metric", "value",
        ],
    )
    predictions["model_version"] = predictions["model_version"].astype("Int64")
    metrics["model_version"] = metrics["model_version"].astype("Int64")
    conn.execute(read_sql(__file__, "create_tables.sql"))
    with atomic(conn):
        for table, frame in (("holdout_predictions", predictions), ("evaluation_metrics", metrics)):
            conn.execute(f"DELETE FROM {table} WHERE evaluation_id = ?", [evaluation_id])
            insert_frame(conn, table, frame)


def comparison_table(entries: list[Entry], metrics: list[str]) -> pd.DataFrame:
    """Models as rows, chosen metrics as columns."""
    return pd.DataFrame(
        [{"model": f"{e.label} ({e.role})", **{m: e.metrics.get(m, np.nan) for m in metrics}} for e in entries]
    )
