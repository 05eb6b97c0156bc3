"""Reading an evaluation by its id, and recording a decision (with the alias
move) in one transaction."""

import json
from datetime import datetime, timezone

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from ml_assets import registry
from ml_assets.lib.warehouse import read_sql, table_exists

Key = tuple[str, str, int]  # (role, model_name, version)


def evaluation_metrics(conn: duckdb.DuckDBPyConnection, evaluation_id: str, task: str) -> pd.DataFrame:
    """The metrics of the evaluation this promotion was handed."""
    if not table_exists(conn, "evaluation_metrics"):
        raise dg.Failure(f"No evaluation recorded yet: materialize {task}_evaluation first.")
    frame = conn.execute(
        read_sql(__file__, "evaluation_metrics.sql"), {"evaluation_id": evaluation_id}
    ).df()
    if frame.empty:
        raise dg.Failure(
            f"Evaluation {evaluation_id} has no rows in evaluation_metrics: materialize "
            f"{task}_evaluation again."
        )
    return frame


def metrics_by_model(evaluation: pd.DataFrame) -> dict[Key, dict[str, float]]:
    """(role, model_name, version) -> {metric: value}."""
    return {
        (role, name, int(version)): dict(zip(group["metric"], group["value"]))
        for (role, name, version), group in evaluation.groupby(["role", "model_name", "model_version"])
    }


def predictions(conn, evaluation_id: str, key: Key) -> pd.DataFrame:
    role, model_name, version = key
    params = {"evaluation_id": evaluation_id, "role": role, "model_name": model_name,
              "model_version": version}
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


def record(conn: duckdb.DuckDBPyConnection, row: dict, run_id: str) -> None:
    """Insert the decision and, when it names a model to promote, move the task's
    ``champion`` to it: all or nothing."""
    conn.execute(read_sql(__file__, "create_decisions.sql"))
    with registry.atomic(conn):
        conn.execute(
            "INSERT INTO promotion_decisions BY NAME SELECT * FROM (SELECT "
            + ", ".join(f"? AS {k}" for k in row)
            + ")",
            [json.dumps(v) if isinstance(v, (list, dict)) else v for v in row.values()],
        )
        if row["promoted"]:
            registry.set_alias(
                conn, row["task"], "champion", row["promoted_model"], row["promoted_version"],
                reason=row["reasons"], moved_by=f"promotion:{run_id}", run_id=run_id,
            )


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
