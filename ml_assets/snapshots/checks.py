"""Guards on the snapshot tables: keys, label maturity, and a recomputation of
stored features by an independent query."""

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from ml_assets.lib.warehouse import connect, read_sql, table_exists
from ml_assets.settings import Settings
from ml_assets.snapshots.assets import reference_features

SAMPLE_CUSTOMERS = 300


@dg.asset_check(asset="customer_features", blocking=True, pool="warehouse")
def customer_features_match_reference(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """Recompute a sample of stored features at the newest and oldest cutoffs with
    the plain reference query straight from transactions before the cutoff; any
    difference means the one-pass SQL leaked or miscounted."""
    worst, compared = 0.0, 0
    with connect(warehouse) as conn:
        cutoffs = (
            conn.execute("SELECT DISTINCT cutoff_date FROM customer_features ORDER BY 1").fetchall()
            if table_exists(conn, "customer_features") else []
        )
        if not cutoffs:
            return _nothing_to_compare()
        for (cutoff,) in {cutoffs[0], cutoffs[-1]}:
            stored = conn.execute(
                "SELECT * FROM customer_features WHERE cutoff_date = ? "
                "ORDER BY hash(customer_id) LIMIT ?",
                [cutoff, SAMPLE_CUSTOMERS],
            ).df().sort_values("customer_id", ignore_index=True)
            ref = reference_features(conn, cutoff, stored["customer_id"].tolist())
            if list(ref["customer_id"]) != list(stored["customer_id"]):
                return dg.AssetCheckResult(
                    passed=False,
                    metadata={"cutoff": str(cutoff), "problem": "different customers"},
                )
            numeric = ref.columns[2:]  # the SQL features; BTYD columns derive from them
            a, b = stored[numeric].to_numpy(float), ref[numeric].to_numpy(float)
            both_nan = np.isnan(a) & np.isnan(b)
            diff = np.where(both_nan, 0.0, np.abs(a - b) / np.maximum(1.0, np.abs(b)))
            worst = max(worst, float(np.nan_to_num(diff, nan=np.inf).max()))
            compared += len(stored)
    return dg.AssetCheckResult(
        passed=worst <= 1e-9,
        metadata={"customers_compared": compared, "max_relative_difference": worst},
    )


def _nothing_to_compare() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        description="customer_features holds no rows (or is not in the warehouse), so there is "
        "nothing to check: materialize customer_features for at least one cutoff.",
        metadata={"customers_compared": 0, "max_relative_difference": None},
    )


@dg.asset_check(asset="training_snapshots", blocking=True, pool="warehouse")
def training_snapshots_labels_mature_only(
    settings: Settings, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    """No label is set unless its whole window lies inside the data, and every
    maturity flag agrees with the newest event."""
    with connect(warehouse) as conn:
        row = conn.execute(
            read_sql(__file__, "check_maturity.sql"),
            {"churn_days": settings.churn_window_days, "ltv_days": settings.ltv_horizon_days},
        ).fetchone()
    labelled_immature, wrong_flags, rows = row
    return dg.AssetCheckResult(
        passed=labelled_immature == 0 and wrong_flags == 0,
        metadata={
            "rows": rows,
            "immature_rows_with_a_label": labelled_immature,
            "rows_with_a_wrong_maturity_flag": wrong_flags,
        },
    )


@dg.asset_check(asset="training_snapshots", blocking=True, pool="warehouse")
def snapshots_one_row_per_customer_and_cutoff(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    """Labels and features hold the same (cutoff, customer) keys, each once: no
    table has a row beyond the first for its key, and at every cutoff both tables
    hold, no key is in only one of them."""
    with connect(warehouse) as conn:
        duplicates, unmatched = conn.execute(read_sql(__file__, "check_keys.sql")).fetchone()
    return dg.AssetCheckResult(
        passed=duplicates == 0 and unmatched == 0,
        metadata={"duplicate_rows": duplicates, "keys_in_only_one_table": unmatched},
    )
