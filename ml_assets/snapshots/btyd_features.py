"""BTYD features: BG/NBD and Gamma-Gamma fitted at each cutoff on the BTYD
summary of every customer at that cutoff (events before it only), then
evaluated per customer. They hand the models the probabilistic view of
"still a customer?" that the raw counts only imply.

Derived from the summary columns of the same cutoff, so they inherit the
point-in-time guarantee of features.sql (a test checks that too).
"""

import duckdb
import numpy as np
import pandas as pd

from ml_assets.lib.warehouse import insert_frame
from ml_assets.models import btyd

DAYS_PER_WEEK = 7.0
FIT_SAMPLE = 20_000  # customers per cutoff the parameters are fitted on
COLUMNS = ["btyd_p_alive", "btyd_p_no_purchase", "btyd_expected_purchases", "btyd_expected_value"]


def add_btyd_features(
    conn: duckdb.DuckDBPyConnection, churn_days: int, ltv_days: int
) -> list[dict]:
    """Append the BTYD columns to temp table staged_features; return the fitted
    parameters per cutoff (for the asset's metadata). One cutoff's summary is
    in memory at a time."""
    cutoffs = [row[0] for row in conn.execute(
        "SELECT DISTINCT cutoff_date FROM staged_features ORDER BY 1").fetchall()]
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE staged_btyd AS SELECT cutoff_date, customer_id, "
        + ", ".join(f"NULL::DOUBLE AS {c}" for c in COLUMNS) + " FROM staged_features LIMIT 0"
    )
    fits = []
    for cutoff in cutoffs:
        rows = conn.execute(
            "SELECT cutoff_date, customer_id, btyd_frequency, btyd_recency, btyd_T, btyd_monetary "
            "FROM staged_features WHERE cutoff_date = $cutoff ORDER BY customer_id",
            {"cutoff": cutoff},
        ).df()
        values, params = btyd_columns(rows, churn_days, ltv_days)
        insert_frame(conn, "staged_btyd", values)
        fits.append({"cutoff": str(pd.Timestamp(cutoff).date()), **params})
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE staged_features AS SELECT f.*, "
        + ", ".join(f"b.{c}" for c in COLUMNS)
        + " FROM staged_features f JOIN staged_btyd b USING (cutoff_date, customer_id)"
        " ORDER BY f.cutoff_date, f.customer_id"
    )
    conn.execute("DROP TABLE staged_btyd")
    return fits


def btyd_columns(rows: pd.DataFrame, churn_days: int, ltv_days: int) -> tuple[pd.DataFrame, dict]:
    """The BTYD columns for one cutoff's customers, and the fitted parameters
    (full precision: ``btyd_values`` with them gives these columns exactly)."""
    x, _, _, monetary = _summary(rows)
    fit_rows = _sample(len(rows))
    x_t = rows["btyd_recency"].to_numpy(float)[fit_rows] / DAYS_PER_WEEK
    age_t = rows["btyd_T"].to_numpy(float)[fit_rows] / DAYS_PER_WEEK
    params = dict(btyd.fit_bgnbd(x[fit_rows], x_t, age_t).__dict__)
    # Gamma-Gamma's p, q, gamma (prefixed; absent when it could not be fitted)
    params.update({f"gg_{k}": v for k, v in (_fit_gamma_gamma(x, monetary, fit_rows) or {}).items()})
    params = {k: float(v) for k, v in params.items()}
    return btyd_values(rows, params, churn_days, ltv_days), params


def btyd_values(rows: pd.DataFrame, params: dict, churn_days: int, ltv_days: int) -> pd.DataFrame:
    """The BTYD columns of ``rows`` (BTYD summaries at one cutoff) under a fit
    ``params`` of that cutoff: the snapshot's own fit, or the stored one when one
    customer is scored on demand."""
    x, t_x, age, monetary = _summary(rows)
    bgnbd = btyd.BgNbd(**{k: params[k] for k in ("r", "alpha", "a", "b")})
    purchases = btyd.bgnbd_expected_purchases(bgnbd, ltv_days / DAYS_PER_WEEK, x, t_x, age)
    values = pd.DataFrame(
        {
            "cutoff_date": rows["cutoff_date"].to_numpy(),
            "customer_id": rows["customer_id"].to_numpy(),
            "btyd_p_alive": btyd.bgnbd_p_alive(bgnbd, x, t_x, age),
            "btyd_p_no_purchase": btyd.bgnbd_prob_no_purchase(
                bgnbd, churn_days / DAYS_PER_WEEK, x, t_x, age
            ),
            "btyd_expected_purchases": purchases,
        }
    )
    values["btyd_expected_value"] = _expected_value(x, monetary, purchases, params)
    return values


def _summary(rows: pd.DataFrame):
    """x, t_x and T (weeks) and the mean repeat value, as BG/NBD and Gamma-Gamma take them."""
    return (rows["btyd_frequency"].to_numpy(float),
            rows["btyd_recency"].to_numpy(float) / DAYS_PER_WEEK,
            rows["btyd_T"].to_numpy(float) / DAYS_PER_WEEK,
            rows["btyd_monetary"].to_numpy(float))


def _fit_gamma_gamma(x, monetary, fit_rows) -> dict | None:
    """Gamma-Gamma fitted on the sample's repeat buyers; None where too few
    repeat buyers with a positive mean spend exist to fit it."""
    repeat = (x > 0) & (monetary > 0)
    fit = np.zeros(len(x), bool)
    fit[fit_rows] = True
    try:
        return dict(btyd.fit_gamma_gamma(x[repeat & fit], monetary[repeat & fit]).__dict__)
    except ValueError:
        return None


def _expected_value(x, monetary, purchases, params: dict) -> np.ndarray:
    """Expected purchases times Gamma-Gamma spend per purchase; NaN (unknown, which
    the models handle) without a Gamma-Gamma fit."""
    if "gg_p" not in params:
        return np.full(len(x), np.nan)
    gg = btyd.GammaGamma(params["gg_p"], params["gg_q"], params["gg_v"])
    repeat = (x > 0) & (monetary > 0)
    try:
        spend = btyd.gamma_gamma_expected_spend(
            gg, np.where(repeat, x, 0), np.where(repeat, monetary, 0)
        )
    except ValueError:
        return np.full(len(x), np.nan)
    return purchases * spend


def _sample(n: int) -> np.ndarray:
    """A fixed, evenly spread subset of row positions: deterministic for given rows."""
    if n <= FIT_SAMPLE:
        return np.arange(n)
    return np.linspace(0, n - 1, FIT_SAMPLE).round().astype(int)
