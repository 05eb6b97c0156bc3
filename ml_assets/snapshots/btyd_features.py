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
from ml_assets.snapshots.features import stage_features

DAYS_PER_WEEK = 7.0
FIT_SAMPLE = 20_000  # customers per cutoff the parameters are fitted on
COLUMNS = ["btyd_p_alive", "btyd_p_no_purchase", "btyd_expected_purchases", "btyd_expected_value"]


def add_btyd_features(
    conn: duckdb.DuckDBPyConnection, churn_days: int, ltv_days: int,
    fits: dict[str, dict] | None = None,
) -> list[dict]:
    """Append the BTYD columns to temp table staged_features; return the fit of
    each staged cutoff. The fits are taken from ``fits`` (by cutoff, as
    ``fit_population`` gives them) or, without it, fitted here on the staged
    rows, which must then be each cutoff's whole population. The staged
    summaries (six narrow columns) are in memory at once: stage a chunk of
    customers at a time when they are many."""
    used, values = [], []
    for key, rows in _staged_summaries(conn):
        fit = fits[key] if fits is not None else {"cutoff": key, **fit_params(rows)}
        values.append(btyd_values(rows, fit, churn_days, ltv_days))
        used.append(fit)
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE staged_btyd AS SELECT cutoff_date, customer_id, "
        + ", ".join(f"NULL::DOUBLE AS {c}" for c in COLUMNS) + " FROM staged_features LIMIT 0"
    )
    if values:
        insert_frame(conn, "staged_btyd", pd.concat(values, ignore_index=True))
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE staged_features AS SELECT f.*, "
        + ", ".join(f"b.{c}" for c in COLUMNS)
        + " FROM staged_features f JOIN staged_btyd b USING (cutoff_date, customer_id)"
        " ORDER BY f.cutoff_date, f.customer_id"
    )
    conn.execute("DROP TABLE staged_btyd")
    return used


def fit_population(conn: duckdb.DuckDBPyConnection, cutoffs: list) -> dict[str, dict]:
    """The fit of each cutoff (by its ISO date), on the same customers
    ``add_btyd_features`` fits on when the whole population is staged: up to
    FIT_SAMPLE of them spread evenly over the cutoff's population in
    customer_id order. Only those customers' features are computed, so the
    snapshots can then be built a chunk of customers at a time."""
    keys = conn.execute(
        "SELECT customer_key, first_day FROM first_purchases ORDER BY customer_key").df()
    first_day = keys["first_day"].to_numpy("datetime64[D]")
    pairs = []
    for cutoff in cutoffs:
        population = keys["customer_key"].to_numpy()[first_day < np.datetime64(cutoff, "D")]
        pairs.append(pd.DataFrame({"cutoff_date": pd.Timestamp(cutoff),
                                   "customer_key": population[_sample(len(population))]}))
    stage_features(conn, cutoffs, pairs=pd.concat(pairs, ignore_index=True))
    return {key: {"cutoff": key, **fit_params(rows)} for key, rows in _staged_summaries(conn)}


def _staged_summaries(conn: duckdb.DuckDBPyConnection):
    """(ISO cutoff, its staged BTYD summaries in customer_id order) for each
    staged cutoff, in cutoff order; one query for them all."""
    summaries = conn.execute(
        "SELECT cutoff_date, customer_id, btyd_frequency, btyd_recency, btyd_T, btyd_monetary "
        "FROM staged_features ORDER BY cutoff_date, customer_id").df()
    cutoff = summaries["cutoff_date"].to_numpy()
    starts = np.flatnonzero(np.r_[True, cutoff[1:] != cutoff[:-1]])
    for start, end in zip(starts, [*starts[1:], len(summaries)]):
        rows = summaries.iloc[start:end].reset_index(drop=True)
        yield str(pd.Timestamp(rows["cutoff_date"].iloc[0]).date()), rows


def fit_params(rows: pd.DataFrame) -> dict:
    """BG/NBD and Gamma-Gamma fitted on one cutoff's BTYD summaries (up to
    FIT_SAMPLE of them, evenly spread), at full precision: ``btyd_values``
    with them gives the BTYD columns exactly."""
    x, _, _, monetary = _summary(rows)
    fit_rows = _sample(len(rows))
    x_t = rows["btyd_recency"].to_numpy(float)[fit_rows] / DAYS_PER_WEEK
    age_t = rows["btyd_T"].to_numpy(float)[fit_rows] / DAYS_PER_WEEK
    params = dict(btyd.fit_bgnbd(x[fit_rows], x_t, age_t).__dict__)
    # Gamma-Gamma's p, q, gamma (prefixed; absent when it could not be fitted)
    params.update({f"gg_{k}": v for k, v in (_fit_gamma_gamma(x, monetary, fit_rows) or {}).items()})
    return {k: float(v) for k, v in params.items()}


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
