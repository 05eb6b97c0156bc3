"""Holdout experiments for the churn and LTV models against their peers.

Loads the training cutoffs and the holdout exactly as the model step does
(``mature_cutoffs``, ``plan_split``, ``load_frame``), trains the current model
and each candidate change, and prints holdout metrics beside the peers:
a plain LightGBM (defaults, 100 rounds, basic features), BG/NBD (and
BG/NBD x Gamma-Gamma) from ``customer_features``, and the rule grids.

    python bench/model_experiments.py --warehouse data/warehouse.duckdb \
        --churn-days 90 --ltv-days 365 [--task churn|ltv|both] [--only NAME ...]

The warehouse is opened read-only; extra cutoffs are computed in temp tables.
"""

import argparse
import json
import time
from datetime import timedelta

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ml_assets.evaluation.metrics import expected_calibration_error, normalized_gini
from ml_assets.models import baselines, boosting
from ml_assets.models.churn import churn_probability, train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import feature_columns, load_frame, mature_cutoffs
from ml_assets.models.ltv import ltv_prediction, train_ltv
from ml_assets.models.splits import plan_split

BASIC = ["recency_days", "tenure_days", "orders_total", "net_spend", "avg_order_value",
         "max_order_value", "purchase_days", "orders_30d", "orders_90d", "orders_180d",
         "orders_365d", "spend_30d", "spend_90d", "spend_180d", "spend_365d"]


def churn_scores(y, p) -> dict:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    return {"roc_auc": roc_auc_score(y, p), "ece": expected_calibration_error(y, p),
            "brier": brier_score_loss(y, p), "mean_p": float(np.mean(p)), "rate": float(np.mean(y))}


def ltv_scores(y, pred) -> dict:
    return {"gini": normalized_gini(y, pred), "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
            "total_ratio": float(pred.sum() / y.sum())}


def plain_lightgbm(train, holdout, target, objective):
    params = {"objective": objective, "verbosity": -1, "seed": 0, "deterministic": True,
              "num_threads": 2}
    booster = lgb.train(params, lgb.Dataset(train[BASIC].to_numpy(float), label=target),
                        num_boost_round=100)
    return booster.predict(holdout[BASIC].to_numpy(float))


def load(conn, label, horizon, config, active_days):
    split = plan_split(mature_cutoffs(conn, label), horizon, config.training_cutoffs,
                       config.validation_folds)
    frame = load_frame(conn, list(split.train), label, active_days, config.max_customers_per_cutoff)
    holdout = load_frame(conn, [split.holdout], label, active_days)
    return split, frame, holdout


# ---------------------------------------------------------------- churn variants

def churn_current(frame, features, split, config, holdout, **_):
    fit = train_churn(frame, features, split, config)
    return churn_probability(fit["boosters"], fit["meta"], holdout), fit["validation"]


def _platt(raw, y):
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y.astype(int))
    return float(m.coef_[0, 0]), float(m.intercept_[0])


def churn_generic(frame, features, split, config, holdout, *, final="refit", cal="all",
                  overrides=None, stack=False, **_):
    """final: 'refit' (all cutoffs, median rounds) or 'heldback' (the newest fold's
    model, calibrated on its own validation cutoff). cal: 'all' folds or 'last'."""
    config = config.model_copy(update=overrides or {})
    target = frame["churned"].astype(float).to_numpy()
    p = boosting.params(config, "binary", "binary_logloss")
    folds = boosting.forward_chaining(frame, target, features, split, config, p)
    use = folds[-1:] if cal == "last" or final == "heldback" else folds
    raw = np.concatenate([f.raw for f in use])
    y = np.concatenate([target[f.valid_index] for f in use])
    x_h = boosting.matrix(holdout, features)
    if final == "heldback":
        fold = split.folds[-1]
        rows = np.flatnonzero(np.isin(frame["cutoff_date"].to_numpy(), fold.train))
        booster = boosting.fit_final(frame.iloc[rows], target[rows], features,
                                     type(split)(split.holdout, fold.train, ()), config, p,
                                     folds[-1].best_iteration)
    else:
        booster = boosting.fit_final(frame, target, features, split, config, p,
                                     boosting.final_rounds(folds))
    raw_h = booster.predict(x_h, raw_score=True)
    if stack:
        from sklearn.linear_model import LogisticRegression

        valid = frame.iloc[np.concatenate([f.valid_index for f in use])]
        z = np.column_stack([raw, logit(np.clip(valid["btyd_p_no_purchase"], 1e-6, 1 - 1e-6))])
        m = LogisticRegression(C=1e6, max_iter=1000).fit(z, y.astype(int))
        zh = np.column_stack([raw_h, logit(np.clip(holdout["btyd_p_no_purchase"], 1e-6, 1 - 1e-6))])
        return m.predict_proba(zh)[:, 1], {"coef": m.coef_.tolist()}
    a, b = _platt(raw, y)
    return expit(a * raw_h + b), {"rounds": [f.best_iteration for f in folds]}


def hp_search(frame, target, features, split, config, objective, metric, trials, seed=0, **extra):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = len(frame) / max(1, len(split.train))

    def run(trial):
        over = {
            "num_leaves": trial.suggest_categorical("num_leaves", [7, 15, 31, 63]),
            "min_child_samples": trial.suggest_categorical(
                "min_child_samples", sorted({20, 50, 100, 200, int(max(20, n / 50))})),
            "learning_rate": trial.suggest_categorical("learning_rate", [0.03, 0.05, 0.1]),
            "feature_fraction": trial.suggest_categorical("feature_fraction", [0.5, 0.8, 1.0]),
            "lambda_l2": trial.suggest_categorical("lambda_l2", [0.0, 1.0, 10.0]),
        }
        c = config.model_copy(update=over)
        p = boosting.params(c, objective, metric, **extra)
        folds = boosting.forward_chaining(frame, target, features, split, c, p)
        loss = 0.0
        for f in folds:
            y = target[f.valid_index]
            if objective == "binary":
                q = np.clip(expit(f.raw), 1e-7, 1 - 1e-7)
                loss += -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
            else:
                loss -= normalized_gini(y, f.raw)
        return loss / len(folds)

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({k: getattr(config, k) for k in
                         ["num_leaves", "min_child_samples", "learning_rate", "feature_fraction",
                          "lambda_l2"]})
    study.optimize(run, n_trials=trials)
    return study.best_params, study.best_value


def churn_hp(frame, features, split, config, holdout, trials=12, final="refit", **kw):
    target = frame["churned"].astype(float).to_numpy()
    best, value = hp_search(frame, target, features, split, config, "binary", "binary_logloss", trials)
    p, info = churn_generic(frame, features, split, config, holdout, final=final, overrides=best, **kw)
    return p, {"best": best, "valid_logloss": value}


# ---------------------------------------------------------------- LTV variants

def ltv_current(frame, features, split, config, holdout, **_):
    fit = train_ltv(frame, features, split, config)
    return ltv_prediction(fit["boosters"], fit["meta"], holdout)[0], fit["validation"]


def ltv_generic(frame, features, split, config, holdout, *, objective="tweedie", power=1.3,
                final="refit", total="none", overrides=None, **_):
    config = config.model_copy(update=overrides or {})
    y_true = frame["future_spend"].to_numpy(float)
    target = np.clip(y_true, 0, None)
    if objective == "tweedie":
        p = boosting.params(config, "tweedie", "tweedie", tweedie_variance_power=power)
        link = np.exp
    elif objective == "l2":
        p = boosting.params(config, "regression", "l2")
        link = lambda r: np.clip(r, 0, None)  # noqa: E731
    elif objective == "log":
        p = boosting.params(config, "regression", "l2")
        target = np.log1p(target)
        link = None
    folds = boosting.forward_chaining(frame, target, features, split, config, p)
    x_h = boosting.matrix(holdout, features)
    if final == "heldback":
        fold = split.folds[-1]
        rows = np.flatnonzero(np.isin(frame["cutoff_date"].to_numpy(), fold.train))
        booster = boosting.fit_final(frame.iloc[rows], target[rows], features,
                                     type(split)(split.holdout, fold.train, ()), config, p,
                                     folds[-1].best_iteration)
    else:
        booster = boosting.fit_final(frame, target, features, split, config, p,
                                     boosting.final_rounds(folds))
    raw_h = booster.predict(x_h, raw_score=True)
    last = folds[-1]
    y_last = y_true[last.valid_index]
    if objective == "log":
        # smearing: mean of exp(residual) on the newest fold
        smear = np.mean(np.expm1(target[last.valid_index]) + 1) / np.mean(np.exp(last.raw))
        pred_h, pred_last = np.exp(raw_h) * smear - 1, np.exp(last.raw) * smear - 1
        pred_h, pred_last = np.clip(pred_h, 0, None), np.clip(pred_last, 0, None)
    else:
        pred_h, pred_last = link(raw_h), link(last.raw)
    scale = 1.0
    if total == "last":
        scale = y_last.sum() / pred_last.sum()
    return pred_h * scale, {"scale": scale}


def ltv_hp(frame, features, split, config, holdout, trials=12, **kw):
    target = np.clip(frame["future_spend"].to_numpy(float), 0, None)
    best, value = hp_search(frame, target, features, split, config, "tweedie", "tweedie", trials,
                            tweedie_variance_power=kw.get("power", 1.3))
    pred, _ = ltv_generic(frame, features, split, config, holdout, overrides=best, **kw)
    return pred, {"best": best, "valid_neg_gini": value}


CHURN = {
    "current": (churn_current, {}),
    "refit_cal_last": (churn_generic, {"cal": "last"}),
    "heldback": (churn_generic, {"final": "heldback"}),
    "half_life_6": (churn_generic, {"overrides": {"recency_half_life_months": 6.0}}),
    "stack_btyd": (churn_generic, {"stack": True}),
    "small_trees": (churn_generic, {"overrides": {"num_leaves": 15, "min_child_samples": 200}}),
    "stack_small_trees": (churn_generic, {"stack": True, "overrides": {"num_leaves": 15, "min_child_samples": 200}}),
    "hp_search": (churn_hp, {}),
    "hp_search_heldback": (churn_hp, {"final": "heldback"}),
}
LTV = {
    "current": (ltv_current, {}),
    "tweedie_1.1": (ltv_generic, {"power": 1.1}),
    "tweedie_1.5": (ltv_generic, {"power": 1.5}),
    "tweedie_1.7": (ltv_generic, {"power": 1.7}),
    "l2": (ltv_generic, {"objective": "l2"}),
    "log_target": (ltv_generic, {"objective": "log"}),
    "total_last": (ltv_generic, {"total": "last"}),
    "heldback": (ltv_generic, {"final": "heldback"}),
    "heldback_total_last": (ltv_generic, {"final": "heldback", "total": "last"}),
    "hp_search": (ltv_hp, {}),
}


def with_extra_cutoffs(conn, split, frame, label, horizon, active_days, churn_days, ltv_days, per_month):
    from ml_assets.models.splits import with_extra_cutoffs as extend
    from ml_assets.models.data import extra_frame

    wider = extend(split, horizon, per_month)
    extra = [c for c in wider.train if c not in set(split.train)]
    more = extra_frame(conn, extra, label, active_days, churn_days, ltv_days)
    both = pd.concat([frame, more[frame.columns]], ignore_index=True)
    both = both.sort_values(["cutoff_date", "customer_id"], kind="stable").reset_index(drop=True)
    return wider, both


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--churn-days", type=int, default=90)
    ap.add_argument("--ltv-days", type=int, default=365)
    ap.add_argument("--active-days", type=int, default=365)
    ap.add_argument("--task", default="both")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--extra-per-month", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    conn = duckdb.connect(args.warehouse, read_only=True)
    rows = []
    for task in (["churn", "ltv"] if args.task == "both" else [args.task]):
        horizon = args.churn_days if task == "churn" else args.ltv_days
        config = (ChurnModelConfig if task == "churn" else LtvModelConfig)(num_threads=args.threads)
        split, frame, holdout = load(conn, task, horizon, config, args.active_days)
        features = feature_columns(frame)
        if args.extra_per_month:
            split, frame = with_extra_cutoffs(conn, split, frame, task, horizon, args.active_days,
                                              args.churn_days, args.ltv_days, args.extra_per_month)
        print(f"# {task}: {len(frame)} rows, {len(split.train)} cutoffs, holdout {split.holdout} "
              f"({len(holdout)}), folds {[f.valid.isoformat() for f in split.folds]}", flush=True)
        col, scorer = ("churned", churn_scores) if task == "churn" else ("future_spend", ltv_scores)
        y = holdout[col].astype(float).to_numpy()
        target = frame[col].astype(float).to_numpy()
        peers = {
            "peer:plain_lightgbm": plain_lightgbm(
                frame, holdout, target if task == "churn" else np.clip(target, 0, None),
                "binary" if task == "churn" else "regression"),
            "peer:bg_nbd": holdout["btyd_p_no_purchase" if task == "churn" else "btyd_expected_value"]
            .to_numpy(float),
        }
        cells = baselines.CHURN_CELLS if task == "churn" else baselines.LTV_CELLS
        peers["peer:rule"] = baselines.apply_grid(baselines.fit_grid(frame, cells, col), holdout)
        for name, pred in peers.items():
            rows.append({"task": task, "model": name, **scorer(y, pred)})
            print(rows[-1], flush=True)
        for name, (fn, kw) in (CHURN if task == "churn" else LTV).items():
            if args.only and name not in args.only:
                continue
            t0 = time.time()
            pred, info = fn(frame, features, split, config, holdout, **kw)
            rows.append({"task": task, "model": name, **scorer(y, pred),
                         "seconds": round(time.time() - t0, 1), "info": json.dumps(info, default=str)[:200]})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["info"], errors="ignore").round(4).to_string(index=False))
    if args.json:
        table.to_json(args.json, orient="records", indent=1)


if __name__ == "__main__":
    main()
