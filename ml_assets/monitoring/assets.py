"""Monitoring: drift of the current scoring population against the champion's
training population, and the realized performance of the scores that were
served once their labels mature. The drift and performance sensors read the
tables written here."""

from datetime import date, datetime, timezone

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets.lib.tables import markdown_table
from ml_assets.lib.warehouse import (
    atomic,
    connect,
    insert_frame,
    read_sql,
    table_exists,
)
from ml_assets.models.baselines import BASIC_FEATURES
from ml_assets.models.predict import load_champion, predict
from ml_assets.monitoring import drift, plots
from ml_assets.monitoring.estimate import with_estimates
from ml_assets.monitoring.performance import realized_performance
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings

PREDICTIONS = {"churn_probability": "churn", "predicted_ltv": "ltv"}
_WORST = ["feature", "psi", "ks_statistic", "wasserstein", "missing_change", "mean_reference",
          "mean_current", "drifted", "note"]


@dg.asset(
    deps=["customer_scores", "customer_features"],
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb"},
    code_version="2",
)
def feature_drift(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Drift of the newest scored population against the champion churn model's
    training population (its training cutoffs in customer_features, a sample):
    PSI, KS or chi-square, Wasserstein and missing-rate change per feature, and the
    PSI of the churn probability and predicted LTV against each champion's
    training population scored by that champion. Appends to tables feature_drift
    and feature_drift_summary; the drift sensor reads the summary."""
    with connect(warehouse) as conn:
        cutoff = _newest_scored_cutoff(conn)
        champions = {
            task: load_champion(conn, task, settings.model_dir, "drift against its training population")
            for task in ("churn", "ltv")
        }
        current = conn.execute(read_sql(__file__, "current_population.sql"), {"cutoff": cutoff}).df()
        references = {
            task: _reference(conn, model.row, settings) for task, model in champions.items()
        }
    churn_row = champions["churn"].row
    reference = references["churn"]
    # a feature the champion uses but customer_features lacks is reported as entirely missing;
    # BTYD and rule champions read recency, frequency and value: drift of the basic features
    features = list(churn_row["features"] or BASIC_FEATURES)
    per_cutoff = drift.cutoff_level_features(reference, features)
    rows = drift.compare_frames(
        reference, current, features, settings.drift_psi_threshold,
        settings.drift_missing_threshold,
    )
    rows["role"] = np.where(rows["feature"].isin(per_cutoff), "cutoff", "feature")
    rows.loc[rows["role"] == "cutoff", "drifted"] = False
    predictions = _prediction_drift(champions, references, current, settings)
    summary = _summary(rows[rows["role"] == "feature"], predictions, settings)
    stamp = {
        "run_id": context.run.run_id,
        "computed_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "cutoff_date": cutoff,
    }
    table = pd.concat(
        [_stamped(rows, stamp, churn_row), *(
            _stamped(frame, stamp, champions[PREDICTIONS[frame["feature"].iloc[0]]].row)
            for frame in predictions
        )],
        ignore_index=True,
    )
    summary_row = {
        **stamp,
        "churn_model_name": churn_row["model_name"],
        "churn_model_version": churn_row["version"],
        "ltv_model_name": champions["ltv"].row["model_name"],
        "ltv_model_version": champions["ltv"].row["version"],
        "reference_rows": len(reference),
        "current_rows": len(current),
        **summary,
    }
    with connect(warehouse) as conn:
        _append(conn, table, pd.DataFrame([summary_row]))
    if per_cutoff:
        context.log.info(f"Not counted as drift (one value per cutoff): {', '.join(per_cutoff)}")
    return dg.MaterializeResult(
        metadata={
            "cutoff": cutoff.isoformat(),
            "champion": f"{champions['churn'].label}, {champions['ltv'].label}",
            "reference": _cutoff_span(churn_row["training_cutoffs"]),
            "reference_rows": len(reference),
            "current_rows": len(current),
            "dataset_drift": summary["dataset_drift"],
            "drifted_features": summary["drifted_features"],
            "drift_share": round(float(summary["drift_share"]), 4),
            "share_threshold": settings.drift_share_threshold,
            "psi_threshold": settings.drift_psi_threshold,
            "churn_prediction_psi": round(float(summary["churn_prediction_psi"]), 4),
            "ltv_prediction_psi": round(float(summary["ltv_prediction_psi"]), 4),
            "reasons": summary["reasons"],
            "dagster/row_count": len(table),
            "worst_features": dg.MetadataValue.md(
                markdown_table(rows[rows["role"] == "feature"].head(10)[_WORST], ".3f")
            ),
            "predictions": dg.MetadataValue.md(
                markdown_table(pd.concat(predictions)[_WORST], ".3f")
            ),
            "psi_plot": dg.MetadataValue.md(
                plots.psi_plot(rows[rows["role"] == "feature"], settings.drift_psi_threshold)
            ),
        }
    )


@dg.asset(
    deps=["customer_scores", "training_snapshots"],
    pool="warehouse",
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb"},
    code_version="3",
)
def model_performance(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Realized performance of the scores actually served, per scored cutoff, once
    its labels are mature: churn ROC-AUC, Brier and calibration error (ECE), LTV
    RMSE, total predicted vs realized spend and interval coverage, with a decay
    verdict against the thresholds; and for every served cutoff, before its
    labels mature, the churn ROC-AUC and ECE estimated from the champion's
    calibrated probabilities (CBPE) with a 95% interval, beside the realized
    values once they arrive. Rebuilds table model_performance; the performance
    sensor reads it."""
    with connect(warehouse) as conn:
        if not table_exists(conn, "customer_scores"):
            raise dg.Failure("Table customer_scores does not exist: materialize customer_scores.")
        outcomes = conn.execute(read_sql(__file__, "scored_outcomes.sql")).df()
    if outcomes.empty:
        raise dg.Failure("customer_scores is empty: materialize customer_scores first.")
    perf = realized_performance(
        outcomes, settings.performance_min_auc, settings.performance_max_ece,
        settings.performance_max_total_error,
    )
    perf = with_estimates(perf, outcomes, settings.estimate_simulations,
                          settings.performance_min_auc)
    perf["computed_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
    perf["run_id"] = context.run.run_id
    with connect(warehouse) as conn:
        _replace_performance(conn, perf)
    measured = perf[perf["status"] != "pending"]
    latest = measured.iloc[-1] if len(measured) else None
    shown = ["cutoff_date", "status", "churn_model_version", "roc_auc", "ece", "brier",
             "ltv_model_version", "rmse", "total_spend_error_pct", "interval_coverage",
             "decay_reasons"]
    estimated = ["cutoff_date", "status", "estimated_roc_auc", "estimated_roc_auc_low",
                 "estimated_roc_auc_high", "roc_auc", "estimated_ece", "estimated_ece_low",
                 "estimated_ece_high", "ece", "estimated_decayed"]
    newest = perf.iloc[-1]
    checked = perf["roc_auc_in_interval"].dropna()
    return dg.MaterializeResult(
        metadata={
            "scored_cutoffs": len(perf),
            "measured_cutoffs": len(measured),
            "pending_cutoffs": int((perf["status"] == "pending").sum()),
            "latest_measured_cutoff": "none" if latest is None else str(latest["cutoff_date"]),
            "latest_roc_auc": _float(latest, "roc_auc"),
            "latest_ece": _float(latest, "ece"),
            "churn_decayed_cutoffs": int(perf["churn_decayed"].sum()),
            "ltv_decayed_cutoffs": int(perf["ltv_decayed"].sum()),
            "dagster/row_count": len(perf),
            "per_cutoff": dg.MetadataValue.md(markdown_table(perf.tail(24)[shown], ".3f")),
            "over_time": dg.MetadataValue.md(plots.performance_plot(
                perf, settings.performance_min_auc, settings.performance_max_total_error)),
            "newest_cutoff": pd.Timestamp(newest["cutoff_date"]).date().isoformat(),
            "newest_estimated_roc_auc": _float(newest, "estimated_roc_auc"),
            "newest_estimated_roc_auc_interval": f"[{newest['estimated_roc_auc_low']:.4f}, "
            f"{newest['estimated_roc_auc_high']:.4f}]",
            "newest_estimated_ece": _float(newest, "estimated_ece"),
            "estimated_decayed_cutoffs": int(perf["estimated_decayed"].sum()),
            "realized_auc_inside_estimate": f"{int(checked.sum())} of {len(checked)} measured "
            "cutoffs",
            "estimated_vs_realized": dg.MetadataValue.md(
                markdown_table(perf.tail(24)[estimated], ".3f")),
            "churn_estimate_over_time": dg.MetadataValue.md(
                plots.estimate_plot(perf, settings.performance_min_auc)),
        }
    )


# --- helpers ------------------------------------------------------------------


def _newest_scored_cutoff(conn) -> date:
    if not table_exists(conn, "customer_scores"):
        raise dg.Failure("Table customer_scores does not exist: materialize customer_scores.")
    cutoff = conn.execute(read_sql(__file__, "newest_scored_cutoff.sql")).fetchone()[0]
    if cutoff is None:
        raise dg.Failure("customer_scores is empty: materialize customer_scores first.")
    return cutoff


def _reference(conn, row: dict, settings: Settings) -> pd.DataFrame:
    cutoffs = [date.fromisoformat(c) for c in row["training_cutoffs"]]
    params = {"cutoffs": cutoffs, "active_days": settings.active_days,
              "rows": settings.drift_reference_rows}
    frame = conn.execute(read_sql(__file__, "reference_sample.sql"), params).df()
    if frame.empty:
        raise dg.Failure(
            f"{row['model_name']} v{row['version']} trained on cutoffs "
            f"{_cutoff_span(row['training_cutoffs'])}, but customer_features holds no active "
            "customers there: re-materialize customer_features for those cutoffs."
        )
    return frame


def _prediction_drift(champions, references, current, settings) -> list[pd.DataFrame]:
    """PSI etc. of each served prediction against the same champion's predictions
    on its own training population."""
    out = []
    for column, task in PREDICTIONS.items():
        predicted = predict(champions[task], references[task])[0]
        frame = drift.compare_frames(
            pd.DataFrame({column: predicted}), current[[column]], [column],
            settings.drift_prediction_psi_threshold, settings.drift_missing_threshold,
        )
        frame["role"] = "prediction"
        out.append(frame)
    return out


def _summary(features: pd.DataFrame, predictions: list[pd.DataFrame], settings) -> dict:
    base = drift.dataset_drift(features, settings.drift_share_threshold)
    psis = {frame["feature"].iloc[0]: float(frame["psi"].iloc[0]) for frame in predictions}
    reasons = []
    if base["dataset_drift"]:
        worst = features[features["drifted"]].head(3)
        named = ", ".join(f"{f} PSI {p:.2f}" for f, p in zip(worst["feature"], worst["psi"]))
        reasons.append(
            f"{base['drifted_features']} of {base['features']} features drifted "
            f"({base['drift_share']:.0%} >= {settings.drift_share_threshold:.0%}): {named}"
        )
    for column, value in psis.items():
        if value >= settings.drift_prediction_psi_threshold:
            reasons.append(f"{column} PSI {value:.2f} >= {settings.drift_prediction_psi_threshold}")
    if not reasons:
        reasons.append(
            f"no drift: {base['drifted_features']} of {base['features']} features drifted "
            f"({base['drift_share']:.0%} < {settings.drift_share_threshold:.0%}), max PSI "
            f"{base['max_psi']:.2f} ({base['worst_feature']}); prediction PSI "
            + ", ".join(f"{c} {v:.2f}" for c, v in psis.items())
        )
    prediction_drift = any(v >= settings.drift_prediction_psi_threshold for v in psis.values())
    return {
        **base,
        "dataset_drift": bool(base["dataset_drift"] or prediction_drift),
        "churn_prediction_psi": psis["churn_probability"],
        "ltv_prediction_psi": psis["predicted_ltv"],
        "psi_threshold": settings.drift_psi_threshold,
        "share_threshold": settings.drift_share_threshold,
        "prediction_psi_threshold": settings.drift_prediction_psi_threshold,
        "reasons": "; ".join(reasons),
    }


def _stamped(rows: pd.DataFrame, stamp: dict, model_row: dict) -> pd.DataFrame:
    out = rows.copy()
    for key, value in stamp.items():
        out[key] = value
    out["model_name"] = model_row["model_name"]
    out["model_version"] = model_row["version"]
    out["reference_cutoffs"] = _cutoff_span(model_row["training_cutoffs"])
    return out


def _append(conn, rows: pd.DataFrame, summary: pd.DataFrame) -> None:
    conn.execute(read_sql(__file__, "create_tables.sql"))
    with atomic(conn):
        for table, frame in (("feature_drift", rows), ("feature_drift_summary", summary)):
            insert_frame(conn, table, frame)


def _replace_performance(conn, perf: pd.DataFrame) -> None:
    with atomic(conn):
        conn.register("_perf", perf)
        conn.execute(
            "CREATE OR REPLACE TABLE model_performance AS "
            "SELECT * REPLACE (cutoff_date::DATE AS cutoff_date) FROM _perf"
        )
        conn.unregister("_perf")


def _cutoff_span(cutoffs: list[str]) -> str:
    return f"{min(cutoffs)}..{max(cutoffs)} ({len(cutoffs)} cutoffs)" if cutoffs else "none"


def _float(row, column: str) -> float:
    """A metric as a person reads it (4 decimals); the tables keep full precision."""
    return float("nan") if row is None else round(float(row[column]), 4)
