"""Training and applying the LTV model: LightGBM tweedie regression of spend in
the horizon, plus conformalized quantile regression (CQR) for an interval.

Spend is zero-inflated and right-skewed: tweedie fits both. The trees start
from a base margin, log of BG/NBD x Gamma-Gamma's expected spend in the horizon
(``offset_column``), and learn a multiplicative correction of it: trees alone
cannot predict past their largest leaf, so they underpredict the biggest
customers, who dominate RMSE and the total; the offset extrapolates for them.
The offset is part of the served prediction (``ltv_prediction``) and of every
validation score the interval is calibrated on. Targets are
clipped at zero for training (a customer cannot be worth less than nothing to
a marketer); metrics are computed against the true net spend.
"""

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.models import boosting
from ml_assets.models.config import LtvModelConfig
from ml_assets.models.splits import Split


def train_ltv(frame: pd.DataFrame, features: list[str], split: Split, config: LtvModelConfig) -> dict:
    """Fit mean and quantile models on ``split.train``; calibrate the interval on folds."""
    if not 0.5 < config.interval_coverage < 1:
        raise ValueError(f"interval_coverage must be in (0.5, 1), got {config.interval_coverage}")
    y_true = frame["future_spend"].to_numpy(float)
    target = np.clip(y_true, 0, None)
    alpha = (1 - config.interval_coverage) / 2
    mean_params = boosting.params(
        config, "tweedie", "tweedie", tweedie_variance_power=config.tweedie_variance_power
    )
    models = {
        "mean": mean_params,
        "lower": boosting.params(config, "quantile", "quantile", alpha=alpha),
        "upper": boosting.params(config, "quantile", "quantile", alpha=1 - alpha),
    }
    # a floor of 0 means the training rows' mean spend: below it the trees rank freely
    floor = config.offset_floor if config.offset_floor > 0 else max(float(target.mean()), 1e-6)
    offsets = {"mean": mean_offset(frame, config.offset_column, floor)}
    folds = {
        name: boosting.forward_chaining(frame, target, features, split, config, p, offsets.get(name))
        for name, p in models.items()
    }
    rounds = {name: boosting.final_rounds(f) for name, f in folds.items()}
    # validation scores of the fold models cut to the served models' rounds, so the
    # conformal margin is fitted on scores of the kind the served models produce
    valid = {
        name: np.concatenate([f.scores_at(rounds[name]) for f in fold_list])
        for name, fold_list in folds.items()
    }
    valid_index = np.concatenate([f.valid_index for f in folds["mean"]])
    valid_y = y_true[valid_index]
    mean_valid = np.exp(valid["mean"])
    lower_valid, upper_valid = valid["lower"], valid["upper"]
    widen = conformal_margin(valid_y, lower_valid, upper_valid, config.interval_coverage)
    boosters = {
        name: boosting.fit_final(
            frame, target, features, split, config, p, rounds[name], offsets.get(name)
        )
        for name, p in models.items()
    }
    lo, hi = _interval(lower_valid, upper_valid, widen)
    validation = {
        "valid_cutoffs": [f.valid.isoformat() for f in folds["mean"]],
        "rounds": rounds,
        "valid_rmse": float(np.sqrt(np.mean((mean_valid - valid_y) ** 2))),
        "valid_total_pred": float(mean_valid.sum()),
        "valid_total_true": float(valid_y.sum()),
        "valid_interval_coverage": float(np.mean((valid_y >= lo) & (valid_y <= hi))),
        "conformal_margin": widen,
        "calibrated_at_rounds": rounds,
    }
    meta = {
        "kind": "ltv",
        "features": features,
        "interval_coverage": config.interval_coverage,
        "conformal_margin": widen,
        "rounds": rounds,
        "offset": {"column": config.offset_column, "floor": floor}
        if config.offset_column else None,
    }
    return {"boosters": boosters, "meta": meta, "validation": validation}


def ltv_prediction(boosters: dict[str, lgb.Booster], meta: dict, frame: pd.DataFrame):
    """(expected spend, interval lower, interval upper) for the rows of ``frame``."""
    x = boosting.matrix(frame, meta["features"])
    offset = meta.get("offset")
    if offset:
        raw = boosters["mean"].predict(x, raw_score=True)
        mean = np.exp(raw + mean_offset(frame, offset["column"], offset["floor"]))
    else:
        mean = boosters["mean"].predict(x)
    lo, hi = _interval(boosters["lower"].predict(x), boosters["upper"].predict(x), meta["conformal_margin"])
    # the interval is for the spend itself; for very skewed customers the mean can
    # fall outside it, so widen it to hold the point forecast a user is shown
    return mean, np.minimum(lo, mean), np.maximum(hi, mean)


def mean_offset(frame: pd.DataFrame, column: str, floor: float) -> np.ndarray | None:
    """log(max(column, floor)) per row, the tweedie model's base margin; None without a column."""
    if not column:
        return None
    values = frame[column].to_numpy(np.float64, na_value=np.nan)
    return np.log(np.maximum(np.nan_to_num(values, nan=floor), floor))


def conformal_margin(y, lower, upper, coverage: float) -> float:
    """CQR: the finite-sample quantile of max(lower - y, y - upper)."""
    scores = np.maximum(lower - y, y - upper)
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))


def _interval(lower, upper, widen):
    lo = np.clip(np.minimum(lower, upper) - widen, 0, None)
    hi = np.clip(np.maximum(lower, upper) + widen, 0, None)
    return lo, np.maximum(hi, lo)
