"""The jobs the CLI, schedules and sensors launch, and the one rule for which
cutoff partitions a retraining run recomputes.

The partition range is stated once, in the settings (ML_ASSETS_PARTITIONS_START
and _END): ``retrain_job`` carries it as its default range and
``scoring_job`` its newest cutoff, so ``dg launch --job retrain_job`` needs no
range typed. A retraining run is one run over a range of cutoffs (the
snapshots' single-run backfill policy computes them in one SQL pass); scores
are one partition per cutoff, and only the newest is scored (a past cutoff is
a backfill, marked as such).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from ml_assets.lib.tags import (
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    TRIGGER_TAG,
)
from ml_assets.partitions import CUTOFFS
from ml_assets.settings import Settings

SNAPSHOT_KEY = dg.AssetKey("customer_features")

# scoring, shadow scoring, monitoring and the promotion on shadow evidence that reads it
_SCORING = dg.AssetSelection.assets("customer_scores", "shadow_scores", "shadow_promotion") \
    | dg.AssetSelection.groups("monitoring")
_NEWEST = CUTOFFS.get_last_partition_key()

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.all() - _SCORING,
    description="Ingest, the snapshots of every cutoff from ML_ASSETS_PARTITIONS_START to the "
    "newest (sensors and schedules narrow it to the cutoffs that changed), both models and "
    "their baselines, the evaluations and the promotion decisions, with every asset check. "
    "scoring_job then scores the newest cutoff.",
    tags={RANGE_START_TAG: CUTOFFS.get_first_partition_key(), RANGE_END_TAG: _NEWEST},
)

scoring_job = dg.define_asset_job(
    "scoring_job",
    selection=_SCORING,
    description="customer_scores for the newest cutoff with the current champions, "
    "shadow_scores beside them, then feature_drift, model_performance, shadow_comparison and "
    "shadow_promotion. Launched after retrain_job (and by the "
    "score-after-retrain sensor for scheduled and sensor runs).",
    tags={PARTITION_TAG: _NEWEST},
)

refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.groups("ingest", "snapshots") | _SCORING,
    description="Fresh data and scores without retraining, for the newest cutoff: ingest, its "
    "snapshots, customer_scores with the current champions, shadow_scores, feature_drift, "
    "model_performance, shadow_comparison and shadow_promotion.",
    tags={PARTITION_TAG: _NEWEST},
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
    cutoffs = (
        {RANGE_START_TAG: start, RANGE_END_TAG: end} if job.name == retrain_job.name
        else {PARTITION_TAG: end}
    )
    return dg.RunRequest(run_key=run_key, job_name=job.name, tags={TRIGGER_TAG: reason, **cutoffs})


def scoring_request(run: dg.DagsterRun) -> dg.RunRequest | None:
    """After a triggered retrain_job run succeeded: score the newest cutoff it
    computed, with the same trigger. CLI runs (no trigger tag) launch
    scoring_job themselves."""
    reason = run.tags.get(TRIGGER_TAG)
    if reason is None:
        return None
    newest = run.tags.get(RANGE_END_TAG) or run.tags.get(PARTITION_TAG) or _NEWEST
    return dg.RunRequest(
        run_key=f"score-after:{run.run_id}",
        job_name=scoring_job.name,
        tags={TRIGGER_TAG: reason, PARTITION_TAG: newest},
    )
