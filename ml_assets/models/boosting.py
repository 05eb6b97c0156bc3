"""LightGBM plumbing shared by the churn and LTV models: deterministic
parameters, recency weights, and forward-chaining early stopping."""

from dataclasses import dataclass
from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.models.config import TrainingConfig
from ml_assets.models.splits import Split


def params(config: TrainingConfig, objective: str, metric: str, **extra) -> dict:
    """LightGBM parameters; fixed seeds and deterministic mode make runs repeatable."""
    return {
        "objective": objective,
        "metric": metric,
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": config.num_threads,
        "verbosity": -1,
        **extra,
    }


def recency_weights(cutoffs: pd.Series, newest: date, half_life_months: float) -> np.ndarray:
    """Weight 0.5 ** (months before ``newest`` / half-life); all ones when off."""
    if half_life_months <= 0:
        return np.ones(len(cutoffs))
    months = np.array([(newest.year - c.year) * 12 + newest.month - c.month for c in cutoffs])
    return 0.5 ** (months / half_life_months)


def matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    return frame[features].to_numpy(dtype=np.float64, na_value=np.nan)


def dataset(frame, features, target, config, newest, reference=None, offset=None) -> lgb.Dataset:
    return lgb.Dataset(
        matrix(frame, features),
        label=target,
        weight=recency_weights(frame["cutoff_date"], newest, config.recency_half_life_months),
        init_score=offset,
        feature_name=features,
        reference=reference,
        free_raw_data=False,
    )


@dataclass
class FoldResult:
    valid: date
    best_iteration: int
    valid_index: np.ndarray  # row positions in the frame
    raw: np.ndarray  # raw scores of the fold model on its validation cutoff
    booster: lgb.Booster | None = None
    valid_x: np.ndarray | None = None
    valid_offset: np.ndarray | float = 0.0

    def scores_at(self, rounds: int) -> np.ndarray:
        """Raw validation scores (offset included) of this fold's model cut to ``rounds``
        trees: the scores a calibration for a served model of ``rounds`` trees is fitted on."""
        trees = self.booster.predict(self.valid_x, num_iteration=rounds, raw_score=True)
        return trees + self.valid_offset


def forward_chaining(
    frame: pd.DataFrame,
    target: np.ndarray,
    features: list[str],
    split: Split,
    config: TrainingConfig,
    lgb_params: dict,
    offset: np.ndarray | None = None,
) -> list[FoldResult]:
    """Train one model per fold on its past cutoffs, early-stopped on its validation cutoff.
    ``offset`` (one raw score per frame row) is a base margin the trees start from."""
    results = []
    cutoffs = frame["cutoff_date"].to_numpy()
    for fold in split.folds:
        train_rows = np.flatnonzero(np.isin(cutoffs, fold.train))
        valid_rows = np.flatnonzero(cutoffs == fold.valid)
        train_set = dataset(
            frame.iloc[train_rows], features, target[train_rows], config, max(fold.train),
            offset=None if offset is None else offset[train_rows],
        )
        valid_x = matrix(frame.iloc[valid_rows], features)
        valid_offset = 0.0 if offset is None else offset[valid_rows]
        valid_set = lgb.Dataset(
            valid_x, label=target[valid_rows], reference=train_set,
            init_score=None if offset is None else valid_offset,
        )
        booster = lgb.train(
            lgb_params,
            train_set,
            # past the patience window, so scores exist at any rounds the final model uses
            num_boost_round=config.max_rounds,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
        )
        results.append(
            FoldResult(
                valid=fold.valid,
                best_iteration=booster.best_iteration or config.max_rounds,
                valid_index=valid_rows,
                raw=booster.predict(valid_x, num_iteration=booster.best_iteration, raw_score=True)
                + valid_offset,
                booster=booster,
                valid_x=valid_x,
                valid_offset=valid_offset,
            )
        )
    return results


def final_rounds(folds: list[FoldResult]) -> int:
    """Rounds for the model on all training cutoffs: the folds' median best iteration."""
    return max(1, int(np.median([f.best_iteration for f in folds])))


def fit_final(
    frame, target, features, split: Split, config, lgb_params, rounds, offset=None
) -> lgb.Booster:
    train_set = dataset(frame, features, target, config, max(split.train), offset=offset)
    return lgb.train(lgb_params, train_set, num_boost_round=rounds)


def importance(booster: lgb.Booster) -> pd.Series:
    """Total gain per feature, largest first."""
    gain = booster.feature_importance(importance_type="gain")
    return pd.Series(gain, index=booster.feature_name()).sort_values(ascending=False)
