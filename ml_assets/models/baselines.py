"""The baselines every candidate must beat. Each is a registered model like
the learned ones (versions, lineage, an artifact folder) and can be champion.

churn: ``recency_frequency_rule`` (each recency x frequency quintile cell's
churn rate on the training cutoffs), ``bg_nbd_churn`` (BG/NBD P(no purchase
in the churn window)), ``plain_lightgbm_churn``;
ltv: ``rfm_rule`` (each RFM cell's mean spend), ``last_year`` (the last 365
days' spend, scaled to the horizon), ``bg_nbd_gamma_gamma`` (expected spend in
the horizon), ``plain_lightgbm_ltv``.

The plain LightGBM is the model a user writes first: default parameters, 100
rounds, the basic RFM and window features, the candidate's training cutoffs.
A BTYD baseline's version pins a procedure, not fitted numbers: BG/NBD and
Gamma-Gamma are refit at every cutoff on the customers' history before it
(``snapshots/btyd_features.py``; the fits are in table ``btyd_fits``).

LTV baselines get an interval the way the learned model does, conformally:
fitted on the training cutoffs before the newest one, the normalized absolute
residual |y - pred| / (pred + scale) is calibrated on the newest, then the
model is refit on every training cutoff.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import Field

from ml_assets.models.boosting import matrix
from ml_assets.models.splits import closed_before

GRID = 5
CHURN_CELLS = ["recency_days", "orders_total"]
LTV_CELLS = ["recency_days", "orders_total", "avg_order_value"]
BASIC_FEATURES = [
    "recency_days", "tenure_days", "orders_total", "net_spend", "avg_order_value",
    "max_order_value", "purchase_days", "orders_30d", "orders_90d", "orders_180d",
    "orders_365d", "spend_30d", "spend_90d", "spend_180d", "spend_365d",
]
PLAIN_ROUNDS = 100
BTYD_COLUMN = {"bg_nbd_churn": "btyd_p_no_purchase", "bg_nbd_gamma_gamma": "btyd_expected_value"}
BASELINES = {
    "churn": ("recency_frequency_rule", "bg_nbd_churn", "plain_lightgbm_churn"),
    "ltv": ("rfm_rule", "last_year", "bg_nbd_gamma_gamma", "plain_lightgbm_ltv"),
}
FAMILY = {
    "recency_frequency_rule": "rule", "rfm_rule": "rule", "last_year": "rule",
    "bg_nbd_churn": "btyd", "bg_nbd_gamma_gamma": "btyd",
    "plain_lightgbm_churn": "plain_lightgbm", "plain_lightgbm_ltv": "plain_lightgbm",
}
LABEL = {"churn": "churned", "ltv": "future_spend"}


class BaselineConfig(dg.Config):
    """The baselines' only choices: their LTV interval's coverage and a seed."""

    interval_coverage: float = Field(
        default=0.8, description="Nominal coverage of the LTV baselines' conformal interval."
    )
    seed: int = Field(default=42, description="Seed of the plain LightGBM.")


def fit_baseline(
    name: str, task: str, frame: pd.DataFrame, cutoffs: list[date], horizon_days: int,
    coverage: float, seed: int,
) -> dict:
    """Fit baseline ``name`` on the training rows; returns ``{"meta", "boosters"}``,
    the artifact a version holds. LTV baselines carry a conformal interval."""
    fitted = _fit(name, task, frame, horizon_days, seed)
    if task == "ltv":
        fitted["meta"]["interval"] = _conformal_interval(
            name, frame, cutoffs, horizon_days, coverage, seed
        )
    fitted["meta"].update({"family": FAMILY[name], "kind": name, "task": task})
    return fitted


def predict_baseline(boosters: dict, meta: dict, frame: pd.DataFrame) -> np.ndarray:
    """Point predictions of a fitted baseline (churn probability or spend)."""
    if meta["kind"] == "last_year":
        return last_year_spend(frame, meta["horizon_days"])
    if meta["family"] == "rule":
        return apply_grid(meta["grid"], frame)
    if meta["family"] == "btyd":
        return btyd_prediction(frame, meta["column"])
    raw = boosters["model"].predict(matrix(frame, meta["features"]))
    return raw if meta["task"] == "churn" else np.clip(raw, 0, None)


def baseline_interval(meta: dict, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The conformal interval of an LTV baseline around its point predictions."""
    width = meta["interval"]["q"] * (pred + meta["interval"]["scale"])
    return np.clip(pred - width, 0, None), pred + width


def fit_grid(train: pd.DataFrame, columns: list[str], target: str, prior_weight: float = 20.0) -> dict:
    """Quintile edges per column and each cell's mean target, shrunk to the overall mean."""
    edges = {c: _edges(train[c]) for c in columns}
    y = train[target].astype(float)
    overall = float(y.mean())
    grouped = y.groupby(_cells(train, edges)).agg(["sum", "count"])
    shrunk = (grouped["sum"] + prior_weight * overall) / (grouped["count"] + prior_weight)
    # the column order defines the cell numbers: stored as a list, since the
    # artifact's JSON sorts the keys of "edges"
    return {"columns": list(columns), "edges": edges,
            "cells": {str(k): float(v) for k, v in shrunk.items()}, "overall": overall}


def apply_grid(grid: dict, frame: pd.DataFrame) -> np.ndarray:
    edges = {c: grid["edges"][c] for c in grid["columns"]}
    cells = _cells(frame, edges).astype(str)
    return cells.map(grid["cells"]).fillna(grid["overall"]).to_numpy(float)


def last_year_spend(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Naive: the coming horizon repeats the last 365 days, scaled to the horizon."""
    return np.clip(frame["spend_365d"].to_numpy(float), 0, None) * horizon_days / 365.0


def btyd_prediction(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The BTYD output ``customer_features`` holds for the rows' cutoff."""
    values = frame[column].to_numpy(float)
    if np.isnan(values).any():
        raise ValueError(
            f"{column} is missing for {int(np.isnan(values).sum())} customers: Gamma-Gamma could "
            "not be fitted at their cutoff (too few repeat buyers with a positive mean spend "
            "before it)."
        )
    return values


def _fit(name: str, task: str, frame: pd.DataFrame, horizon_days: int, seed: int) -> dict:
    if name == "recency_frequency_rule":
        return {"meta": {"grid": fit_grid(frame, CHURN_CELLS, LABEL[task])}, "boosters": {}}
    if name == "rfm_rule":
        return {"meta": {"grid": fit_grid(frame, LTV_CELLS, LABEL[task])}, "boosters": {}}
    if name == "last_year":
        return {"meta": {"horizon_days": horizon_days}, "boosters": {}}
    if name in BTYD_COLUMN:
        return {"meta": {"column": BTYD_COLUMN[name], "procedure": (
            "BG/NBD (and Gamma-Gamma for spend) maximum likelihood, refit at each cutoff on "
            "every customer's history before it")}, "boosters": {}}
    target = frame[LABEL[task]].astype(float).clip(lower=0 if task == "ltv" else None)
    params = {
        "objective": "binary" if task == "churn" else "regression",
        "seed": seed, "deterministic": True, "force_row_wise": True, "verbosity": -1,
    }
    booster = lgb.train(
        params, lgb.Dataset(matrix(frame, BASIC_FEATURES), label=target.to_numpy(),
                            feature_name=BASIC_FEATURES),
        num_boost_round=PLAIN_ROUNDS,
    )
    return {"meta": {"features": BASIC_FEATURES, "rounds": PLAIN_ROUNDS,
                     "params": params}, "boosters": {"model": booster}}


def _conformal_interval(name, frame, cutoffs, horizon_days, coverage, seed) -> dict:
    """Normalized split conformal: fit on the cutoffs whose labels closed before
    the newest training cutoff, calibrate the residual quantile on the newest."""
    newest = max(cutoffs)
    before = closed_before(sorted(cutoffs), horizon_days, newest)
    calibrate = frame[frame["cutoff_date"] == newest]
    fit_rows = frame[frame["cutoff_date"].isin(before)] if before else calibrate
    fitted = _fit(name, "ltv", fit_rows, horizon_days, seed)
    meta = {**fitted["meta"], "family": FAMILY[name], "kind": name, "task": "ltv"}
    pred = predict_baseline(fitted["boosters"], meta, calibrate)
    y = calibrate["future_spend"].to_numpy(float)
    scale = max(float(np.mean(pred)), 1e-6)
    scores = np.abs(y - pred) / (pred + scale)
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return {
        "method": "normalized split conformal",
        "q": float(np.quantile(scores, level, method="higher")),
        "scale": scale,
        "coverage": coverage,
        "calibration_cutoff": newest.isoformat(),
        "fitted_on": "same cutoff (no earlier closed cutoff)" if not before else
        f"{len(before)} earlier cutoffs",
    }


def _edges(values: pd.Series) -> list[float]:
    inner = np.nanquantile(values.to_numpy(float), np.linspace(0, 1, GRID + 1)[1:-1])
    return sorted(set(float(v) for v in inner))


def _cells(frame: pd.DataFrame, edges: dict[str, list[float]]) -> pd.Series:
    """One integer per cell: the columns' bin numbers as digits in base GRID + 1."""
    cell = np.zeros(len(frame), dtype=np.int64)
    for column, column_edges in edges.items():
        values = np.nan_to_num(frame[column].to_numpy(float), nan=-np.inf)
        cell = cell * (GRID + 1) + np.searchsorted(column_edges, values, side="right")
    return pd.Series(cell, index=frame.index)
