"""Applying any registered model of a task, whatever its family: the one place
evaluation, scoring and monitoring turn an artifact into predictions, so the
model that is served is the model that was evaluated."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd

from ml_assets import registry
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


def load_champion(conn, task: str, model_dir: str, needed_for: str) -> Loaded:
    """The task's champion, verified and confined to ``model_dir``; a failure
    saying what to do when there is none."""
    registry.ensure_tables(conn)
    try:
        return load(*registry.load_alias(conn, task, "champion", model_dir))
    except registry.ModelNotFoundError as error:
        raise dg.Failure(
            f"The {task} task has no champion, which {needed_for} needs: {task}_promotion names "
            "one as soon as any model (baselines included) passes the absolute limits, and its "
            "last decision in promotion_decisions says which limits failed. Or point the "
            f"champion at a known version with `python -m ml_assets.registry rollback --task "
            f"{task} --to MODEL:V --reason ...`."
        ) from error
    except registry.ArtifactVerificationError as error:
        raise dg.Failure(f"The {task} champion cannot be used for {needed_for}: {error}") from error


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
