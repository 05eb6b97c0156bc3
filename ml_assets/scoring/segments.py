"""Segments a marketer acts on, from tenure, churn risk and predicted value,
and their summary per cutoff (table ``segment_summary``).

Rules, first match wins (settings in brackets):

1. ``new``: first purchase fewer than ``segment_new_days`` days ago (90);
2. ``at-risk high value``: churn probability >= ``segment_at_risk_probability``
   (0.5) and value segment >= ``segment_high_value`` (high);
3. ``at-risk low value``: churn probability >= ``segment_at_risk_probability``;
4. ``loyal high value``: value segment >= ``segment_high_value``;
5. ``steady low value``: everyone else.

The value segment is cut at the scored population's quantiles (stored per run
in ``scoring_runs.value_cuts``), so one customer scored on demand lands where
the batch would have put them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_assets.lib.plots import figure, image
from ml_assets.scoring.frame import VALUE_SEGMENTS

SEGMENTS = ["new", "at-risk high value", "at-risk low value", "loyal high value",
            "steady low value"]


def segments(scores: pd.DataFrame, tenure_days, settings) -> np.ndarray:
    """The segment of each scored row (``scores`` with ``value_segment``);
    ``tenure_days`` aligned with its rows."""
    tenure = np.asarray(tenure_days, float)
    at_risk = scores["churn_probability"].to_numpy(float) >= settings.segment_at_risk_probability
    high = scores["value_segment"].map(VALUE_SEGMENTS.index).to_numpy() >= VALUE_SEGMENTS.index(
        settings.segment_high_value)
    return np.select(
        [tenure < settings.segment_new_days, at_risk & high, at_risk, high],
        SEGMENTS[:4], default=SEGMENTS[4],
    ).astype(object)


def segment_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per cutoff and segment: customers, their share, total and mean predicted LTV,
    mean churn probability and value at risk (sum of predicted LTV x churn probability)."""
    frame = scores.assign(value_at_risk=scores["predicted_ltv"] * scores["churn_probability"])
    grouped = frame.groupby(["cutoff_date", "segment"], sort=False).agg(
        customers=("customer_id", "size"),
        predicted_ltv=("predicted_ltv", "sum"),
        mean_predicted_ltv=("predicted_ltv", "mean"),
        mean_churn_probability=("churn_probability", "mean"),
        value_at_risk=("value_at_risk", "sum"),
    ).reset_index()
    grouped["share"] = grouped["customers"] / grouped.groupby("cutoff_date")["customers"].transform("sum")
    grouped["order"] = grouped["segment"].map(SEGMENTS.index)
    columns = ["cutoff_date", "segment", "customers", "share", "predicted_ltv",
               "mean_predicted_ltv", "mean_churn_probability", "value_at_risk"]
    return grouped.sort_values(["cutoff_date", "order"])[columns].reset_index(drop=True)


def segment_plot(summary: pd.DataFrame) -> str:
    """Bars per segment: predicted LTV, and the part of it at risk."""
    fig = figure(5.5, 3.2)
    ax = fig.add_subplot()
    y = np.arange(len(summary))
    ax.barh(y, summary["predicted_ltv"], color="#9ecae1", label="predicted LTV")
    ax.barh(y, summary["value_at_risk"], color="#de2d26", label="value at risk")
    ax.set_yticks(y, [f"{s} ({n:,})" for s, n in zip(summary["segment"], summary["customers"])],
                  fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("total over the segment's customers")
    ax.legend(fontsize=7, loc="lower right")
    return image(fig, "Segments: predicted value and value at risk")
