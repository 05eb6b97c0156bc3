"""Applying any registered model of a task, whatever its family: the one place
evaluation, scoring and monitoring turn an artifact into predictions, so the
model that is served is the model that was evaluated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_assets.models.artifacts import read_model
from ml_assets.models.baselines import baseline_interval, predict_baseline
from ml_assets.models.churn import churn_probability
from ml_assets.models.ltv import ltv_prediction


@dataclass
class Loaded:
    """A verified version's row and its artifact, ready to predict."""

    row: dict
    boosters: dict
    meta: dict

    @property
    def family(self) -> str:
        # versions registered before baselines were models are all learned LightGBM
        return self.meta.get("family", "lightgbm")

    @property
    def label(self) -> str:
        return f"{self.row['model_name']} v{self.row['version']}"


def load(row: dict, folder) -> Loaded:
    """Read a folder the registry has verified (``registry.load_verified``)."""
    boosters, meta = read_model(folder)
    return Loaded(row, boosters, meta)


def predict(model: Loaded, frame: pd.DataFrame):
    """(prediction, lower, upper) for the rows of ``frame``: churn probability
    with no interval, or spend with its interval."""
    task = model.row["task"]
    if model.family == "lightgbm":
        if task == "churn":
            return churn_probability(model.boosters, model.meta, frame), None, None
        return ltv_prediction(model.boosters, model.meta, frame)
    pred = predict_baseline(model.boosters, model.meta, frame)
    if task == "churn":
        return np.clip(pred, 0.0, 1.0), None, None
    lower, upper = baseline_interval(model.meta, pred)
    return pred, lower, upper


def explainer(model: Loaded):
    """The booster whose feature contributions explain a churn score, or None
    for families explained from recency, frequency and value."""
    if model.family == "lightgbm":
        return model.boosters["churn"], model.meta["features"]
    if model.family == "plain_lightgbm":
        return model.boosters["model"], model.meta["features"]
    return None
