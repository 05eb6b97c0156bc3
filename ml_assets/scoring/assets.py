"""Batch scores for every active customer at a cutoff, from the champion models
only: churn probability, risk level, top reasons, LTV with its interval, value
segment, and the model versions used."""

from datetime import date, datetime, timezone

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ml_assets import registry
from ml_assets.evaluation.plots import markdown_table
from ml_assets.models.artifacts import read_model
from ml_assets.models.churn import churn_probability
from ml_assets.models.ltv import ltv_prediction
from ml_assets.partitions import SINGLE_RUN
from ml_assets.scoring.reasons import top_reasons
from ml_assets.settings import Settings
from ml_assets.warehouse import atomic, connect, read_sql

RISK_LEVELS = ["low", "medium", "high", "critical"]
VALUE_SEGMENTS = ["low", "medium", "high", "top"]


class ScoringConfig(dg.Config):
    cutoff: str = Field(
        default="",
        description="Cutoff to score (YYYY-MM-01). Empty: the newest cutoff in customer_features.",
    )


@dg.asset(
    deps=["churn_promotion", "ltv_promotion", "customer_features"],
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
)
def customer_scores(
    context: dg.AssetExecutionContext,
    config: ScoringConfig,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """Scores the active customers at the newest (or a chosen) cutoff with the models
    the registry's champion alias names, each verified by sha256 before loading.
    Refuses to score when a champion is missing. Table customer_scores."""
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        churn_row, churn_folder = _champion(conn, "churn_model", settings.model_dir)
        ltv_row, ltv_folder = _champion(conn, "ltv_model", settings.model_dir)
        cutoff = _cutoff(conn, config)
        frame = conn.execute(
            read_sql(__file__, "active_features.sql"),
            {"cutoff": cutoff, "active_days": settings.active_days},
        ).df()
    if frame.empty:
        raise dg.Failure(f"No active customers at cutoff {cutoff}: materialize customer_features for it.")
    churn_boosters, churn_meta = read_model(churn_folder)
    ltv_boosters, ltv_meta = read_model(ltv_folder)
    p = churn_probability(churn_boosters, churn_meta, frame)
    ltv, lower, upper = ltv_prediction(ltv_boosters, ltv_meta, frame)
    reasons = top_reasons(churn_boosters["churn"], frame, churn_meta["features"])
    scores = pd.DataFrame(
        {
            "cutoff_date": cutoff,
            "customer_id": frame["customer_id"],
            "churn_probability": p,
            "risk_level": _levels(p, _cuts(settings.risk_thresholds), RISK_LEVELS),
            "reason_1": [r[0] if len(r) > 0 else None for r in reasons],
            "reason_2": [r[1] if len(r) > 1 else None for r in reasons],
            "reason_3": [r[2] if len(r) > 2 else None for r in reasons],
            "predicted_ltv": ltv,
            "ltv_lower": lower,
            "ltv_upper": upper,
            "value_segment": _levels(
                ltv, np.quantile(ltv, _cuts(settings.value_segments)), VALUE_SEGMENTS
            ),
            "churn_model_version": churn_row["version"],
            "ltv_model_version": ltv_row["version"],
            "scored_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "run_id": context.run.run_id,
        }
    )
    with connect(warehouse) as conn:
        _replace_cutoff(conn, scores, cutoff)
    mix = pd.crosstab(scores["risk_level"], scores["value_segment"]).reindex(
        index=RISK_LEVELS, columns=VALUE_SEGMENTS, fill_value=0
    )
    return dg.MaterializeResult(
        metadata={
            "cutoff": cutoff.isoformat(),
            "dagster/row_count": len(scores),
            "churn_model_version": churn_row["version"],
            "ltv_model_version": ltv_row["version"],
            "mean_churn_probability": float(p.mean()),
            "expected_churners": float(p.sum()),
            "total_predicted_ltv": float(ltv.sum()),
            "risk_by_value": dg.MetadataValue.md(markdown_table(mix.reset_index(), ".0f")),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    scores.sort_values("churn_probability", ascending=False)
                    .head(5)[["customer_id", "churn_probability", "risk_level", "reason_1",
                              "predicted_ltv", "value_segment"]],
                    ".3f",
                )
            ),
        }
    )


def _champion(conn, model_name: str, model_dir: str):
    if registry.resolve_alias(conn, model_name, "champion") is None:
        raise dg.Failure(
            f"{model_name} has no champion yet, so there is nothing safe to score with. "
            f"Materialize {model_name.replace('_model', '')}_promotion until a candidate passes "
            "the promotion policy, or roll back to a known version with "
            "`python -m ml_assets.registry rollback`."
        )
    return registry.load_verified(conn, model_name, alias="champion", model_dir=model_dir)


def _cutoff(conn, config: ScoringConfig) -> date:
    if config.cutoff:
        return date.fromisoformat(config.cutoff)
    newest = conn.execute("SELECT max(cutoff_date) FROM customer_features").fetchone()[0]
    if newest is None:
        raise dg.Failure("customer_features is empty: materialize it for the cutoff to score.")
    return newest


def _cuts(text: str) -> list[float]:
    cuts = [float(v) for v in text.split(",")]
    if cuts != sorted(cuts) or len(cuts) != 3:
        raise dg.Failure(f"Expected three increasing cut points, got {text!r}.")
    return cuts


def _levels(values: np.ndarray, cuts, names: list[str]) -> np.ndarray:
    return np.array(names, dtype=object)[np.searchsorted(cuts, values, side="right")]


def _replace_cutoff(conn, scores: pd.DataFrame, cutoff: date) -> None:
    conn.execute(read_sql(__file__, "create_scores.sql"))
    with atomic(conn):
        conn.execute("DELETE FROM customer_scores WHERE cutoff_date = ?", [cutoff])
        conn.register("_scores", scores)
        conn.execute("INSERT INTO customer_scores BY NAME SELECT * FROM _scores")
        conn.unregister("_scores")
