"""Champion/challenger promotion. A candidate becomes champion only when the
policy passes on the holdout evaluation: a minimum, statistically significant
improvement of the primary metric, no guardrail regression, a large enough
holdout, and every upstream asset check passed. Each decision is recorded
with its tests and reasons in words, whether or not it promotes."""

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.partitions import SINGLE_RUN
from ml_assets.promotion import decision as store
from ml_assets.promotion.policy import churn_policy, decide, decision_markdown, ltv_policy
from ml_assets.promotion.stats import delong_test, paired_bootstrap_gini
from ml_assets.settings import Settings
from ml_assets.warehouse import connect

TRIGGER_TAG = "ml_assets/trigger"


@dg.asset(deps=["churn_evaluation"], pool="warehouse", backfill_policy=SINGLE_RUN)
def churn_promotion(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Promotes the churn candidate when it beats the champion on ROC-AUC (DeLong
    test), or every baseline when there is no champion, within the guardrails."""
    return _promote(context, settings, warehouse, "churn", "churn_model", churn_policy(settings))


@dg.asset(deps=["ltv_evaluation"], pool="warehouse", backfill_policy=SINGLE_RUN)
def ltv_promotion(
    context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Promotes the LTV candidate when it beats the champion on normalized Gini
    (paired bootstrap), or every baseline when there is no champion, within the
    guardrails (RMSE, total-spend error, interval coverage)."""
    return _promote(context, settings, warehouse, "ltv", "ltv_model", ltv_policy(settings))


def _promote(context, settings, warehouse, task, model_name, policy):
    primary = policy.primary
    checks_ok, check_notes = _upstream_checks_passed(context, f"{task}_evaluation")
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        evaluation = store.latest_evaluation(conn, task)
        evaluation_id = evaluation["evaluation_id"].iloc[0]
        metrics = store.metrics_by_model(evaluation)
        candidate_key = ("candidate", model_name)
        if candidate_key not in metrics:
            raise dg.Failure(f"The latest {task} evaluation has no candidate; re-run {task}_evaluation.")
        cand_rows = evaluation[evaluation.role == "candidate"]
        candidate_version = int(cand_rows["model_version"].iloc[0])
        challenger = registry.resolve_alias(conn, model_name, "challenger")
        if challenger != candidate_version:
            raise dg.Failure(
                f"The latest {task} evaluation judged {model_name} v{candidate_version}, but the "
                f"challenger is v{challenger}: materialize {task}_evaluation again before promoting."
            )
        champion_version = registry.resolve_alias(conn, model_name, "champion")
        baseline_metrics = {name: m for (role, name), m in metrics.items() if role == "baseline"}
        has_champion = ("champion", model_name) in metrics
        if has_champion:
            reference_role, reference_name = "champion", model_name
        else:
            reference_role, reference_name = "baseline", max(
                baseline_metrics, key=lambda n: np.nan_to_num(baseline_metrics[n][primary], nan=-np.inf)
            )
        cand = store.predictions(conn, evaluation_id, "candidate", model_name)
        ref = store.predictions(conn, evaluation_id, reference_role, reference_name)
    y, p_cand, p_ref = store.paired(cand, ref)
    test = (
        delong_test(y, p_cand, p_ref)
        if primary == "roc_auc"
        else paired_bootstrap_gini(y, p_cand, p_ref, n_boot=1000, seed=0)
    )
    decision = decide(
        candidate=metrics[candidate_key],
        reference=metrics[("champion", model_name)] if has_champion else None,
        baselines=baseline_metrics,
        test=test,
        policy=policy,
        checks_passed=checks_ok,
        n_holdout=len(y),
    )
    trigger = context.run.tags.get(TRIGGER_TAG, "manual")
    reasons = list(decision["reasons"]) + check_notes
    row = {
        "decision_id": context.run.run_id + ":" + task,
        "decided_at": store.now(),
        "task": task,
        "model_name": model_name,
        "candidate_version": candidate_version,
        "champion_version": champion_version,
        "compared_with": f"{reference_name} ({reference_role})",
        "evaluation_id": evaluation_id,
        "holdout_cutoff": cand_rows["cutoff_date"].iloc[0],
        "primary_metric": primary,
        "candidate_value": metrics[candidate_key][primary],
        "reference_value": metrics[(reference_role, reference_name)][primary],
        "promoted": bool(decision["promote"]),
        "reasons": "\n".join(reasons),
        "tests": decision["tests"],
        "trigger": trigger,
        "run_id": context.run.run_id,
    }
    with connect(warehouse) as conn:
        store.record(conn, row, decision["promote"], model_name, candidate_version, context.run.run_id)
        archived = registry.apply_retention(
            conn, settings.model_dir, model_name, settings.keep_candidates
        )
    reference_label = f"{reference_name} v{champion_version}" if has_champion else reference_name
    return dg.MaterializeResult(
        metadata={
            "promoted": bool(decision["promote"]),
            "candidate_version": candidate_version,
            "champion_before": champion_version if champion_version is not None else "none",
            "champion_after": candidate_version if decision["promote"] else (
                champion_version if champion_version is not None else "none"),
            "compared_with": row["compared_with"],
            "primary_metric": primary,
            "trigger": trigger,
            "upstream_checks_passed": checks_ok,
            "archived_versions": ", ".join(map(str, archived)) or "none",
            "decision": dg.MetadataValue.md(
                decision_markdown(decision, f"{model_name} v{candidate_version}", reference_label)
                + ("\n\n" + "\n".join(f"- {n}" for n in check_notes) if check_notes else "")
            ),
            "test": dg.MetadataValue.json({k: v for k, v in test.items() if np.isscalar(v)}),
        }
    )


def _upstream_checks_passed(context, evaluation_asset: str) -> tuple[bool, list[str]]:
    """Every asset check on the evaluation and everything upstream of it must have
    passed in its latest execution; a check that never ran counts as failed."""
    graph = context.job_def.asset_layer.asset_graph
    root = dg.AssetKey(evaluation_asset)
    keys = graph.get_check_keys_for_assets(graph.get_ancestor_asset_keys(root, include_self=True))
    records = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys))
    notes = []
    for key in sorted(keys, key=lambda k: k.to_user_string()):
        record = records.get(key)
        status = getattr(record, "status", None)
        if status is None or status.value != "SUCCEEDED":
            state = "never ran" if record is None else status.value.lower()
            notes.append(f"Upstream check {key.to_user_string()} {state}: not promoting.")
    return not notes, notes
