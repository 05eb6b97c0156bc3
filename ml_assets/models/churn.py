"""Training and applying the churn model: LightGBM binary classifier, a
logistic calibration on out-of-fold validation scores that also weighs BG/NBD's
log-odds of no purchase (``blend_btyd``, a stack), and a decision threshold.

The calibration and the threshold are fitted on the fold models' validation
scores cut to the served model's number of trees, so they describe scores of
the scale the served model produces (``FoldResult.scores_at``)."""

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.lib.metrics import expected_calibration_error
from ml_assets.models import boosting
from ml_assets.models.config import ChurnModelConfig
from ml_assets.models.splits import Split

BTYD = "btyd_p_no_purchase"
EPS = 1e-6


def train_churn(
    frame: pd.DataFrame, features: list[str], split: Split, config: ChurnModelConfig
) -> dict:
    """Fit on ``split.train`` cutoffs; return boosters, metadata and validation report."""
    target = frame["churned"].astype(float).to_numpy()
    lgb_params = boosting.params(config, "binary", "binary_logloss")
    folds = boosting.forward_chaining(frame, target, features, split, config, lgb_params)
    rounds = boosting.final_rounds(folds)
    raw = np.concatenate([f.scores_at(rounds) for f in folds])
    rows = np.concatenate([f.valid_index for f in folds])
    y = target[rows]
    btyd = btyd_logit(frame.iloc[rows]) if config.blend_btyd else None
    calibration = _platt(raw, y, btyd)
    p_valid = calibrate(raw, calibration, btyd)
    threshold = decision_threshold(p_valid, config)
    booster = boosting.fit_final(frame, target, features, split, config, lgb_params, rounds)
    validation = {
        "valid_cutoffs": [f.valid.isoformat() for f in folds],
        "best_iterations": [f.best_iteration for f in folds],
        "rounds": rounds,
        "calibrated_at_rounds": rounds,
        "valid_roc_auc": float(roc_auc_score(y, raw)),
        "valid_brier_uncalibrated": float(brier_score_loss(y, expit(raw))),
        "valid_brier_calibrated": float(brier_score_loss(y, p_valid)),
        "valid_ece_uncalibrated": expected_calibration_error(y, expit(raw)),
        "valid_ece_calibrated": expected_calibration_error(y, p_valid),
        "valid_churn_rate": float(y.mean()),
    }
    meta = {
        "kind": "churn",
        "features": features,
        "calibration": calibration,
        "threshold": threshold,
        "threshold_policy": config.threshold_policy,
        "rounds": rounds,
    }
    return {"boosters": {"churn": booster}, "meta": meta, "validation": validation}


def churn_probability(boosters: dict[str, lgb.Booster], meta: dict, frame: pd.DataFrame):
    """Calibrated churn probabilities for the rows of ``frame``."""
    raw = boosters["churn"].predict(boosting.matrix(frame, meta["features"]), raw_score=True)
    calibration = meta["calibration"]
    return calibrate(raw, calibration, btyd_logit(frame) if "c" in calibration else None)


def calibrate(raw: np.ndarray, calibration: dict, btyd: np.ndarray | None = None) -> np.ndarray:
    """sigmoid(a * raw + b), plus c * logit(BG/NBD P(no purchase)) when blended."""
    z = calibration["a"] * raw + calibration["b"]
    if "c" in calibration:
        z = z + calibration["c"] * btyd
    return expit(z)


def btyd_logit(frame: pd.DataFrame) -> np.ndarray:
    """Log-odds of BG/NBD's P(no purchase in the churn window), clipped away from 0 and 1."""
    p = frame[BTYD].to_numpy(dtype=np.float64, na_value=np.nan)
    return logit(np.clip(np.nan_to_num(p, nan=0.5), EPS, 1 - EPS))


def decision_threshold(p_valid: np.ndarray, config: ChurnModelConfig) -> float:
    """The documented policy: a contact capacity, or the cost-optimal cut."""
    if config.threshold_policy == "capacity":
        if not 0 < config.capacity_share < 1:
            raise ValueError(f"capacity_share must be in (0, 1), got {config.capacity_share}")
        return float(np.quantile(p_valid, 1 - config.capacity_share))
    if config.threshold_policy == "cost":
        if config.cost_ratio <= 0:
            raise ValueError(f"cost_ratio must be positive, got {config.cost_ratio}")
        return 1.0 / (1.0 + config.cost_ratio)
    raise ValueError(
        f"threshold_policy must be 'capacity' or 'cost', got {config.threshold_policy!r}"
    )


def _platt(raw: np.ndarray, y: np.ndarray, btyd: np.ndarray | None = None) -> dict:
    """Logistic recalibration of raw scores, fitted on validation folds only; with
    ``btyd``, BG/NBD's log-odds of no purchase is a second input (a stack)."""
    x = raw.reshape(-1, 1) if btyd is None else np.column_stack([raw, btyd])
    model = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000)
    model.fit(x, y.astype(int))
    out = {"method": "platt", "a": float(model.coef_[0, 0]), "b": float(model.intercept_[0])}
    if btyd is not None:
        out.update(method="platt_btyd", c=float(model.coef_[0, 1]))
    return out
