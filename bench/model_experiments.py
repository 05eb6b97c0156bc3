"""Holdout experiments for the churn and LTV models against their peers.

Loads the training cutoffs and the holdout exactly as the model step does
(``mature_cutoffs``, ``plan_split``, ``load_frame``), trains the model with
each candidate configuration through ``train_churn`` / ``train_ltv`` and
predicts through ``churn_probability`` / ``ltv_prediction`` (the served
path), and prints holdout metrics beside the registered baselines, fitted
and applied with ``fit_baseline`` / ``predict_baseline`` on the same rows.

    python bench/model_experiments.py --warehouse data/warehouse.duckdb \\
        --churn-days 90 --ltv-days 365 [--task churn|ltv|both] [--only NAME ...]

``--search N`` also runs a seeded Optuna (TPE) search of N trials over the
tree hyperparameters on the forward-chaining folds (validation log loss for
churn, tweedie deviance for LTV), then evaluates the best configuration once
on the holdout. Optuna is needed only for that option.

The warehouse is opened read-only.
"""

import argparse
import json
import time

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.lib.metrics import expected_calibration_error, normalized_gini
from ml_assets.models import baselines, boosting
from ml_assets.models.churn import churn_probability, train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import feature_columns, load_frame, mature_cutoffs
from ml_assets.models.ltv import ltv_prediction, train_ltv
from ml_assets.models.splits import plan_split

SEARCHED = ["num_leaves", "min_child_samples", "learning_rate", "feature_fraction", "lambda_l2"]


def churn_scores(y, p) -> dict:
    return {"roc_auc": roc_auc_score(y, p), "ece": expected_calibration_error(y, p),
            "brier": brier_score_loss(y, p)}


def ltv_scores(y, pred, lower=None, upper=None) -> dict:
    scores = {"gini": normalized_gini(y, pred), "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
              "total_ratio": float(pred.sum() / y.sum())}
    if lower is not None:
        # the interval score (Gneiting and Raftery 2007): width plus 2 / alpha times each
        # miss; lower is better, and it rewards narrow intervals only where they still cover
        alpha = 1 - LtvModelConfig().interval_coverage
        misses = np.clip(lower - y, 0, None) + np.clip(y - upper, 0, None)
        scores |= {"coverage": float(np.mean((y >= lower) & (y <= upper))),
                   "mean_width": float(np.mean(upper - lower)),
                   "interval_score": float(np.mean(upper - lower + 2 / alpha * misses))}
    return scores


# the churn defaults now are REGULARISED trees with the BG/NBD blend ("current" on the
# branch that introduced them was Platt scaling on 31-leaf trees: "before" here)
BEFORE = {"num_leaves": 31, "min_child_samples": 100, "lambda_l2": 1.0, "feature_fraction": 0.8,
          "blend_btyd": False}
CHURN = {
    "before": BEFORE,
    "before_blend_btyd": {**BEFORE, "blend_btyd": True},
    "before_small_trees": {**BEFORE, "num_leaves": 15, "min_child_samples": 200},
    "before_half_life_0": {**BEFORE, "recency_half_life_months": 0.0},
    "regularised_platt": {"blend_btyd": False},
    "current": {},
    "half_life_0": {"recency_half_life_months": 0.0},
    "learning_rate_0.1": {"learning_rate": 0.1},
}
LTV = {
    "current": {},
    "tweedie_only": {"offset_column": ""},
    "power_1.2": {"offset_column": "", "tweedie_variance_power": 1.2},
    "power_1.5": {"offset_column": "", "tweedie_variance_power": 1.5},
    "offset_btyd_p1.2": {"offset_column": "btyd_expected_value", "tweedie_variance_power": 1.2},
    "offset_btyd_p1.5": {"offset_column": "btyd_expected_value", "tweedie_variance_power": 1.5},
    "offset_btyd_p1.7": {"offset_column": "btyd_expected_value", "tweedie_variance_power": 1.7},
    "offset_last": {"offset_column": "spend_365d", "tweedie_variance_power": 1.3},
    "offset_btyd_floor_mean": {"offset_column": "btyd_expected_value", "offset_floor": 0.0},
}


def run_variant(task, frame, features, split, holdout, config):
    if task == "churn":
        fit = train_churn(frame, features, split, config)
        return churn_probability(fit["boosters"], fit["meta"], holdout), fit["meta"]
    fit = train_ltv(frame, features, split, config)
    info = {k: fit["meta"].get(k) for k in ("rounds", "offset")}
    return ltv_prediction(fit["boosters"], fit["meta"], holdout), info


def search(task, frame, features, split, config, trials, seed=0) -> dict:
    """Seeded TPE over the tree hyperparameters, scored on the folds' validation loss."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    label = "churned" if task == "churn" else "future_spend"
    target = frame[label].astype(float).to_numpy()
    if task == "ltv":
        target = np.clip(target, 0, None)
    objective = ("binary", "binary_logloss") if task == "churn" else ("tweedie", "tweedie")

    def trial_loss(trial):
        over = {
            "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 20, 500, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.1, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 0.1, 30.0, log=True),
        }
        c = config.model_copy(update=over)
        extra = {} if task == "churn" else {"tweedie_variance_power": c.tweedie_variance_power}
        p = boosting.params(c, *objective, **extra)
        folds = boosting.forward_chaining(frame, target, features, split, c, p)
        return float(np.mean([f.booster.best_score["valid_0"][objective[1]] for f in folds]))

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({k: getattr(config, k) for k in SEARCHED})
    study.optimize(trial_loss, n_trials=trials)
    return {"best": study.best_params, "best_loss": study.best_value,
            "default_loss": study.trials[0].value}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--churn-days", type=int, default=90)
    ap.add_argument("--ltv-days", type=int, default=365)
    ap.add_argument("--active-days", type=int, default=365)
    ap.add_argument("--task", default="both")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--search", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--drop-features", nargs="*", default=[],
                    help="Features left out of every variant (to measure what they add).")
    args = ap.parse_args()
    conn = duckdb.connect(args.warehouse, read_only=True)
    rows = []
    for task in (["churn", "ltv"] if args.task == "both" else [args.task]):
        horizon = args.churn_days if task == "churn" else args.ltv_days
        config = (ChurnModelConfig if task == "churn" else LtvModelConfig)(num_threads=args.threads)
        split = plan_split(mature_cutoffs(conn, task), horizon, config.training_cutoffs,
                           config.validation_folds)
        frame = load_frame(conn, list(split.train), task, args.active_days,
                           config.per_cutoff(len(split.train)))
        holdout = load_frame(conn, [split.holdout], task, args.active_days)
        features = [f for f in feature_columns(frame) if f not in args.drop_features]
        print(f"# {task}: {len(frame)} rows, {len(split.train)} cutoffs, holdout {split.holdout} "
              f"({len(holdout)}), folds {[f.valid.isoformat() for f in split.folds]}", flush=True)
        col, scorer = ("churned", churn_scores) if task == "churn" else ("future_spend", ltv_scores)
        y = holdout[col].astype(float).to_numpy()
        for name in baselines.BASELINES[task]:
            fitted = baselines.fit_baseline(name, task, frame, list(split.train), horizon, 0.8, 42)
            pred = baselines.predict_baseline(fitted["boosters"], fitted["meta"], holdout)
            rows.append({"task": task, "model": f"peer:{name}", **scorer(y, pred)})
            print(rows[-1], flush=True)
        variants = dict(CHURN if task == "churn" else LTV)
        if args.search:
            t0 = time.time()
            found = search(task, frame, features, split, config, args.search)
            print(f"# search {task} ({time.time() - t0:.0f}s): {found}", flush=True)
            variants["searched"] = found["best"]
        for name, over in variants.items():
            if args.only and name not in args.only and name != "searched":
                continue
            t0 = time.time()
            pred, info = run_variant(task, frame, features, split, holdout,
                                     config.model_copy(update=over))
            scores = churn_scores(y, pred) if task == "churn" else ltv_scores(y, *pred)
            rows.append({"task": task, "model": name, **scores,
                         "seconds": round(time.time() - t0, 1),
                         "info": json.dumps(info if task == "ltv" else info["calibration"],
                                            default=str)[:160]})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20,
                           "display.max_colwidth", 160):
        print(table.round(4).to_string(index=False))
    if args.json:
        table.to_json(args.json, orient="records", indent=1)


if __name__ == "__main__":
    main()
