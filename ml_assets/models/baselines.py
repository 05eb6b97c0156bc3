"""The baselines every candidate must beat, side by side in each report.

- rules: the classic recency x frequency grid for churn (each cell's churn rate
  on the training cutoffs) and an RFM grid for LTV (each cell's mean spend);
- last year: next horizon's spend = the last 365 days' net spend;
- BTYD: BG/NBD for purchases and Gamma-Gamma for spend, fitted on the
  scored cutoff's own history (features use only events before it).
"""

import numpy as np
import pandas as pd

from ml_assets.models import btyd

GRID = 5
CHURN_CELLS = ["recency_days", "orders_total"]
LTV_CELLS = ["recency_days", "orders_total", "avg_order_value"]
DAYS_PER_WEEK = 7.0


def fit_grid(train: pd.DataFrame, columns: list[str], target: str, prior_weight: float = 20.0) -> dict:
    """Quintile edges per column and each cell's mean target, shrunk to the overall mean."""
    edges = {c: _edges(train[c]) for c in columns}
    y = train[target].astype(float)
    overall = float(y.mean())
    grouped = y.groupby(_cells(train, edges)).agg(["sum", "count"])
    shrunk = (grouped["sum"] + prior_weight * overall) / (grouped["count"] + prior_weight)
    return {"edges": edges, "cells": shrunk.to_dict(), "overall": overall}


def apply_grid(grid: dict, frame: pd.DataFrame) -> np.ndarray:
    cells = _cells(frame, grid["edges"])
    return cells.map(grid["cells"]).fillna(grid["overall"]).to_numpy(float)


def last_year_spend(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Naive: the coming horizon repeats the last 365 days, scaled to the horizon."""
    return np.clip(frame["spend_365d"].to_numpy(float), 0, None) * horizon_days / 365.0


def btyd_predictions(
    history: pd.DataFrame, frame: pd.DataFrame, churn_days: int, ltv_days: int
) -> dict:
    """BTYD churn probability and spend for ``frame``'s rows, with BG/NBD and
    Gamma-Gamma fitted on ``history``: every customer at the cutoff, since the
    models describe whole cohorts, not a subset selected on recency."""
    bgnbd = btyd.fit_bgnbd(*_btyd_summary(history)[:3])
    x, t_x, age, monetary = _btyd_summary(frame)
    hx, _, _, hm = _btyd_summary(history)
    repeat = (hx > 0) & (hm > 0)
    gg = btyd.fit_gamma_gamma(hx[repeat], hm[repeat])
    p_churn = btyd.bgnbd_prob_no_purchase(bgnbd, churn_days / DAYS_PER_WEEK, x, t_x, age)
    purchases = btyd.bgnbd_expected_purchases(bgnbd, ltv_days / DAYS_PER_WEEK, x, t_x, age)
    has_spend = (x > 0) & (monetary > 0)
    spend = btyd.gamma_gamma_expected_spend(
        gg, np.where(has_spend, x, 0), np.where(has_spend, monetary, 0)
    )
    return {
        "churn": np.asarray(p_churn, float),
        "ltv": np.asarray(purchases * spend, float),
        "params": {"bgnbd": bgnbd.__dict__, "gamma_gamma": gg.__dict__},
    }


def _btyd_summary(frame: pd.DataFrame):
    """(frequency, recency in weeks, age in weeks, mean repeat spend) arrays."""
    return (
        frame["btyd_frequency"].to_numpy(float),
        frame["btyd_recency"].to_numpy(float) / DAYS_PER_WEEK,
        frame["btyd_T"].to_numpy(float) / DAYS_PER_WEEK,
        frame["btyd_monetary"].to_numpy(float),
    )


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
