"""Top reasons for a churn score, in words a marketer reads.

For LightGBM champions, the per-row feature contributions (path attribution,
``path_contributions``) say how much each feature pushed a customer's score
up; the largest three become sentences. BTYD and rule champions are functions of recency, frequency and
value, so their reasons are those three, ranked by how far the customer sits
on the risky side of the scored population.
"""

import weakref

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse

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
    contrib = path_contributions(booster, x)
    contrib[:, [j for j, f in enumerate(features) if f in CONTEXT]] = -np.inf
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    return [
        [_sentence(features[j], x[i, j]) for j in order[i] if contrib[i, j] > 0]
        for i in range(len(frame))
    ]


def path_contributions(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Each row's feature contributions to the booster's raw score by path
    attribution (Saabas): in every tree, each split on the row's path credits
    its feature with the change in the node value it leads to. The
    contributions add up to the raw score minus the trees' root values, like
    TreeSHAP's, at the cost of one leaf lookup per tree instead of TreeSHAP's
    walk over every path (the README gives how often the top reason agrees
    with exact TreeSHAP). A row's leaves select rows of the per-leaf
    contribution table, summed with one sparse product."""
    table, offsets = _leaf_table(booster)
    leaves = booster.predict(x, pred_leaf=True).reshape(len(x), -1).astype(np.int32) + offsets
    n, trees = leaves.shape
    rows = sparse.csr_matrix(
        (np.ones(leaves.size), leaves.ravel(), np.arange(0, n * trees + 1, trees, dtype=np.int32)),
        shape=(n, table.shape[0]),
    )
    return rows @ table


_TABLES: "weakref.WeakKeyDictionary[lgb.Booster, tuple]" = weakref.WeakKeyDictionary()


def _leaf_table(booster: lgb.Booster) -> tuple[np.ndarray, np.ndarray]:
    """(contribution of each feature on the path to each leaf of each tree, the
    first row of each tree in that table); built once per booster."""
    if booster in _TABLES:
        return _TABLES[booster]
    model = booster.dump_model()
    width = len(model["feature_names"])
    rows, cols, values, offsets, start = [], [], [], [], 0
    for tree in model["tree_info"]:
        offsets.append(start)
        leaves = max(tree["num_leaves"], 1)
        stack = [(tree["tree_structure"], {})]
        while stack:
            node, path = stack.pop()
            if "leaf_index" in node or "split_feature" not in node:
                leaf = node.get("leaf_index", 0)
                for feature, value in path.items():
                    rows.append(start + leaf)
                    cols.append(feature)
                    values.append(value)
                continue
            for side in ("left_child", "right_child"):
                child = node[side]
                child_value = child.get("leaf_value", child.get("internal_value"))
                credit = dict(path)
                credit[node["split_feature"]] = (credit.get(node["split_feature"], 0.0)
                                                 + child_value - node["internal_value"])
                stack.append((child, credit))
        start += leaves
    table = sparse.coo_matrix((values, (rows, cols)), shape=(start, width)).toarray()
    _TABLES[booster] = (table, np.array(offsets, dtype=np.int32))
    return _TABLES[booster]


# what BTYD and rule champions see, and which direction raises churn risk
RFM = {"recency_days": 1.0, "orders_total": -1.0, "avg_order_value": -1.0}
REFERENCE_POINTS = 1001  # quantiles kept of each RFM feature: percentiles to 0.1 points


def rfm_reference(frame: pd.DataFrame) -> dict[str, list[float]]:
    """The scored population's distribution of the RFM features (their
    quantiles), against which ``rfm_reasons`` ranks customers: computed once
    per cutoff over the whole population and stored with the run, so a batch
    or a single customer is ranked exactly as the whole population would be."""
    grid = np.linspace(0, 1, REFERENCE_POINTS)
    return {f: [float(v) for v in np.nanquantile(frame[f].to_numpy(float), grid)] for f in RFM}


def rfm_reasons(frame: pd.DataFrame, reference: dict[str, list[float]], k: int = 3
                ) -> list[list[str]]:
    """Reasons for champions that are functions of recency, frequency and value
    (BTYD, rules): for each row, the RFM features on which the customer sits
    furthest on the risky side of the population's median (``reference``), in words."""
    ranks = np.column_stack([
        direction * (_percentile(frame[f].to_numpy(float), reference[f]) - 0.5)
        for f, direction in RFM.items()
    ])
    names = list(RFM)
    values = frame[names].to_numpy(float)
    order = np.argsort(-np.nan_to_num(ranks, nan=-np.inf), axis=1, kind="stable")[:, :k]
    return [
        [_sentence(names[j], values[i, j]) for j in order[i] if ranks[i, j] > 0]
        for i in range(len(frame))
    ]


def _percentile(values: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Each value's share of the population at or below it (ties at their
    middle), read off the population's quantiles; NaN stays NaN."""
    grid = np.asarray(quantiles, float)
    mid = (np.searchsorted(grid, values, "left") + np.searchsorted(grid, values, "right")) / 2
    return np.where(np.isnan(values), np.nan, mid / len(grid))


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
