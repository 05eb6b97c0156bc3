"""Sensors that request the retraining chain (``retrain_job``) when it is due.

Each tick is cheap: it reads one small row of a monitoring table, or the
transaction file's size, footer and last line; never the transaction log.
Each keeps in its cursor the condition it last fired for and skips that
condition afterwards, so one condition requests one run (the run key is the
same condition, which Dagster also refuses to launch twice). Each run is
tagged ``ml_assets/trigger`` with the reason, which promotion records.

All start STOPPED (see ``ml_assets/monitoring/__init__.py``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ml_assets.monitoring import source
from ml_assets.monitoring.jobs import (
    chain_request,
    retrain_job,
    scoring_job,
    scoring_request,
)
from ml_assets.settings import Settings

STOPPED = dg.DefaultSensorStatus.STOPPED


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=3600,
    default_status=STOPPED,
    description="Retrains when the latest feature_drift summary shows dataset drift: at least "
    "ML_ASSETS_DRIFT_SHARE_THRESHOLD of the features past their PSI threshold, or the churn or "
    "LTV predictions past ML_ASSETS_DRIFT_PREDICTION_PSI_THRESHOLD. Once per cutoff and champion.",
)
def drift_retrain_sensor(context: dg.SensorEvaluationContext, settings: Settings):
    try:
        with source.read_only(settings) as conn:
            summary, load = source.latest_drift(conn), source.latest_load(conn)
    except source.WarehouseBusy as busy:
        return _busy(busy)
    if summary is None:
        return dg.SkipReason(
            "No feature_drift summary yet: materialize feature_drift (the chain and the scoring "
            "schedule do)."
        )
    cutoff = summary["cutoff_date"]
    churn = f"{summary.get('churn_model_name') or 'churn_model'} v{summary['churn_model_version']}"
    ltv = f"{summary.get('ltv_model_name') or 'ltv_model'} v{summary['ltv_model_version']}"
    champion = f"{churn}, {ltv}"
    if not summary["dataset_drift"]:
        return dg.SkipReason(f"Cutoff {cutoff} against {champion}: {summary['reasons']}.")
    key = f"drift:{cutoff}:{churn}:{ltv}"
    if key == context.cursor:
        return dg.SkipReason(
            f"Already requested a retrain for drift at cutoff {cutoff} against {champion}; "
            "waiting for a new cutoff or a new champion."
        )
    context.update_cursor(key)
    reason = f"drift at cutoff {cutoff} vs {champion}: {summary['reasons']}"
    return chain_request(
        retrain_job, context.instance, settings, reason, key,
        loaded_newest=load and load["max_order_ts"], source_newest=None,
    )


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=600,
    default_status=STOPPED,
    description="Retrains when the transaction file has grown by ML_ASSETS_NEW_DATA_GROWTH "
    "since the last load (rows for Parquet, bytes for CSV) or holds a month the warehouse has "
    "not loaded. Once per file state.",
)
def new_data_sensor(context: dg.SensorEvaluationContext, settings: Settings):
    state = source.source_state(settings)
    if state is None:
        return dg.SkipReason(f"The transaction file {settings.transactions_path()} does not exist.")
    try:
        with source.read_only(settings) as conn:
            load = source.latest_load(conn)
    except source.WarehouseBusy as busy:
        return _busy(busy)
    if load is None:
        return dg.SkipReason(
            "Nothing loaded yet: run retrain_job once (or start the monthly schedule); this "
            "sensor watches for data added after a load."
        )
    findings, verdict = new_data_findings(state, load, settings.new_data_growth)
    if not findings:
        return dg.SkipReason(f"{state['path']}: {verdict}.")
    key = f"new-data:{state['path']}:{state['bytes']}:{state['mtime_ns']}"
    if key == context.cursor:
        return dg.SkipReason(f"Already requested a retrain for {state['path']} as it is now.")
    context.update_cursor(key)
    return chain_request(
        retrain_job, context.instance, settings, "new data: " + "; ".join(findings), key,
        loaded_newest=load["max_order_ts"], source_newest=state["newest_event"],
    )


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=3600,
    default_status=STOPPED,
    description="Retrains when the realized performance in model_performance has decayed for "
    "ML_ASSETS_PERFORMANCE_DECAY_CUTOFFS consecutive measured cutoffs served by the current "
    "champion (churn: ROC-AUC or ECE; LTV: total-spend error); with "
    "ML_ASSETS_PERFORMANCE_ESTIMATED_DECAY_CUTOFFS set, also when the churn ROC-AUC estimated "
    "before labels mature is below the minimum on that many consecutive served cutoffs. Once "
    "per decayed stretch.",
)
def performance_sensor(context: dg.SensorEvaluationContext, settings: Settings):
    try:
        with source.read_only(settings) as conn:
            rows = source.performance_rows(conn)
            champions = source.champion_versions(conn)
            load = source.latest_load(conn)
    except source.WarehouseBusy as busy:
        return _busy(busy)
    if not rows:
        return dg.SkipReason("No model_performance yet: materialize model_performance.")
    n = settings.performance_decay_cutoffs
    verdicts = [decay_verdict(rows, task, champions, n) for task in ("churn", "ltv")]
    if settings.performance_estimated_decay_cutoffs:
        verdicts.append(estimated_decay_verdict(
            rows, champions, settings.performance_estimated_decay_cutoffs,
            settings.performance_min_auc))
    fired = [v for v in verdicts if v["decayed"]]
    if not fired:
        return dg.SkipReason("; ".join(v["text"] for v in verdicts) + ".")
    key = "performance:" + "|".join(v["key"] for v in fired)
    if key == context.cursor:
        return dg.SkipReason(f"Already requested a retrain for {'; '.join(v['text'] for v in fired)}.")
    context.update_cursor(key)
    reason = "performance decay: " + "; ".join(v["text"] for v in fired)
    return chain_request(
        retrain_job, context.instance, settings, reason, key,
        loaded_newest=load and load["max_order_ts"], source_newest=None,
    )


def new_data_findings(state: dict, load: dict, growth: float) -> tuple[list[str], str]:
    """Why the file counts as new data (empty when it does not), and a one-line
    account of what was compared."""
    findings = []
    if state["rows"] is not None:
        grown, unit = _share(state["rows"], load["rows_in"]), "rows"
    else:
        grown, unit = _share(state["bytes"], load["source_bytes"]), "bytes"
    if grown >= growth:
        findings.append(f"{grown:+.1%} {unit} since the last load (threshold {growth:.0%})")
    newest, loaded = state["newest_event"], load["max_order_ts"]
    new_month = newest is not None and loaded is not None and (
        (newest.year, newest.month) > (loaded.year, loaded.month)
    )
    if new_month:
        findings.append(f"new month {newest:%Y-%m} (last load ended {loaded:%Y-%m-%d})")
    if not same_file(state["path"], load["source_path"]):
        findings.append(f"a different file than the last load ({load['source_path']})")
    seen = "newest event unknown" if newest is None else f"newest event {newest:%Y-%m-%d}"
    verdict = (f"{grown:+.1%} {unit} since the last load (threshold {growth:.0%}), {seen}, "
               f"last load ended {loaded:%Y-%m-%d}" if loaded else "no events loaded")
    return findings, verdict


def same_file(path: str, loaded_path: str) -> bool:
    """Whether two paths name the same file, both resolved the way ingest records
    the path it loaded (against the current directory, links followed)."""
    return Path(path).resolve() == Path(loaded_path).resolve()


def decay_verdict(rows: list[dict], task: str, champions: dict, n: int) -> dict:
    """Whether the newest ``n`` measured cutoffs of ``task`` all decayed and were
    all served by the model version that is champion now."""
    labelled = "churn_labels" if task == "churn" else "ltv_labels"
    measured = [r for r in rows if (r[labelled] or 0) > 0][:n]
    champion = champions.get(task)
    now = "none" if champion is None else f"{champion[0]} v{champion[1]}"
    decayed = [r for r in measured if r[f"{task}_decayed"]]
    served = {(r.get(f"{task}_model_name") or f"{task}_model", r[f"{task}_model_version"])
              for r in measured}
    if len(measured) < n:
        text = f"{task}: {len(measured)} measured cutoff(s), {n} needed"
    elif len(decayed) < n:
        text = f"{task}: {len(decayed)} of the last {n} measured cutoffs decayed"
    elif served != {champion}:
        by = ", ".join(f"{m} v{v}" for m, v in sorted(served))
        text = (f"{task}: the last {n} measured cutoffs decayed, but were served by {by} and "
                f"the champion is now {now}")
    else:
        newest = measured[0]
        return {
            "decayed": True,
            "key": f"{task}:{now}:{newest['cutoff_date']}",
            "text": f"{now} decayed on the last {n} measured cutoffs through "
            f"{newest['cutoff_date']} ({newest['decay_reasons']})",
        }
    return {"decayed": False, "key": "", "text": text}


def estimated_decay_verdict(rows: list[dict], champions: dict, n: int, min_auc: float) -> dict:
    """Whether the churn ROC-AUC estimated from the served probabilities (no
    labels) is below ``min_auc`` on the newest ``n`` served cutoffs whose churn
    labels have not matured (once they have, the realized values decide), all
    served by the churn model version that is champion now."""
    newest = [r for r in rows if r.get("estimated_roc_auc") is not None
              and not (r.get("churn_labels") or 0)][:n]
    champion = champions.get("churn")
    now = "none" if champion is None else f"{champion[0]} v{champion[1]}"
    low = [r for r in newest if r.get("estimated_decayed")]
    served = {(r.get("churn_model_name") or "churn_model", r["churn_model_version"])
              for r in newest}
    if len(newest) < n:
        text = (f"churn estimate: {len(newest)} served cutoff(s) awaiting labels, {n} needed")
    elif len(low) < n:
        text = f"churn estimate: {len(low)} of the last {n} served cutoffs estimated below {min_auc}"
    elif served != {champion}:
        by = ", ".join(f"{m} v{v}" for m, v in sorted(served))
        text = (f"churn estimate: the last {n} served cutoffs are estimated below {min_auc}, but "
                f"were served by {by} and the champion is now {now}")
    else:
        first = newest[0]
        values = ", ".join(f"{r['cutoff_date']} {r['estimated_roc_auc']:.3f}" for r in newest)
        return {
            "decayed": True,
            "key": f"estimate:{now}:{first['cutoff_date']}",
            "text": f"{now} estimated churn ROC-AUC below {min_auc} on the last {n} served "
            f"cutoffs before their labels mature ({values})",
        }
    return {"decayed": False, "key": "", "text": text}


def _share(now: int, before: int) -> float:
    return (now - before) / before if before else float("inf")


def _busy(busy: Exception) -> dg.SkipReason:
    return dg.SkipReason(f"The warehouse is locked by a running job ({busy}); checking again "
                         "next tick.")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[retrain_job],
    request_job=scoring_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a retrain_job run that a schedule or sensor started succeeds, scores the "
    "newest cutoff it computed (scoring_job), with the same trigger. Runs by default: it only "
    "follows runs that triggers started, which are all STOPPED until turned on.",
)
def score_after_retrain_sensor(context: dg.RunStatusSensorContext):
    request = scoring_request(context.dagster_run)
    return request or dg.SkipReason(
        f"Run {context.dagster_run.run_id} was launched by hand (no trigger tag): its "
        "launcher runs scoring_job itself."
    )
