"""Champion/challenger promotion, one decision per task per evaluation.

Promotion acts only on what its evaluation handed it: the candidate version,
the baseline versions and the champion the evaluation compared against.

- If the champion moved since that evaluation (a rollback, an overlapping
  run), the decision is refused and recorded; scoring goes on with the
  current champion.
- With a champion, the candidate replaces it only when the policy passes: a
  significant gain of at least the minimum effect, no guardrail regression,
  the absolute limits, a large enough holdout and every upstream check passed.
- A task's first decision promotes the candidate when it passes the limits
  and significantly beats the best baseline that passes them; otherwise that
  baseline becomes champion (the candidate stays challenger). Only when no
  model passes the limits does the step fail, naming each model's failing
  limit and its setting. A failed gate (holdout size, upstream checks)
  promotes nothing, ever.

Every decision is recorded with its tests and reasons in words.
"""

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.lib.tables import rounded
from ml_assets.lib.tags import TRIGGER_TAG
from ml_assets.lib.warehouse import connect
from ml_assets.partitions import SINGLE_RUN
from ml_assets.promotion import decision as store
from ml_assets.promotion.checks_state import upstream_checks_passed
from ml_assets.promotion.policy import (
    best,
    churn_policy,
    decide,
    decision_markdown,
    eligible,
    gate_tests,
    limit_failures,
    ltv_policy,
)
from ml_assets.promotion.stats import delong_test, paired_bootstrap_gini
from ml_assets.settings import Settings


@dg.asset(
    ins={"evaluation": dg.AssetIn("churn_evaluation")}, pool="warehouse",
    backfill_policy=SINGLE_RUN, kinds={"duckdb"}, code_version="2",
)
def churn_promotion(
    context: dg.AssetExecutionContext, evaluation: dict, settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """Decides the churn champion from the evaluation it is handed: the candidate
    replaces the champion on a significant ROC-AUC gain (DeLong), within the
    guardrails; a first decision falls back to the best eligible baseline."""
    return _promote(context, evaluation, settings, warehouse, churn_policy(settings))


@dg.asset(
    ins={"evaluation": dg.AssetIn("ltv_evaluation")}, pool="warehouse",
    backfill_policy=SINGLE_RUN, kinds={"duckdb"}, code_version="2",
)
def ltv_promotion(
    context: dg.AssetExecutionContext, evaluation: dict, settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """Decides the LTV champion from the evaluation it is handed: the candidate
    replaces the champion on a significant normalized-Gini gain (paired
    bootstrap), within the guardrails (RMSE, total error, coverage); a first
    decision falls back to the best eligible baseline."""
    return _promote(context, evaluation, settings, warehouse, ltv_policy(settings))


def _promote(context, evaluation: dict, settings, warehouse, policy):
    task, evaluation_id = evaluation["task"], evaluation["evaluation_id"]
    candidate = _ref(evaluation["candidate"])
    evaluated_champion = _ref(evaluation["champion"]) if evaluation["champion"] else None
    checks_ok, check_notes = upstream_checks_passed(
        context, f"{task}_evaluation", evaluation["run_id"]
    )
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        metrics = store.metrics_by_model(store.evaluation_metrics(conn, evaluation_id, task))
        champion_now = registry.resolve_alias(conn, task, "champion")
        base = {
            "task": task, "evaluation_id": evaluation_id, "candidate": candidate,
            "champion": champion_now, "holdout": evaluation["holdout_cutoff"],
            "skipped": evaluation.get("skipped", {}),
        }
        if champion_now != evaluated_champion:
            verdict = _refused(base, evaluated_champion, champion_now)
        else:
            verdict = _judge(conn, base, metrics, policy, checks_ok, check_notes)
        row = _row(context, base, verdict, metrics, policy)
        with registry.atomic(conn):
            store.record(conn, row, context.run.run_id)
            shadowed = _to_shadow(conn, row, candidate, settings)
        archived = []
        for model_name in sorted({k[1] for k in metrics}):
            archived += [
                f"{model_name} v{v}" for v in registry.apply_retention(
                    conn, settings.model_dir, model_name, settings.keep_candidates)
            ]
    if verdict["outcome"] == "no model passes":
        raise dg.Failure(
            f"No {task} model passes the absolute limits, so there is no champion to score with:\n"
            + "\n".join(f"- {line}" for line in verdict["failures"])
            + "\nThe decision is recorded in promotion_decisions. Change the limit's setting if "
            "it is too strict for this log, or fix the data the models learn from."
        )
    after = _ref_text(row["promoted_model"], row["promoted_version"]) if row["promoted"] \
        else _ref_text(*(champion_now or (None, None)))
    return dg.MaterializeResult(
        metadata={
            "outcome": verdict["outcome"],
            "promoted": row["promoted"],
            "candidate": _ref_text(*candidate),
            "champion_before": _ref_text(*(champion_now or (None, None))),
            "champion_after": after,
            "compared_with": row["compared_with"],
            "evaluation_id": evaluation_id,
            "primary_metric": policy.primary,
            "trigger": row["trigger"],
            "upstream_checks_passed": checks_ok,
            "archived_versions": ", ".join(archived) or "none",
            "shadow": shadowed,
            "decision": dg.MetadataValue.md(
                decision_markdown(verdict, _ref_text(*candidate), row["compared_with"])
            ),
            "test": dg.MetadataValue.json(
                rounded({k: v for k, v in verdict.get("test", {}).items() if np.isscalar(v)}, 6)
            ),
        }
    )


def _judge(conn, base, metrics, policy, checks_ok, check_notes) -> dict:
    """The decision for an evaluation whose champion is still the champion."""
    task, candidate = base["task"], base["candidate"]
    cand_key = ("candidate", *candidate)
    if cand_key not in metrics:
        raise dg.Failure(
            f"Evaluation {base['evaluation_id']} has no metrics for {candidate[0]} "
            f"v{candidate[1]}; materialize {task}_evaluation again."
        )
    baselines = {f"{k[1]} v{k[2]}": (k, m) for k, m in metrics.items() if k[0] == "baseline"}
    n_holdout = int(metrics[cand_key]["n"])  # the evaluation's count of holdout customers
    if base["champion"] is not None:
        champ_key = _evaluated_key(metrics, base["champion"])
        test = _paired_test(conn, base["evaluation_id"], cand_key, champ_key, policy)
        verdict = decide(metrics[cand_key], metrics[champ_key], {}, test, policy, checks_ok,
                         n_holdout)
        verdict.update(outcome="candidate promoted" if verdict["promote"] else "champion kept",
                       promote_ref=candidate if verdict["promote"] else None, test=test,
                       reference=_ref_text(*base["champion"]) + " (champion)")
    else:
        verdict = _first_decision(conn, base, metrics, baselines, policy, checks_ok, n_holdout)
    verdict["reasons"] = list(verdict["reasons"]) + check_notes
    return verdict


def _first_decision(conn, base, metrics, baselines, policy, checks_ok, n_holdout) -> dict:
    """No champion yet: the candidate if it passes and beats the best eligible
    baseline significantly, else that baseline; a failure when nothing passes."""
    cand_key = ("candidate", *base["candidate"])
    passing = eligible(policy, {label: m for label, (_, m) in baselines.items()})
    ref_label = best(policy, passing)
    ref_key = baselines[ref_label][0] if ref_label else None
    test = (_paired_test(conn, base["evaluation_id"], cand_key, ref_key, policy)
            if ref_key else {})
    verdict = decide(metrics[cand_key], None, passing, test, policy, checks_ok, n_holdout)
    verdict.update(test=test, reference=f"{ref_label} (best eligible baseline)" if ref_label
                   else "no eligible baseline")
    if verdict["promote"]:
        return {**verdict, "outcome": "candidate promoted", "promote_ref": base["candidate"]}
    gates_ok = all(t["passed"] for t in gate_tests(policy, checks_ok, n_holdout))
    if gates_ok and ref_key:
        verdict["reasons"].append(
            f"No champion yet: the best baseline that passes the absolute limits, {ref_label}, "
            "becomes champion; the candidate stays challenger."
        )
        return {**verdict, "outcome": "baseline promoted", "promote_ref": ref_key[1:]}
    if gates_ok:
        every = {_ref_text(*base["candidate"]): metrics[cand_key],
                 **{label: m for label, (_, m) in baselines.items()}}
        failures = limit_failures(policy, every) + [
            f"{label}: left out of the evaluation: {why}"
            for label, why in base.get("skipped", {}).items()
        ]
        verdict["reasons"].append("No model passes the absolute limits: there is no champion.")
        return {**verdict, "outcome": "no model passes", "promote_ref": None,
                "failures": failures}
    verdict["reasons"].append(
        "A gate failed (holdout size or upstream checks): nothing is promoted and the task has "
        "no champion yet."
    )
    return {**verdict, "outcome": "nothing promoted", "promote_ref": None}


# a candidate judged and not made champion keeps being scored beside the champion
SHADOW_OUTCOMES = ("champion kept", "baseline promoted", "nothing promoted")


def _to_shadow(conn, row: dict, candidate, settings: Settings) -> str:
    """Put the candidate in shadow when the decision did not promote it; what
    happened, in words, for the metadata."""
    if row["outcome"] not in SHADOW_OUTCOMES:
        return "none"
    retired = registry.enter_shadow(
        conn, row["task"], *candidate, reason=f"{row['outcome']}: not promoted at decision",
        decision_id=row["decision_id"], max_versions=settings.shadow_max_versions,
    )
    text = f"{_ref_text(*candidate)} enters shadow"
    return text + (f"; retired {', '.join(_ref_text(*r) for r in retired)}" if retired else "")


def _refused(base, evaluated, now) -> dict:
    before = _ref_text(*evaluated) if evaluated else "no champion"
    current = _ref_text(*now) if now else "no champion"
    reason = (
        f"Refused: the evaluation compared against {before}, but the champion is now {current} "
        "(moved since the evaluation, by a rollback or another run). Nothing is promoted; "
        f"scoring goes on with {current}. Materialize {base['task']}_evaluation again to judge "
        "the candidate against the current champion."
    )
    return {"promote": False, "outcome": "refused", "promote_ref": None, "tests": [],
            "reasons": [reason], "reference": before, "test": {}}


def _row(context, base, verdict, metrics, policy) -> dict:
    candidate, champion = base["candidate"], base["champion"]
    cand_metrics = metrics.get(("candidate", *candidate), {})
    promote = verdict["promote_ref"]
    reference_value = verdict.get("test", {}).get("reference")
    return {
        "decision_id": context.run.run_id + ":" + base["task"],
        "decided_at": store.now(),
        "task": base["task"],
        "model_name": candidate[0],
        "candidate_version": candidate[1],
        "champion_model": champion[0] if champion else None,
        "champion_version": champion[1] if champion else None,
        "outcome": verdict["outcome"],
        "promoted_model": promote[0] if promote else None,
        "promoted_version": promote[1] if promote else None,
        "compared_with": verdict["reference"],
        "evaluation_id": base["evaluation_id"],
        "holdout_cutoff": base["holdout"],
        "primary_metric": policy.primary,
        "candidate_value": cand_metrics.get(policy.primary),
        "reference_value": None if reference_value is None else float(reference_value),
        "promoted": promote is not None,
        "reasons": "\n".join(verdict["reasons"]),
        "tests": verdict["tests"],
        "trigger": context.run.tags.get(TRIGGER_TAG, "manual"),
        "run_id": context.run.run_id,
    }


def _paired_test(conn, evaluation_id, cand_key, ref_key, policy) -> dict:
    cand = store.predictions(conn, evaluation_id, cand_key)
    ref = store.predictions(conn, evaluation_id, ref_key)
    y, p_cand, p_ref = store.paired(cand, ref)
    if policy.primary == "roc_auc":
        return delong_test(y, p_cand, p_ref)
    return paired_bootstrap_gini(y, p_cand, p_ref, n_boot=1000, seed=0)


def _evaluated_key(metrics, champion):
    for role in ("champion", "candidate", "baseline"):
        if (role, *champion) in metrics:
            return (role, *champion)
    raise dg.Failure(f"The evaluation has no metrics for the champion {champion[0]} v{champion[1]}.")


def _ref(value: dict) -> tuple[str, int]:
    return value["model_name"], int(value["version"])


def _ref_text(model_name, version) -> str:
    return "none" if model_name is None else f"{model_name} v{version}"
