"""Candidate churn and LTV models, trained on mature point-in-time snapshots and
registered as new versions (alias ``challenger``). Promotion decides whether a
candidate becomes ``champion``."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.evaluation.plots import importance_plot, markdown_table
from ml_assets.models.artifacts import write_model
from ml_assets.models.boosting import importance
from ml_assets.models.churn import train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import data_fingerprint, feature_columns, load_frame, mature_cutoffs
from ml_assets.models.ltv import train_ltv
from ml_assets.models.splits import plan_split
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings
from ml_assets.warehouse import connect

SNAPSHOTS = ["training_snapshots", "customer_features"]


@dg.asset(deps=SNAPSHOTS, pool="warehouse", backfill_policy=SINGLE_RUN)
def churn_model(
    context: dg.AssetExecutionContext,
    config: ChurnModelConfig,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """LightGBM classifier of churn (no purchase in the churn window), early-stopped
    on forward-chaining folds, Platt-calibrated on validation folds, with a
    decision threshold from the configured policy. Registered as a new version."""
    return _train_and_register(
        context, "churn_model", "churn", settings.churn_window_days, config, train_churn,
        settings, warehouse,
    )


@dg.asset(deps=SNAPSHOTS, pool="warehouse", backfill_policy=SINGLE_RUN)
def ltv_model(
    context: dg.AssetExecutionContext,
    config: LtvModelConfig,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """LightGBM tweedie model of net spend in the LTV horizon, with a per-customer
    interval from conformalized quantile models. Registered as a new version."""
    return _train_and_register(
        context, "ltv_model", "ltv", settings.ltv_horizon_days, config, train_ltv,
        settings, warehouse,
    )


def _train_and_register(context, model_name, label, horizon, config, trainer, settings, warehouse):
    with connect(warehouse) as conn:
        split = plan_split(
            mature_cutoffs(conn, label), horizon, config.training_cutoffs, config.validation_folds
        )
        frame = load_frame(
            conn, list(split.train), label, settings.active_days, config.max_customers_per_cutoff
        )
        fingerprint = data_fingerprint(conn)
    if split.holdout in set(frame["cutoff_date"]):
        raise dg.Failure(f"Holdout cutoff {split.holdout} reached the training rows; refusing to train.")
    features = feature_columns(frame)
    context.log.info(
        f"{model_name}: {len(frame)} rows from {len(split.train)} cutoffs "
        f"({split.train[0]}..{split.train[-1]}), holdout {split.holdout}, {len(features)} features"
    )
    fit = trainer(frame, features, split, config)
    # everything shown is prepared before the version is registered, so a failure
    # here cannot leave a registered challenger behind a failed materialization
    top = importance(next(iter(fit["boosters"].values())))
    validation = {k: v for k, v in fit["validation"].items() if isinstance(v, (int, float))}
    shown = {
        "holdout_cutoff": split.holdout.isoformat(),
        "training_cutoffs": f"{split.train[0]} .. {split.train[-1]} ({len(split.train)})",
        "validation_cutoffs": ", ".join(fit["validation"]["valid_cutoffs"]),
        "dagster/row_count": len(frame),
        "features": len(features),
        "validation": dg.MetadataValue.json(fit["validation"]),
        **{k: float(v) for k, v in validation.items()},
        "feature_importance": dg.MetadataValue.md(importance_plot(top)),
        "top_features": dg.MetadataValue.md(
            markdown_table(top.head(10).rename_axis("feature").reset_index(name="gain"), ".1f")
        ),
    }
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        row = registry.register_version(
            conn,
            settings.model_dir,
            model_name,
            lambda folder: write_model(folder, fit["boosters"], fit["meta"]),
            training_cutoffs=[c.isoformat() for c in split.train],
            holdout_cutoff=split.holdout,
            features=features,
            hyperparameters=config.model_dump(),
            metrics=fit["validation"],
            data_fingerprint=fingerprint,
            run_id=context.run.run_id,
        )
        with registry.atomic(conn):
            registry.set_alias(
                conn, model_name, "challenger", row["version"],
                reason="trained as the new candidate", moved_by=f"run:{context.run.run_id}",
            )
    return dg.MaterializeResult(
        metadata={
            "version": row["version"],
            "sha256": row["sha256"],
            "artifact_path": row["artifact_path"],
            **shown,
        }
    )
