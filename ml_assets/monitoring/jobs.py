"""The jobs that schedules and sensors launch, and the one rule for which
cutoff partitions such a run recomputes.

Every run is one run over a range of cutoff partitions (the snapshots'
single-run backfill policy computes them in one SQL pass); the unpartitioned
assets in the same run (ingest, models, evaluation, promotion, scoring,
monitoring) run once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from ml_assets.partitions import CUTOFFS
from ml_assets.promotion.assets import TRIGGER_TAG
from ml_assets.settings import Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SNAPSHOT_KEY = dg.AssetKey("customer_features")

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.all(),
    description="The full chain: ingest, the snapshots of the cutoffs that need it, both "
    "models, their evaluations, promotion, scoring and monitoring, with every asset check.",
)

scoring_job = dg.define_asset_job(
    "scoring_job",
    selection=dg.AssetSelection.groups("ingest", "snapshots", "scoring", "monitoring"),
    description="Fresh data and scores without retraining: ingest, the snapshots of the cutoffs "
    "that need it, customer_scores with the current champions, feature_drift and "
    "model_performance.",
)


def cutoff_range(
    instance: dg.DagsterInstance,
    settings: Settings,
    loaded_newest: datetime | None,
    source_newest: datetime | None,
) -> tuple[str, str]:
    """First and last cutoff partition keys a run must (re)compute.

    The last is the newest cutoff the data supports (at most the day after its
    newest event: ``source_newest`` when the file tells it cheaply, else what
    the warehouse last loaded). The first is the earliest of: the first cutoff
    whose label window reaches past the data the stored labels were computed
    from (T > loaded_newest - the longer horizon: those labels can change), and
    the first cutoff never materialized. With nothing loaded yet it is every
    cutoff.
    """
    keys = CUTOFFS.get_partition_keys()
    newest = source_newest or loaded_newest
    if newest is None:
        return keys[0], keys[-1]
    supported = [k for k in keys if date.fromisoformat(k) <= newest.date() + timedelta(days=1)]
    if not supported:
        raise dg.DagsterInvariantViolationError(
            f"The data's newest event ({newest}) is before the first cutoff {keys[0]}: no cutoff "
            "partition can be computed. Check ML_ASSETS_PARTITIONS_START."
        )
    if loaded_newest is None:
        return supported[0], supported[-1]
    horizon = max(settings.churn_window_days, settings.ltv_horizon_days)
    changing = loaded_newest.date() - timedelta(days=horizon)
    start = next((k for k in supported if date.fromisoformat(k) > changing), supported[-1])
    done = instance.get_materialized_partitions(SNAPSHOT_KEY)
    missing = [k for k in supported if k not in done]
    if missing:
        start = min(start, missing[0])
    return start, supported[-1]


def chain_request(
    job: dg.UnresolvedAssetJobDefinition,
    instance: dg.DagsterInstance,
    settings: Settings,
    reason: str,
    run_key: str | None,
    loaded_newest: datetime | None,
    source_newest: datetime | None,
) -> dg.RunRequest:
    """A run of ``job`` over the cutoffs ``cutoff_range`` picks, tagged with why
    it was requested (promotion records the tag as the decision's trigger)."""
    start, end = cutoff_range(instance, settings, loaded_newest, source_newest)
    return dg.RunRequest(
        run_key=run_key,
        job_name=job.name,
        tags={TRIGGER_TAG: reason, RANGE_START_TAG: start, RANGE_END_TAG: end},
    )
