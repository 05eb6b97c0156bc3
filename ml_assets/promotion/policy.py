"""The promotion policy: which tests a candidate must pass to become champion.

1. enough holdout customers;
2. every upstream asset check passed;
3. the primary metric beats the reference significantly (the paired test's
   one-sided p-value under alpha): the champion by at least the minimum
   effect, or, for a task's first decision, the best baseline that passes
   the absolute limits;
4. guardrails: against a champion, no secondary metric regresses beyond its
   tolerance; always, absolute limits (calibration, total error, coverage).

A task's first decision promotes the candidate when it passes; otherwise the
best baseline that passes the limits becomes champion, so a champion always
serves once any model passes them (``promotion/assets.py``).

Every number comes from settings (see the README); every test is recorded.
"""

from dataclasses import dataclass

import numpy as np

from ml_assets.settings import Settings


@dataclass(frozen=True)
class Guardrail:
    metric: str
    better: str  # "lower" or "higher"
    tolerance: float
    relative: bool = False  # tolerance as a share of the reference value
    absolute_value: bool = False  # judge |metric| (e.g. signed total error)


@dataclass(frozen=True)
class Limit:
    metric: str
    bound: str  # "max" or "min"
    value: float
    absolute_value: bool = False


@dataclass(frozen=True)
class Policy:
    primary: str
    min_effect: float
    alpha: float
    min_holdout: int
    guardrails: tuple[Guardrail, ...]
    limits: tuple[Limit, ...]


# the environment variable behind each absolute limit, named in failure messages
LIMIT_SETTINGS = {
    "limit: ece": "ML_ASSETS_CHURN_MAX_ECE",
    "limit: |total_error_pct|": "ML_ASSETS_LTV_MAX_TOTAL_ERROR",
    "limit: coverage": "ML_ASSETS_LTV_MIN_COVERAGE",
}


def churn_policy(settings: Settings) -> Policy:
    return Policy(
        primary="roc_auc",
        min_effect=settings.churn_min_auc_gain,
        alpha=settings.promotion_alpha,
        min_holdout=settings.promotion_min_holdout,
        guardrails=(
            Guardrail("brier", "lower", settings.churn_max_brier_regression),
            Guardrail("ece", "lower", settings.churn_max_ece_regression),
        ),
        limits=(Limit("ece", "max", settings.churn_max_ece),),
    )


def ltv_policy(settings: Settings) -> Policy:
    return Policy(
        primary="normalized_gini",
        min_effect=settings.ltv_min_gini_gain,
        alpha=settings.promotion_alpha,
        min_holdout=settings.promotion_min_holdout,
        guardrails=(
            Guardrail("rmse", "lower", settings.ltv_max_rmse_regression, relative=True),
            Guardrail(
                "total_error_pct", "lower", settings.ltv_max_total_error_regression,
                absolute_value=True,
            ),
            Guardrail("coverage", "higher", settings.ltv_max_coverage_drop),
        ),
        limits=(
            Limit("total_error_pct", "max", settings.ltv_max_total_error, absolute_value=True),
            Limit("coverage", "min", settings.ltv_min_coverage),
        ),
    )


def decide(
    candidate: dict[str, float],
    reference: dict[str, float] | None,
    baselines: dict[str, dict[str, float]],
    test: dict,
    policy: Policy,
    checks_passed: bool,
    n_holdout: int,
) -> dict:
    """Run every test of ``policy`` for replacing ``reference`` with the
    candidate; promote only when all pass.

    ``reference`` is the champion's metrics, or None for a first decision, in
    which case ``test`` compares the candidate with the best baseline that
    passes the absolute limits (``baselines`` holds only those; empty when none
    does, and then the candidate needs only the limits and the gates).
    """
    tests = gate_tests(policy, checks_passed, n_holdout)
    if reference is not None or baselines:
        tests += _primary_tests(candidate, reference, baselines, test, policy)
    if reference is not None:
        tests += [_guardrail(g, candidate, reference) for g in policy.guardrails]
    tests += limit_tests(policy, candidate)
    failed = [t for t in tests if not t["passed"]]
    reasons = [t["reason"] for t in failed] or [
        f"All {len(tests)} tests passed: promoting the candidate."
    ]
    if failed:
        reasons.append(f"{len(failed)} of {len(tests)} tests failed: the candidate is not promoted.")
    return {"promote": not failed, "tests": tests, "reasons": reasons}


def gate_tests(policy: Policy, checks_passed: bool, n_holdout: int) -> list[dict]:
    """Tests no model can be promoted without: a large enough holdout and every
    upstream asset check passed."""
    return [
        _test("holdout size", n_holdout, f">= {policy.min_holdout}", n_holdout >= policy.min_holdout),
        _test("upstream checks", "passed" if checks_passed else "failed", "passed", checks_passed),
    ]


def limit_tests(policy: Policy, metrics: dict[str, float]) -> list[dict]:
    """The absolute limits every champion must meet, learned or baseline."""
    return [_limit(limit, metrics) for limit in policy.limits]


def eligible(policy: Policy, models: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The models (name -> metrics) that pass every absolute limit."""
    return {
        name: m for name, m in models.items() if all(t["passed"] for t in limit_tests(policy, m))
    }


def best(policy: Policy, models: dict[str, dict[str, float]]) -> str | None:
    """The model with the best primary metric (None when there is none)."""
    if not models:
        return None
    return max(models, key=lambda n: np.nan_to_num(models[n].get(policy.primary, np.nan), nan=-np.inf))


def limit_failures(policy: Policy, models: dict[str, dict[str, float]]) -> list[str]:
    """For each model, its failing limits in words, naming the setting that holds each."""
    lines = []
    for name, m in models.items():
        failed = [t for t in limit_tests(policy, m) if not t["passed"]]
        for t in failed:
            setting = LIMIT_SETTINGS.get(t["name"], "")
            lines.append(f"{name}: {t['reason'].rstrip('.')} (setting {setting})")
    return lines


def decision_markdown(decision: dict, candidate_label: str, reference_label: str) -> str:
    verdict = "**PROMOTED**" if decision["promote"] else "**NOT PROMOTED**"
    lines = [
        f"{verdict}: {candidate_label} vs {reference_label}",
        "",
        "| test | value | required | result |",
        "|---|---|---|---|",
    ]
    for t in decision["tests"]:
        lines.append(
            f"| {t['name']} | {_fmt(t['value'])} | {t['required']} | "
            f"{'pass' if t['passed'] else 'FAIL'} |"
        )
    lines += ["", *[f"- {r}" for r in decision["reasons"]]]
    return "\n".join(lines)


def _primary_tests(candidate, reference, baselines, test, policy) -> list[dict]:
    metric = policy.primary
    against = "the champion" if reference is not None else "the best eligible baseline"
    gain = float(test["difference"])
    # the minimum effect is the price of replacing a champion; a first model only
    # has to be better than the baselines, significantly so
    ok = gain >= policy.min_effect if reference is not None else gain > 0
    required = f">= {policy.min_effect:g}" if reference is not None else "> 0"
    tests = [
        _test(
            f"{metric} gain over {against}",
            gain,
            required,
            bool(np.isfinite(gain) and ok),
            detail=f"{metric} {test['candidate']:.4f} vs {test['reference']:.4f}, 95% CI of the "
            f"gain [{test['ci_low']:.4f}, {test['ci_high']:.4f}] ({test['method']})",
        ),
        _test(
            f"{metric} gain is significant",
            float(test["p_value"]),
            f"p < {policy.alpha:g}",
            float(test["p_value"]) < policy.alpha,
            detail=f"one-sided p-value of no improvement, {test['method']}",
        ),
    ]
    return tests


def _guardrail(g: Guardrail, candidate: dict, reference: dict) -> dict:
    cand, ref = candidate.get(g.metric, np.nan), reference.get(g.metric, np.nan)
    if g.absolute_value:
        cand, ref = abs(cand), abs(ref)
    worse = cand - ref if g.better == "lower" else ref - cand
    allowed = g.tolerance * abs(ref) if g.relative else g.tolerance
    unit = f"{g.tolerance:.0%} of the champion's" if g.relative else f"{g.tolerance:g}"
    name = f"|{g.metric}|" if g.absolute_value else g.metric
    return _test(
        f"guardrail: {name} regression",
        worse,
        f"<= {unit}",
        bool(np.isfinite(worse) and worse <= allowed),
        detail=f"candidate {cand:.4f}, champion {ref:.4f}",
    )


def _limit(limit: Limit, candidate: dict) -> dict:
    value = candidate.get(limit.metric, np.nan)
    if limit.absolute_value:
        value = abs(value)
    ok = value <= limit.value if limit.bound == "max" else value >= limit.value
    name = f"|{limit.metric}|" if limit.absolute_value else limit.metric
    sign = "<=" if limit.bound == "max" else ">="
    return _test(f"limit: {name}", value, f"{sign} {limit.value:g}", bool(np.isfinite(value) and ok))


def named_test(name: str, value, required: str, passed: bool, detail: str = "") -> dict:
    """A test record as every decision stores it (name, value, required, passed,
    reason in words), for decisions made outside this policy's tests."""
    return _test(name, value, required, passed, detail)


def _test(name: str, value, required: str, passed: bool, detail: str = "") -> dict:
    verdict = "passed" if passed else "failed"
    reason = f"{name}: {_fmt(value)} (required {required}) {verdict}"
    return {
        "name": name,
        "value": value if isinstance(value, str) else float(value),
        "required": required,
        "passed": bool(passed),
        "reason": reason + (f"; {detail}." if detail else "."),
    }


def _fmt(value) -> str:
    """Counts as whole numbers (12,345), metrics to the digits a person reads."""
    if isinstance(value, str):
        return value
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.4g}"
