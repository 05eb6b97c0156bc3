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
from ml_assets.models.predict import Loaded, load_champion
from ml_assets.partitions import CUTOFFS, SINGLE_RUN
from ml_assets.scoring.frame import RISK_LEVELS, VALUE_SEGMENTS, score_frame, value_segments
from ml_assets.scoring.reasons import rfm_reference
from ml_assets.scoring.segments import segment_plot, segment_summary, segments
from ml_assets.settings import Settings


@dg.asset(
    deps=["churn_promotion", "ltv_promotion", "customer_features"],
    partitions_def=CUTOFFS,
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb"},
    code_version="3",
)
def customer_scores(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Scores the active customers at each requested cutoff with the models the
    registry's per-task champion aliases name, each verified by sha256 before
    loading. Table customer_scores (one partition per cutoff); the champions used
    per partition are in table scoring_runs."""
    cutoffs = sorted(date.fromisoformat(k) for k in context.partition_keys)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        churn = load_champion(conn, "churn", settings.model_dir, "scoring")
        ltv = load_champion(conn, "ltv", settings.model_dir, "scoring")
        newest = conn.execute(read_sql(__file__, "newest_feature_cutoff.sql")).fetchone()[0]
        fits = {c: _btyd_fit(conn, c) for c in cutoffs}
        scored = [
            _score(conn, c, churn, ltv, settings, backfilled=c != newest, now=now,
                   run_id=context.run.run_id)
            for c in cutoffs
        ]
        runs = [_run_row(s, c, churn, ltv, fits[c], stored, now, context.run.run_id)
                for (s, stored), c in zip(scored, cutoffs)]
        _replace_cutoffs(conn, [s for s, _ in scored], runs, cutoffs)
    return dg.MaterializeResult(metadata=_metadata(scored[-1][0], cutoffs, churn, ltv, newest, fits))


def _score(conn, cutoff, churn: Loaded, ltv: Loaded, settings, *, backfilled, now, run_id):
    """The cutoff's active customers scored in batches of ``scoring_batch_rows``
    (features are read, predicted and explained a batch at a time), then cut
    into value segments over the whole population, and segments."""
    params = {"cutoff": cutoff, "active_days": settings.active_days}
    population = rfm_reference(conn.execute(read_sql(__file__, "active_rfm.sql"), params).df())
    batches, tenure = [], []
    for frame in _active(conn, cutoff, settings):
        batches.append(score_frame(frame, cutoff, churn, ltv, settings.risk_thresholds, population))
        tenure.append(frame["tenure_days"].to_numpy(float))
    scores = pd.concat(batches, ignore_index=True)
    cuts = value_segments(scores, settings.value_segments)
    scores["segment"] = segments(scores, np.concatenate(tenure), settings)
    scores["backfilled"] = backfilled
    scores["scored_at"] = now
    scores["run_id"] = run_id
    return scores, {"value_cuts": cuts, "rfm_reference": population}


def _active(conn, cutoff: date, settings: Settings):
    """The active customers' features at ``cutoff``, in customer order, a batch
    of at most ``scoring_batch_rows`` rows at a time (keyset pages)."""
    params = {"cutoff": cutoff, "active_days": settings.active_days,
              "rows": settings.scoring_batch_rows, "after": None}
    frame = conn.execute(read_sql(__file__, "active_features.sql"), params).df()
    if frame.empty:
        raise dg.Failure(
            f"No active customers at cutoff {cutoff}: materialize customer_features for it."
        )
    while not frame.empty:
        yield frame
        params["after"] = frame["customer_id"].iloc[-1]
        frame = conn.execute(read_sql(__file__, "active_features.sql"), params).df()


def _btyd_fit(conn, cutoff: date) -> dict | None:
    if not table_exists(conn, "btyd_fits"):
        return None
    row = conn.execute(read_sql(__file__, "btyd_fit.sql"), {"cutoff": cutoff}).fetchone()
    return None if row is None else json.loads(row[0])


def _run_row(scores, cutoff, churn: Loaded, ltv: Loaded, fit, stored, now, run_id) -> dict:
    uses_btyd = "btyd" in (churn.family, ltv.family)
    return {
        "cutoff_date": cutoff, "run_id": run_id, "scored_at": now, "customers": len(scores),
        "churn_model_name": churn.row["model_name"], "churn_model_version": churn.row["version"],
        "ltv_model_name": ltv.row["model_name"], "ltv_model_version": ltv.row["version"],
        "backfilled": bool(scores["backfilled"].iloc[0]),
        "btyd_fit": json.dumps(fit) if uses_btyd and fit is not None else None,
        "value_cuts": json.dumps(stored["value_cuts"]),
        "rfm_reference": json.dumps(stored["rfm_reference"]),
    }


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
        conn.execute("DELETE FROM segment_summary WHERE cutoff_date IN (SELECT unnest(?::DATE[]))",
                     [cutoffs])
        insert_frame(conn, "segment_summary", segment_summary(scores).assign(run_id=runs[0]["run_id"]))


def _metadata(scores, cutoffs, churn: Loaded, ltv: Loaded, newest, fits) -> dict:
    p, value = scores["churn_probability"], scores["predicted_ltv"]
    summary = segment_summary(scores)
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
        "segment_summary": dg.MetadataValue.md(markdown_table(summary.drop(columns="cutoff_date"), ".3f")),
        "segment_chart": dg.MetadataValue.md(segment_plot(summary)),
        "value_at_risk": round(float(summary["value_at_risk"].sum()), 2),
        "preview": dg.MetadataValue.md(
            markdown_table(
                scores.sort_values("churn_probability", ascending=False)
                .head(5)[["customer_id", "churn_probability", "risk_level", "reason_1",
                          "predicted_ltv", "value_segment", "segment"]],
                ".3f",
            )
        ),
    }
