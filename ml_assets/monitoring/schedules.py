"""Schedules: the monthly retrain of the whole chain and a weekly rescoring.

Both start STOPPED (see ``ml_assets/monitoring/__init__.py``). Times are UTC.
"""

from __future__ import annotations

import dagster as dg

from ml_assets.monitoring import source
from ml_assets.monitoring.jobs import chain_request, refresh_job, retrain_job
from ml_assets.settings import Settings

STOPPED = dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    cron_schedule="0 3 1 * *",
    job=retrain_job,
    execution_timezone="UTC",
    default_status=STOPPED,
    description="On the 1st of every month at 03:00 UTC: the full chain (ingest, snapshots of "
    "the cutoffs that changed, models, evaluation, promotion, scoring, monitoring).",
)
def monthly_retrain_schedule(context: dg.ScheduleEvaluationContext, settings: Settings):
    return _request(context, settings, retrain_job, "monthly retrain")


@dg.schedule(
    cron_schedule="0 6 * * 1",
    job=refresh_job,
    execution_timezone="UTC",
    default_status=STOPPED,
    description="Every Monday at 06:00 UTC: ingest, the snapshots of the newest cutoff, "
    "customer_scores for it with the current champions, feature_drift and model_performance; "
    "no retraining.",
)
def weekly_scoring_schedule(context: dg.ScheduleEvaluationContext, settings: Settings):
    return _request(context, settings, refresh_job, "weekly scoring")


def _request(context, settings: Settings, job, what: str) -> dg.RunRequest:
    """The run for this tick. When the warehouse is locked by a running job, the
    last load is unknown and the run recomputes every cutoff the file supports:
    slower, never wrong."""
    when = context.scheduled_execution_time
    stamp = when.strftime("%Y-%m-%d %H:%M") if when else "manual tick"
    state = source.source_state(settings)
    try:
        with source.read_only(settings) as conn:
            load = source.latest_load(conn)
    except source.WarehouseBusy as busy:
        context.log.warning(f"{busy}: recomputing every cutoff.")
        load = None
    return chain_request(
        job, context.instance, settings, f"schedule: {what} {stamp}", f"{job.name}:{stamp}",
        loaded_newest=load and load["max_order_ts"],
        source_newest=state and state["newest_event"],
    )
