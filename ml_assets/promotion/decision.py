"""Reading an evaluation, testing the candidate against its reference, and
recording the decision (with the alias move) in one transaction."""

import json
from datetime import datetime, timezone

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from ml_assets import registry
from ml_assets.warehouse import read_sql, table_exists


def latest_evaluation(conn: duckdb.DuckDBPyConnection, task: str) -> pd.DataFrame:
    if not table_exists(conn, "evaluation_metrics"):
        raise dg.Failure(f"No evaluation recorded yet: materialize {task}_evaluation first.")
    frame = conn.execute(read_sql(__file__, "latest_evaluation.sql"), {"task": task}).df()
    if frame.empty:
        raise dg.Failure(f"No {task} evaluation recorded yet: materialize {task}_evaluation first.")
    return frame


def metrics_by_model(evaluation: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """(role, model_name) -> {metric: value}."""
    return {
        key: dict(zip(group["metric"], group["value"]))
        for key, group in evaluation.groupby(["role", "model_name"])
    }


def predictions(conn, evaluation_id: str, role: str, model_name: str) -> pd.DataFrame:
    params = {"evaluation_id": evaluation_id, "role": role, "model_name": model_name}
    return conn.execute(read_sql(__file__, "predictions.sql"), params).df()


def paired(candidate: pd.DataFrame, reference: pd.DataFrame):
    """y, candidate and reference predictions on the same customers, same order."""
    if not np.array_equal(candidate["customer_id"].to_numpy(), reference["customer_id"].to_numpy()):
        raise dg.Failure("Candidate and reference were not evaluated on the same customers.")
    return (
        candidate["y_true"].to_numpy(float),
        candidate["y_pred"].to_numpy(float),
        reference["y_pred"].to_numpy(float),
    )


def record(
    conn: duckdb.DuckDBPyConnection,
    row: dict,
    promote: bool,
    model_name: str,
    candidate_version: int,
    run_id: str,
) -> None:
    """Insert the decision and, when promoted, move ``champion``: all or nothing."""
    conn.execute(read_sql(__file__, "create_decisions.sql"))
    with registry.atomic(conn):
        conn.execute(
            "INSERT INTO promotion_decisions BY NAME SELECT * FROM (SELECT "
            + ", ".join(f"? AS {k}" for k in row)
            + ")",
            [json.dumps(v) if isinstance(v, (list, dict)) else v for v in row.values()],
        )
        if promote:
            registry.set_alias(
                conn, model_name, "champion", candidate_version,
                reason=row["reasons"], moved_by=f"promotion:{run_id}", run_id=run_id,
            )


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
