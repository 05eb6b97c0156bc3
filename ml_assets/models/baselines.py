"""The baselines every candidate must beat, side by side in each report.

- rules: the classic recency x frequency grid for churn (each cell's churn rate
  on the training cutoffs) and an RFM grid for LTV (each cell's mean spend);
- last year: next horizon's spend = the last 365 days' net spend;
- BTYD: BG/NBD for purchases and Gamma-Gamma for spend, fitted at the scored
  cutoff on every customer's history before it (stored with the features).
"""

import numpy as np
import pandas as pd

GRID = 5
CHURN_CELLS = ["recency_days", "orders_total"]
LTV_CELLS = ["recency_days", "orders_total", "avg_order_value"]


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


def btyd_predictions(frame: pd.DataFrame) -> dict:
    """BG/NBD P(no purchase in the churn window) and BG/NBD x Gamma-Gamma spend in
    the LTV horizon, as ``customer_features`` holds them: fitted at the cutoff on
    every customer's history before it (``snapshots/btyd_features.py``)."""
    churn = frame["btyd_p_no_purchase"].to_numpy(float)
    ltv = frame["btyd_expected_value"].to_numpy(float)
    if np.isnan(ltv).any():
        raise ValueError(
            "btyd_expected_value is missing at this cutoff: Gamma-Gamma could not be fitted "
            "(too few repeat buyers with a positive mean spend before the cutoff). Evaluate on "
            "a later cutoff or a longer history."
        )
    return {"churn": churn, "ltv": ltv}


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
