"""Shadow scores: every version in shadow applied beside its task's champion,
on the customers and cutoff the champion served, without touching
customer_scores.

A shadow version replaces only its own task's model: a churn shadow's rows
carry the champion's LTV columns and the reverse, so each row is a complete
score that could have been served. A version is scored only at cutoffs after
its holdout cutoff: the labels of those it never saw when it was trained."""

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
from ml_assets.models.predict import Loaded, load
from ml_assets.partitions import CUTOFFS, SINGLE_RUN
from ml_assets.scoring.frame import score_frame, value_segments
from ml_assets.scoring.reasons import rfm_reference
from ml_assets.scoring.segments import segments
from ml_assets.settings import Settings

TASKS = ("churn", "ltv")
PREDICTION = {"churn": "churn_probability", "ltv": "predicted_ltv"}


@dg.asset(
    deps=["customer_scores"],
    partitions_def=CUTOFFS,
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb"},
    code_version="1",
)
def shadow_scores(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Scores every version in shadow (registry table shadow_versions) on the
    customers customer_scores served at each requested cutoff, next to the
    champion's own rows. Table shadow_scores (role 'champion' or 'shadow');
    model_performance's shadow comparison reads it once labels mature."""
    cutoffs = sorted(date.fromisoformat(k) for k in context.partition_keys)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        if not table_exists(conn, "customer_scores"):
            raise dg.Failure("Table customer_scores does not exist: materialize customer_scores.")
        shadows = {task: _shadows(conn, task, settings) for task in TASKS}
        frames, summary = [], []
        for cutoff in cutoffs:
            frame, rows = _score_cutoff(conn, cutoff, shadows, settings, now, context.run.run_id)
            frames.append(frame)
            summary += rows
        with atomic(conn):
            conn.execute(read_sql(__file__, "create_shadow_scores.sql"))
            conn.execute("DELETE FROM shadow_scores WHERE cutoff_date IN (SELECT unnest(?::DATE[]))",
                         [cutoffs])
            insert_frame(conn, "shadow_scores", pd.concat(frames, ignore_index=True))
    table = pd.DataFrame(summary, columns=["cutoff_date", "task", "model", "role", "customers",
                                           "mean_prediction", "rank_correlation", "note"])
    scored = table[table["role"] == "shadow"]
    return dg.MaterializeResult(metadata={
        "cutoffs": ", ".join(c.isoformat() for c in cutoffs),
        "dagster/row_count": int(sum(len(f) for f in frames)),
        "shadow_versions": ", ".join(
            f"{t}: " + (", ".join(f"{s.label}" for s in shadows[t]) or "none") for t in TASKS),
        "shadow_rows": int(sum((f["role"] == "shadow").sum() for f in frames)),
        "scored_shadow_versions": len(scored.dropna(subset=["customers"])),
        "versions": dg.MetadataValue.md(markdown_table(table, ".4f")),
    })


def _shadows(conn, task: str, settings: Settings) -> list[Loaded]:
    """The task's versions in shadow, verified; the champion itself (after a
    rollback onto a shadow version) is left out."""
    champion = registry.resolve_alias(conn, task, "champion")
    out = []
    for row in registry.shadow_versions(conn, task).itertuples():
        if (row.model_name, int(row.version)) == champion:
            continue
        try:
            out.append(load(*registry.load_verified(conn, row.model_name, version=int(row.version),
                                                    model_dir=settings.model_dir)))
        except registry.RegistryError as error:
            raise dg.Failure(
                f"Shadow version {row.model_name} v{row.version} ({task}) cannot be loaded: "
                f"{error}. Retire it from shadow (UPDATE shadow_versions SET status = 'retired' "
                "...) or restore its folder."
            ) from error
    return out


def _score_cutoff(conn, cutoff, shadows, settings, now, run_id):
    served = conn.execute(read_sql(__file__, "served_scores.sql"), {"cutoff": cutoff}).df()
    if served.empty:
        raise dg.Failure(f"customer_scores holds no scores at {cutoff}: materialize "
                         "customer_scores for that cutoff first.")
    champions = {task: _served_model(conn, served, task, settings) for task in TASKS}
    summary, scoring = [], []
    for task in TASKS:
        summary.append(_line(cutoff, task, champions[task].label, "champion", served, served))
        for shadow in shadows[task]:
            holdout = shadow.row.get("holdout_cutoff")
            if holdout is not None and cutoff <= pd.Timestamp(holdout).date():
                summary.append([cutoff, task, shadow.label, "shadow", None, None, None,
                                f"not scored: cutoff is not after its holdout {holdout}"])
            else:
                scoring.append((task, {**champions, task: shadow}))
    batches, tenure = {i: [] for i in range(len(scoring))}, []
    if scoring:  # features read once, a batch at a time, and scored by every shadow
        population = rfm_reference(
            conn.execute(read_sql(__file__, "scored_rfm.sql"), {"cutoff": cutoff}).df())
        for frame in _scored_features(conn, cutoff, settings):
            tenure.append(frame["tenure_days"].to_numpy(float))
            for i, (_, models) in enumerate(scoring):
                batches[i].append(score_frame(frame, cutoff, models["churn"], models["ltv"],
                                              settings.risk_thresholds, population))
    frames = [served.assign(role="champion", shadow_task=None)]
    backfilled = bool(served["backfilled"].fillna(False).iloc[0])
    for i, (task, models) in enumerate(scoring):
        scores = pd.concat(batches[i], ignore_index=True)
        value_segments(scores, settings.value_segments)  # over the whole population
        scores["segment"] = segments(scores, np.concatenate(tenure), settings)
        frames.append(scores.assign(role="shadow", shadow_task=task, scored_at=now,
                                    run_id=run_id, backfilled=backfilled))
        summary.append(_line(cutoff, task, models[task].label, "shadow", frames[-1], served))
    return pd.concat(frames, ignore_index=True), summary


def _scored_features(conn, cutoff, settings: Settings):
    """The features of the customers served at ``cutoff``, in customer order, at
    most ``scoring_batch_rows`` rows at a time (as customer_scores reads them)."""
    result = conn.execute(read_sql(__file__, "scored_features.sql"), {"cutoff": cutoff})
    frame = result.fetch_df_chunk(settings.scoring_batch_rows // 2048 or 1)
    while not frame.empty:
        yield frame
        frame = result.fetch_df_chunk(settings.scoring_batch_rows // 2048 or 1)


def _served_model(conn, served: pd.DataFrame, task: str, settings) -> Loaded:
    """The version that served ``task`` at this cutoff (the alias may have moved since)."""
    name, version = served[f"{task}_model_name"].iloc[0], int(served[f"{task}_model_version"].iloc[0])
    try:
        return load(*registry.load_verified(conn, name, version=version,
                                            model_dir=settings.model_dir))
    except registry.RegistryError as error:
        raise dg.Failure(f"{name} v{version} served {task} at {served['cutoff_date'].iloc[0]} "
                         f"but cannot be loaded to score shadows beside it: {error}") from error


def _line(cutoff, task, label, role, scores, served) -> list:
    """One metadata line: the version's mean prediction and its rank correlation
    with what the champion served to the same customers."""
    column = PREDICTION[task]
    merged = served[["customer_id", column]].merge(
        scores[["customer_id", column]], on="customer_id", suffixes=("_c", "_s"))
    corr = merged[f"{column}_c"].rank().corr(merged[f"{column}_s"].rank())
    return [cutoff, task, label, role, len(scores), float(scores[column].mean()),
            float(corr) if role == "shadow" else 1.0, ""]
