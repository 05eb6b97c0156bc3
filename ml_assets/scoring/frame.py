"""Scoring a frame of customer features with the two champions: the one
function batch scoring (``customer_scores``) and every other scoring path
share, so a customer's score does not depend on how it was asked for."""

import numpy as np
import pandas as pd

from ml_assets.models.predict import Loaded, explainer, predict
from ml_assets.scoring.reasons import rfm_reasons, top_reasons

RISK_LEVELS = ["low", "medium", "high", "critical"]
VALUE_SEGMENTS = ["low", "medium", "high", "top"]


def score_frame(frame: pd.DataFrame, cutoff, churn: Loaded, ltv: Loaded,
                risk_thresholds, rfm_population: dict) -> pd.DataFrame:
    """Churn probability, risk level, three reasons and LTV with its interval
    for each row of ``frame`` (features at ``cutoff``). ``rfm_population``
    (``reasons.rfm_reference`` of the cutoff's whole scored population) ranks
    customers for the reasons of champions without boosters. The value segment
    is a property of the whole population too: ``value_segments`` adds it."""
    p, _, _ = predict(churn, frame)
    value, lower, upper = predict(ltv, frame)
    reasons = _reasons(churn, frame, rfm_population)
    return pd.DataFrame(
        {
            "cutoff_date": cutoff,
            "customer_id": frame["customer_id"],
            "churn_probability": p,
            "risk_level": levels(p, risk_thresholds, RISK_LEVELS),
            "reason_1": [r[0] if len(r) > 0 else None for r in reasons],
            "reason_2": [r[1] if len(r) > 1 else None for r in reasons],
            "reason_3": [r[2] if len(r) > 2 else None for r in reasons],
            "predicted_ltv": value,
            "ltv_lower": lower,
            "ltv_upper": upper,
            "churn_model_name": churn.row["model_name"],
            "churn_model_version": churn.row["version"],
            "ltv_model_name": ltv.row["model_name"],
            "ltv_model_version": ltv.row["version"],
        }
    )


def value_segments(scores: pd.DataFrame, quantiles, cuts=None) -> list[float]:
    """Add ``value_segment`` to the scores of a cutoff, cut at ``cuts`` or else at
    the ``quantiles`` of the whole scored population's predicted LTV; returns
    the cut points used (stored with the run, so one customer scored later
    lands in the segment the batch would have given it)."""
    if cuts is None:
        cuts = np.quantile(scores["predicted_ltv"].to_numpy(float), quantiles)
    scores["value_segment"] = levels(scores["predicted_ltv"].to_numpy(float), cuts,
                                     VALUE_SEGMENTS)
    return [float(c) for c in cuts]


def levels(values: np.ndarray, cuts, names: list[str]) -> np.ndarray:
    return np.array(names, dtype=object)[np.searchsorted(cuts, values, side="right")]


def _reasons(churn: Loaded, frame: pd.DataFrame, rfm_population: dict) -> list[list[str]]:
    """Feature contributions of the churn champion's booster, or for BTYD and
    rule champions (functions of recency, frequency and value) the customer's
    recency, frequency and value against the scored population."""
    explained = explainer(churn)
    if explained is None:
        return rfm_reasons(frame, rfm_population)
    booster, features = explained
    return top_reasons(booster, frame, features)
