"""Top reasons for a churn score, in words a marketer reads.

For LightGBM champions, the per-row feature contributions (SHAP values) say
how much each feature pushed a customer's score up; the largest three become
sentences. BTYD and rule champions are functions of recency, frequency and
value, so their reasons are those three, ranked by how far the customer sits
on the risky side of the scored population.
"""

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.models.boosting import matrix

# feature -> sentence template; {v} is the customer's value of the feature
PHRASES = {
    "recency_days": "No purchase for {v:.0f} days",
    "tenure_days": "Customer for {v:.0f} days",
    "orders_total": "{v:.0f} orders in total",
    "purchase_days": "Bought on {v:.0f} different days",
    "orders_per_30d": "Buys {v:.2f} times a month on average",
    "gross_spend": "Spent {v:,.2f} in total",
    "net_spend": "Spent {v:,.2f} in total after refunds",
    "avg_order_value": "Average order of {v:,.2f}",
    "std_order_value": "Order values vary by {v:,.2f}",
    "max_order_value": "Largest order {v:,.2f}",
    "first_day_spend": "First purchase worth {v:,.2f}",
    "refunds_total": "{v:.0f} refunds",
    "refund_amount": "Refunded {v:,.2f}",
    "refund_share": "{v:.0%} of spend refunded",
    "orders_30d": "{v:.0f} orders in the last 30 days",
    "orders_90d": "{v:.0f} orders in the last 90 days",
    "orders_180d": "{v:.0f} orders in the last 180 days",
    "orders_365d": "{v:.0f} orders in the last year",
    "spend_30d": "Spent {v:,.2f} in the last 30 days",
    "spend_90d": "Spent {v:,.2f} in the last 90 days",
    "spend_180d": "Spent {v:,.2f} in the last 180 days",
    "spend_365d": "Spent {v:,.2f} in the last year",
    "purchase_days_90d": "Bought on {v:.0f} days in the last 90 days",
    "purchase_days_365d": "Bought on {v:.0f} days in the last year",
    "gap_mean": "Usually buys every {v:.0f} days",
    "gap_std": "Irregular buyer (gaps vary by {v:.0f} days)",
    "gap_max": "Longest break between purchases {v:.0f} days",
    "recency_over_gap": "Silent {v:.1f}x longer than usual",
    "orders_trend": "Ordering at {v:.0%} of last year's pace",
    "spend_trend": "Spending at {v:.0%} of last year's pace",
    "btyd_frequency": "{v:.0f} repeat purchases",
    "btyd_recency": "Active span {v:.0f} days",
    "btyd_T": "Customer for {v:.0f} days",
    "btyd_monetary": "Repeat orders average {v:,.2f}",
    "btyd_p_alive": "Only {v:.0%} likely to still be an active customer",
    "btyd_p_no_purchase": "{v:.0%} chance of no purchase in the coming window",
    "btyd_expected_purchases": "Expected to buy only {v:.1f} more times",
    "btyd_expected_value": "Expected to spend only {v:,.2f}",
    "first_purchase_month": "First bought in month {v:.0f} of the year",
    "holiday_share": "{v:.0%} of purchase days in November and December",
    "purchase_days_last_year_window": "Bought on {v:.0f} days in this season last year",
}

# the same for every customer at a cutoff: it shifts all scores, explains none
CONTEXT = {"cutoff_month"}


def top_reasons(
    booster: lgb.Booster, frame: pd.DataFrame, features: list[str], k: int = 3
) -> list[list[str]]:
    """For each row, up to ``k`` sentences for the features that raised its score most."""
    x = matrix(frame, features)
    contrib = booster.predict(x, pred_contrib=True)[:, : len(features)]
    contrib[:, [j for j, f in enumerate(features) if f in CONTEXT]] = -np.inf
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    return [
        [_sentence(features[j], x[i, j]) for j in order[i] if contrib[i, j] > 0]
        for i in range(len(frame))
    ]


# what BTYD and rule champions see, and which direction raises churn risk
RFM = {"recency_days": 1.0, "orders_total": -1.0, "avg_order_value": -1.0}


def rfm_reasons(frame: pd.DataFrame, k: int = 3) -> list[list[str]]:
    """Reasons for champions that are functions of recency, frequency and value
    (BTYD, rules): for each row, the RFM features on which the customer sits
    furthest on the risky side of the scored population's median, in words."""
    ranks = np.column_stack([
        direction * (frame[f].rank(pct=True, method="average").to_numpy(float) - 0.5)
        for f, direction in RFM.items()
    ])
    names = list(RFM)
    values = frame[names].to_numpy(float)
    order = np.argsort(-np.nan_to_num(ranks, nan=-np.inf), axis=1, kind="stable")[:, :k]
    return [
        [_sentence(names[j], values[i, j]) for j in order[i] if ranks[i, j] > 0]
        for i in range(len(frame))
    ]


def _sentence(feature: str, value: float) -> str:
    if np.isnan(value):
        return {
            "gap_mean": "Has bought only once",
            "recency_over_gap": "Has bought only once",
            "orders_trend": "No orders in the last year",
            "spend_trend": "No spend in the last year",
        }.get(feature, f"{feature} unknown")
    template = PHRASES.get(feature)
    return template.format(v=value) if template else f"{feature} = {value:.3g}"
