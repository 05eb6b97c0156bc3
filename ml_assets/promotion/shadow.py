"""Promotion on live evidence: a version in shadow that beat the current
champion significantly on enough matured served cutoffs, and passes the
task's absolute limits, becomes champion with reason "shadow evidence".

The decision reads the comparison it is handed (shadow_comparison's run) and
counts only cutoffs compared against the champion as it is now, each with
at least ``promotion_min_holdout`` customers: evidence against an earlier
champion says nothing about this one. At most one version per task is
promoted per run: the versions with enough wins are judged best evidence
first (most wins, then the largest mean gain), and the first that passes the
limits is promoted; each one judged before it is recorded as not promoted.
Every decision is recorded in promotion_decisions with its tests, like the
holdout decisions; a version without enough wins is not a decision yet.
"""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets import registry
from ml_assets.lib.tables import markdown_table
from ml_assets.lib.tags import TRIGGER_TAG
from ml_assets.lib.warehouse import connect, read_sql, table_exists
from ml_assets.promotion import decision as store
from ml_assets.promotion.policy import (
    churn_policy,
    decision_markdown,
    limit_tests,
    ltv_policy,
    named_test,
)
from ml_assets.settings import Settings

LIMIT_METRICS = {"churn": ("ece",), "ltv": ("total_error_pct", "coverage")}


@dg.asset(
    ins={"comparison": dg.AssetIn("shadow_comparison")}, pool="warehouse",
    kinds={"duckdb"}, code_version="1",
)
def shadow_promotion(
    context: dg.AssetExecutionContext, comparison: dict, settings: Settings,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """Promotes a shadow version that beat the current champion significantly on
    ML_ASSETS_SHADOW_PROMOTION_CUTOFFS matured served cutoffs (paired tests in
    shadow_comparison) and passes the absolute limits on the newest of them;
    the decision, with reason "shadow evidence", goes to promotion_decisions
    and the champion alias moves in the same transaction."""
    evidence, decisions = [], []
    with connect(warehouse) as conn:
        registry.ensure_tables(conn)
        if not table_exists(conn, "shadow_comparison"):
            raise dg.Failure("Table shadow_comparison does not exist: materialize "
                             "shadow_comparison.")
        rows = conn.execute(read_sql(__file__, "shadow_evidence.sql"),
                            {"run_id": comparison["run_id"]}).df()
        if len(rows) != comparison["rows"]:
            raise dg.Failure(
                f"shadow_comparison was rebuilt since run {comparison['run_id']} handed its "
                f"{comparison['rows']} rows on: materialize shadow_comparison and this again.")
        for task in ("churn", "ltv"):
            champion = registry.resolve_alias(conn, task, "champion")
            if champion is None:
                continue
            lines = [_evidence(rows, task, champion, ref, settings)
                     for ref in _shadows(conn, task)]
            evidence += lines
            ready = sorted((line for line in lines
                            if line["wins"] >= settings.shadow_promotion_cutoffs),
                           key=lambda line: (-line["wins"], -line["mean_gain"]))
            for line in ready:  # best evidence first; the first that passes is promoted
                decisions.append(_decide(context, conn, task, champion, line, comparison,
                                         settings))
                if decisions[-1]["promoted"]:
                    break
    table = pd.DataFrame(evidence, columns=["task", "shadow", "champion", "compared_cutoffs",
                                            "wins", "needed", "mean_gain"])
    return dg.MaterializeResult(metadata={
        "decisions": len(decisions),
        "promoted": ", ".join(d["text"] for d in decisions if d["promoted"]) or "none",
        "comparison_run": comparison["run_id"],
        "evidence": dg.MetadataValue.md(
            markdown_table(table, ".4f") if len(table) else "No version is in shadow."),
        **{f"decision {d['text']}": dg.MetadataValue.md(d["markdown"]) for d in decisions},
    })


def _shadows(conn, task: str) -> list[tuple[str, int]]:
    frame = registry.shadow_versions(conn, task)
    return list(zip(frame["model_name"], frame["version"].astype(int)))


def _evidence(rows: pd.DataFrame, task: str, champion, ref, settings: Settings) -> dict:
    """The comparisons of shadow ``ref`` against the current ``champion`` that
    count (enough customers), and how many of them it won."""
    mine = rows[(rows["task"] == task) & (rows["shadow_model"] == ref[0])
                & (rows["shadow_version"] == ref[1]) & (rows["champion_model"] == champion[0])
                & (rows["champion_version"] == champion[1])
                & (rows["customers"] >= settings.promotion_min_holdout)]
    wins = mine[mine["shadow_wins"].astype(bool)]
    return {"task": task, "shadow": f"{ref[0]} v{ref[1]}", "ref": ref,
            "champion": f"{champion[0]} v{champion[1]}", "compared_cutoffs": len(mine),
            "wins": len(wins), "needed": settings.shadow_promotion_cutoffs,
            "mean_gain": float(wins["difference"].mean()) if len(wins) else float("nan"),
            "rows": mine, "won": wins}


def _decide(context, conn, task, champion, line, comparison, settings) -> dict:
    """Test, record and (when every test passes) promote one shadow version."""
    policy = churn_policy(settings) if task == "churn" else ltv_policy(settings)
    newest = line["rows"].iloc[-1]
    metrics = {m: float(newest[f"shadow_{m}"]) for m in LIMIT_METRICS[task]}
    won = line["won"]
    cutoffs = ", ".join(str(pd.Timestamp(c).date()) for c in won["cutoff_date"])
    tests = [
        named_test("shadow wins on matured served cutoffs", line["wins"],
              f">= {settings.shadow_promotion_cutoffs}",
              line["wins"] >= settings.shadow_promotion_cutoffs,
              detail=f"{policy.primary} higher with p < {settings.promotion_alpha:g} on {cutoffs}"),
        *limit_tests(policy, metrics),
    ]
    passed = all(t["passed"] for t in tests)
    failed = [t["reason"] for t in tests if not t["passed"]]
    evidence = (f"shadow evidence: {line['shadow']} beat the champion {line['champion']} on "
                f"{line['wins']} matured served cutoffs ({cutoffs}; mean {policy.primary} gain "
                f"{line['mean_gain']:+.4f})")
    reasons = [evidence + (": promoted." if passed else ", but it fails a limit: not promoted."),
               *failed]
    ref = line["ref"]
    row = {
        "decision_id": f"{context.run.run_id}:shadow:{task}:{ref[0]}:v{ref[1]}",
        "decided_at": store.now(), "task": task, "model_name": ref[0],
        "candidate_version": ref[1], "champion_model": champion[0],
        "champion_version": champion[1],
        "outcome": "shadow promoted" if passed else "champion kept",
        "promoted_model": ref[0] if passed else None,
        "promoted_version": ref[1] if passed else None,
        "compared_with": f"{line['champion']} (champion) on matured served cutoffs",
        "evaluation_id": f"shadow_comparison:{comparison['run_id']}",
        "holdout_cutoff": pd.Timestamp(newest["cutoff_date"]).date(),
        "primary_metric": policy.primary,
        "candidate_value": float(newest["shadow_value"]),
        "reference_value": float(newest["champion_value"]),
        "promoted": passed, "reasons": "\n".join(reasons), "tests": tests,
        "trigger": context.run.tags.get(TRIGGER_TAG, "manual"),
        "run_id": context.run.run_id,
    }
    with registry.atomic(conn):
        store.record(conn, row, context.run.run_id)
        if passed:
            registry.leave_shadow(conn, task, *ref, status="promoted", reason=evidence)
    verdict = {"promote": passed, "tests": tests, "reasons": reasons}
    return {"task": task, "promoted": passed, "text": f"{task}: {line['shadow']}",
            "markdown": decision_markdown(verdict, line["shadow"], row["compared_with"])}
