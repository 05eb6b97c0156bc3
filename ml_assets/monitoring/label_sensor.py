"""Retraining when new labels mature: a cutoff newer than everything the
champion has seen closed its label window in the loaded data, with enough
labels to learn from, so a retrain has new evidence (and a newer holdout).

A tick reads the last ``ingest_log`` row, the champions' rows and a count per
cutoff of one column of ``customer_features``. Maturity is the snapshots' own
rule (T + horizon <= the newest loaded event), per task: churn labels mature
after ML_ASSETS_CHURN_WINDOW_DAYS, LTV labels after ML_ASSETS_LTV_HORIZON_DAYS.
"""

from __future__ import annotations

import dagster as dg

from ml_assets.monitoring import source
from ml_assets.monitoring.jobs import chain_request, retrain_job
from ml_assets.settings import Settings


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Retrains when a cutoff the champion did not see (after its holdout) has "
    "matured in the loaded data with at least ML_ASSETS_LABEL_RETRAIN_MIN_LABELS labels, "
    "instead of waiting for the calendar. Once per newly matured cutoff and champion.",
)
def label_maturity_sensor(context: dg.SensorEvaluationContext, settings: Settings):
    try:
        with source.read_only(settings) as conn:
            load = source.latest_load(conn)
            champions = source.champion_holdouts(conn)
            found = {
                task: matured(conn, task, champions[task], load, settings)
                for task in ("churn", "ltv") if task in champions and load
            }
    except source.WarehouseBusy as busy:
        return dg.SkipReason(f"The warehouse is locked by a running job ({busy}); checking "
                             "again next tick.")
    if load is None or not champions:
        return dg.SkipReason("No load or no champion yet: run retrain_job once; this sensor "
                             "watches for labels that mature after it.")
    fired = {task: f for task, f in found.items() if f["cutoff"] is not None}
    if not fired:
        return dg.SkipReason("; ".join(f["text"] for f in found.values()) + ".")
    key = "labels:" + "|".join(f"{task}:{f['champion']}:{f['cutoff']}"
                               for task, f in sorted(fired.items()))
    if key == context.cursor:
        return dg.SkipReason("Already requested a retrain for "
                             + "; ".join(f["text"] for f in fired.values()) + ".")
    context.update_cursor(key)
    reason = "new labels matured: " + "; ".join(f["text"] for f in fired.values())
    return chain_request(retrain_job, context.instance, settings, reason, key,
                         loaded_newest=load["max_order_ts"], source_newest=None)


def matured(conn, task: str, champion: dict, load: dict, settings: Settings) -> dict:
    """The newest cutoff after the champion's holdout whose ``task`` labels
    matured with at least ``label_retrain_min_labels`` labels (None when there
    is none), and what was found in words."""
    days = settings.churn_window_days if task == "churn" else settings.ltv_horizon_days
    name = f"{champion['model_name']} v{champion['version']}"
    seen = champion["seen"]
    if seen is None:
        return {"cutoff": None, "champion": name,
                "text": f"{task}: {name} records no cutoff it saw"}
    counts = source.matured_labels(conn, seen, days, load["max_order_ts"], settings.active_days)
    enough = [(c, n) for c, n in counts if n >= settings.label_retrain_min_labels]
    if enough:
        cutoff, n = enough[0]
        return {"cutoff": cutoff, "champion": name,
                "text": f"{task}: cutoff {cutoff} matured with {n:,} labels after {name}'s "
                f"holdout {seen}"}
    most = max((n for _, n in counts), default=0)
    return {"cutoff": None, "champion": name,
            "text": f"{task}: {len(counts)} cutoff(s) after {name}'s holdout {seen} matured, "
            f"the largest with {most:,} labels (at least {settings.label_retrain_min_labels:,} "
            "needed)"}
