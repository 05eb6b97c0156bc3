"""Scores for every active customer at a cutoff, one partition per monthly
cutoff, from whatever model holds each task's champion alias (learned, plain
LightGBM, BTYD or rule): churn probability, risk level, top reasons, LTV with
its interval, value segment, and the model names and versions used.

Scores for the newest cutoff the data supports are *served*; scores written
for an older cutoff (a backfill) are marked ``backfilled`` and never count as
served evidence in ``model_performance``."""

import json
from datetime import date, datetime, timezone

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.lib.tables import markdown_table
from ml_assets.lib.warehouse import (
    atomic,
    connect,
    insert_frame,
    read_sql,
    table_exists,
)
from ml_assets.models.predict import Loaded, explainer, load_champion, predict
from ml_assets.partitions import CUTOFFS, SINGLE_RUN
from ml_assets.scoring.reasons import rfm_reasons, top_reasons
from ml_assets.settings import Settings

RISK_LEVELS = ["low", "medium", "high", "critical"]
VALUE_SEGMENTS = ["low", "medium", "high", "top"]


@dg.asset(
    deps=["churn_promotion", "ltv_promotion", "customer_features"],
    partitions_def=CUTOFFS,
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb"},
    code_version="2",
)
def customer_scores(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Scores the active customers at each requested cutoff with the models the
    registry's per-task champion aliases name, each verified by sha256 before
    loading. Table customer_scores (one partition per cutoff); the champions used
    per partition are in table scoring_runs."""
    cutoffs = sorted(date.fromisoformat(k) for k in context.partition_keys)
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        churn = load_champion(conn, "churn", settings.model_dir, "scoring")
        ltv = load_champion(conn, "ltv", settings.model_dir, "scoring")
        newest = conn.execute(read_sql(__file__, "newest_feature_cutoff.sql")).fetchone()[0]
        frames = {c: _active(conn, c, settings) for c in cutoffs}
        fits = {c: _btyd_fit(conn, c) for c in cutoffs}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    scored = [
        _score(frames[c], c, churn, ltv, settings, backfilled=c != newest, now=now,
               run_id=context.run.run_id)
        for c in cutoffs
    ]
    runs = [_run_row(s, c, churn, ltv, fits[c], now, context.run.run_id)
            for s, c in zip(scored, cutoffs)]
    with connect(warehouse) as conn:
        _replace_cutoffs(conn, scored, runs, cutoffs)
    return dg.MaterializeResult(metadata=_metadata(scored[-1], cutoffs, churn, ltv, newest, fits))


def _score(frame, cutoff, churn: Loaded, ltv: Loaded, settings, *, backfilled, now, run_id):
    p, _, _ = predict(churn, frame)
    value, lower, upper = predict(ltv, frame)
    reasons = _reasons(churn, frame)
    return pd.DataFrame(
        {
            "cutoff_date": cutoff,
            "customer_id": frame["customer_id"],
            "churn_probability": p,
            "risk_level": _levels(p, settings.risk_thresholds, RISK_LEVELS),
            "reason_1": [r[0] if len(r) > 0 else None for r in reasons],
            "reason_2": [r[1] if len(r) > 1 else None for r in reasons],
            "reason_3": [r[2] if len(r) > 2 else None for r in reasons],
            "predicted_ltv": value,
            "ltv_lower": lower,
            "ltv_upper": upper,
            "value_segment": _levels(
                value, np.quantile(value, settings.value_segments), VALUE_SEGMENTS
            ),
            "churn_model_name": churn.row["model_name"],
            "churn_model_version": churn.row["version"],
            "ltv_model_name": ltv.row["model_name"],
            "ltv_model_version": ltv.row["version"],
            "backfilled": backfilled,
            "scored_at": now,
            "run_id": run_id,
        }
    )


def _reasons(churn: Loaded, frame: pd.DataFrame) -> list[list[str]]:
    """Feature contributions of the churn champion's booster, or for BTYD and
    rule champions (functions of recency, frequency and value) the customer's
    recency, frequency and value against the scored population."""
    explained = explainer(churn)
    if explained is None:
        return rfm_reasons(frame)
    booster, features = explained
    return top_reasons(booster, frame, features)


def _active(conn, cutoff: date, settings: Settings) -> pd.DataFrame:
    frame = conn.execute(
        read_sql(__file__, "active_features.sql"),
        {"cutoff": cutoff, "active_days": settings.active_days},
    ).df()
    if frame.empty:
        raise dg.Failure(
            f"No active customers at cutoff {cutoff}: materialize customer_features for it."
        )
    return frame


def _btyd_fit(conn, cutoff: date) -> dict | None:
    if not table_exists(conn, "btyd_fits"):
        return None
    row = conn.execute(read_sql(__file__, "btyd_fit.sql"), {"cutoff": cutoff}).fetchone()
    return None if row is None else json.loads(row[0])


def _run_row(scores, cutoff, churn: Loaded, ltv: Loaded, fit, now, run_id) -> dict:
    uses_btyd = "btyd" in (churn.family, ltv.family)
    return {
        "cutoff_date": cutoff, "run_id": run_id, "scored_at": now, "customers": len(scores),
        "churn_model_name": churn.row["model_name"], "churn_model_version": churn.row["version"],
        "ltv_model_name": ltv.row["model_name"], "ltv_model_version": ltv.row["version"],
        "backfilled": bool(scores["backfilled"].iloc[0]),
        "btyd_fit": json.dumps(fit) if uses_btyd and fit is not None else None,
    }


def _levels(values: np.ndarray, cuts, names: list[str]) -> np.ndarray:
    return np.array(names, dtype=object)[np.searchsorted(cuts, values, side="right")]


def _replace_cutoffs(conn, scored: list[pd.DataFrame], runs: list[dict], cutoffs) -> None:
    """Write the cutoffs' scores in one transaction. A backfill never replaces the
    scores that were served for a cutoff: they are the only real evidence of how
    the champion of the time did."""
    conn.execute(read_sql(__file__, "create_scores.sql"))
    scores = pd.concat(scored, ignore_index=True)
    backfills = [c for c, s in zip(cutoffs, scored) if bool(s["backfilled"].iloc[0])]
    served = [row[0] for row in conn.execute(
        read_sql(__file__, "served_cutoffs.sql"), {"cutoffs": backfills}).fetchall()]
    if served:
        raise dg.Failure(
            f"Cutoffs {', '.join(str(c) for c in served)} hold the scores served at the time; "
            "scoring them again now would be a backfill that replaces that evidence "
            "(model_performance measures only served scores). Score only cutoffs without served "
            "scores, or delete those rows from customer_scores first if you mean to."
        )
    with atomic(conn):
        conn.execute("DELETE FROM customer_scores WHERE cutoff_date IN (SELECT unnest(?::DATE[]))",
                     [cutoffs])
        insert_frame(conn, "customer_scores", scores)
        insert_frame(conn, "scoring_runs", pd.DataFrame(runs))


def _metadata(scores, cutoffs, churn: Loaded, ltv: Loaded, newest, fits) -> dict:
    p, value = scores["churn_probability"], scores["predicted_ltv"]
    mix = pd.crosstab(scores["risk_level"], scores["value_segment"]).reindex(
        index=RISK_LEVELS, columns=VALUE_SEGMENTS, fill_value=0
    )
    return {
        "cutoffs": ", ".join(c.isoformat() for c in cutoffs),
        "backfilled_cutoffs": ", ".join(c.isoformat() for c in cutoffs if c != newest) or "none",
        "dagster/row_count": len(scores),
        "churn_champion": churn.label,
        "ltv_champion": ltv.label,
        "btyd_fit_at_cutoff": dg.MetadataValue.json(fits[cutoffs[-1]] or {}),
        "mean_churn_probability": round(float(p.mean()), 4),
        "expected_churners": round(float(p.sum()), 1),
        "total_predicted_ltv": round(float(value.sum()), 2),
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
