"""Candidate churn and LTV models and their baselines, trained on mature
point-in-time snapshots and registered as new versions. The candidate becomes
its task's ``challenger``; promotion decides what becomes ``champion``.

Each asset hands on what it registered (model name and version), so the
evaluation judges exactly these versions."""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.lib.plots import importance_plot
from ml_assets.lib.tables import markdown_table, rounded
from ml_assets.lib.warehouse import connect
from ml_assets.models.artifacts import write_model
from ml_assets.models.baselines import BASELINES, FAMILY, BaselineConfig, fit_baseline
from ml_assets.models.boosting import importance
from ml_assets.models.churn import train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import (
    data_fingerprint,
    feature_columns,
    load_frame,
    mature_cutoffs,
)
from ml_assets.models.ltv import train_ltv
from ml_assets.models.span import require_span
from ml_assets.models.splits import plan_split
from ml_assets.partitions import SINGLE_RUN
from ml_assets.settings import Settings

SNAPSHOTS = ["training_snapshots", "customer_features"]
HANDOFF = "handoff"
KINDS = {"lightgbm", "duckdb"}


@dg.asset(
    deps=SNAPSHOTS, pool="warehouse", backfill_policy=SINGLE_RUN, io_manager_key=HANDOFF,
    kinds=KINDS, code_version="2",
)
def churn_model(
    context: dg.AssetExecutionContext,
    config: ChurnModelConfig,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.Output:
    """LightGBM classifier of churn (no purchase in the churn window), early-stopped
    on forward-chaining folds, calibrated, with a decision threshold from the
    configured policy. Registered as a new version, the churn challenger."""
    return _train_and_register(
        context, "churn_model", "churn", settings.churn_window_days, config, train_churn,
        settings, warehouse,
    )


@dg.asset(
    deps=SNAPSHOTS, pool="warehouse", backfill_policy=SINGLE_RUN, io_manager_key=HANDOFF,
    kinds=KINDS, code_version="2",
)
def ltv_model(
    context: dg.AssetExecutionContext,
    config: LtvModelConfig,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.Output:
    """LightGBM tweedie model of net spend in the LTV horizon, with a per-customer
    interval from conformalized quantile models. Registered as a new version, the
    LTV challenger."""
    return _train_and_register(
        context, "ltv_model", "ltv", settings.ltv_horizon_days, config, train_ltv,
        settings, warehouse,
    )


@dg.asset(
    pool="warehouse", io_manager_key=HANDOFF, kinds=KINDS, code_version="2",
    ins={"candidate": dg.AssetIn("churn_model")},
)
def churn_baselines(
    context: dg.AssetExecutionContext,
    config: BaselineConfig,
    candidate: dict,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.Output:
    """The churn peers, each registered as a model version that can be champion:
    the recency x frequency rule, BG/NBD, and a plain LightGBM on basic features,
    trained on the candidate's training cutoffs."""
    return _baselines(context, "churn", candidate, settings.churn_window_days, config,
                      settings, warehouse)


@dg.asset(
    pool="warehouse", io_manager_key=HANDOFF, kinds=KINDS, code_version="2",
    ins={"candidate": dg.AssetIn("ltv_model")},
)
def ltv_baselines(
    context: dg.AssetExecutionContext,
    config: BaselineConfig,
    candidate: dict,
    settings: Settings,
    warehouse: DuckDBResource,
) -> dg.Output:
    """The LTV peers, each registered as a model version that can be champion: the
    RFM rule, last year's spend, BG/NBD x Gamma-Gamma, and a plain LightGBM on basic
    features, each with a conformal interval, trained on the candidate's cutoffs."""
    return _baselines(context, "ltv", candidate, settings.ltv_horizon_days, config,
                      settings, warehouse)


def _train_and_register(context, model_name, task, horizon, config, trainer, settings, warehouse):
    with connect(warehouse) as conn:
        require_span(conn, horizon, task, settings)
        split = plan_split(
            mature_cutoffs(conn, task), horizon, config.training_cutoffs, config.validation_folds
        )
        per_cutoff = config.per_cutoff(len(split.train))
        frame = load_frame(conn, list(split.train), task, settings.active_days, per_cutoff)
        fingerprint = data_fingerprint(conn)
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
        "sampled_per_cutoff": per_cutoff or "all",
        "features": len(features),
        "validation": dg.MetadataValue.json(rounded(fit["validation"])),
        **{k: round(float(v), 4) for k, v in validation.items()},
        "feature_importance": dg.MetadataValue.md(importance_plot(top)),
        "top_features": dg.MetadataValue.md(
            markdown_table(top.head(10).rename_axis("feature").reset_index(name="gain"), ".1f")
        ),
    }
    with connect(warehouse) as conn:
        row = registry.register_version(
            conn, settings.model_dir, model_name,
            lambda folder: write_model(folder, fit["boosters"], {**fit["meta"], "family": "lightgbm"}),
            task=task, family="lightgbm",
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
                conn, task, "challenger", model_name, row["version"],
                reason="trained as the new candidate", moved_by=f"run:{context.run.run_id}",
                run_id=context.run.run_id,
            )
    handed = {
        "task": task, "model_name": model_name, "version": row["version"],
        "holdout_cutoff": split.holdout.isoformat(),
        "training_cutoffs": [c.isoformat() for c in split.train],
        "max_customers_per_cutoff": per_cutoff,
    }
    return dg.Output(
        handed,
        metadata={"version": row["version"], "sha256": row["sha256"],
                  "artifact_path": row["artifact_path"], **shown},
    )


def _baselines(context, task, candidate, horizon, config, settings, warehouse):
    cutoffs = [date.fromisoformat(c) for c in candidate["training_cutoffs"]]
    with connect(warehouse) as conn:
        frame = load_frame(
            conn, cutoffs, task, settings.active_days, candidate["max_customers_per_cutoff"]
        )
        fingerprint = data_fingerprint(conn)
    fitted = {
        name: fit_baseline(name, task, frame, cutoffs, horizon, config.interval_coverage,
                           config.seed)
        for name in BASELINES[task]
    }
    registered = []
    with connect(warehouse) as conn:
        for name, fit in fitted.items():
            row = registry.register_version(
                conn, settings.model_dir, name,
                lambda folder, fit=fit: write_model(folder, fit["boosters"], fit["meta"]),
                task=task, family=FAMILY[name],
                training_cutoffs=candidate["training_cutoffs"],
                holdout_cutoff=candidate["holdout_cutoff"],
                features=fit["meta"].get("features", []),
                hyperparameters=config.model_dump(),
                metrics=fit["meta"].get("interval", {}),
                data_fingerprint=fingerprint,
                run_id=context.run.run_id,
            )
            registered.append({"model_name": name, "version": row["version"],
                               "family": FAMILY[name]})
    return dg.Output(
        {"task": task, "candidate": candidate, "baselines": registered},
        metadata={
            "dagster/row_count": len(frame),
            "training_cutoffs": f"{cutoffs[0]} .. {cutoffs[-1]} ({len(cutoffs)})",
            "registered": dg.MetadataValue.md(markdown_table(
                pd.DataFrame(registered), ".0f")),
        },
    )
