"""Point-in-time training snapshots and customer features, one partition per
monthly cutoff T.

Features use only events before T; labels only events in [T, T + window).
A run over many cutoffs computes them all in one SQL pass.
"""


from datetime import date, timedelta

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml_assets.lib.warehouse import connect, read_sql, table_exists
from ml_assets.partitions import CUTOFFS, SINGLE_RUN
from ml_assets.settings import Settings
from ml_assets.snapshots.btyd_features import add_btyd_features, fit_population
from ml_assets.snapshots.features import (
    prepare_state,
    require_lookups,
    stage_features,
    stage_pairs,
)
from ml_assets.snapshots.fits import store_fits
from ml_assets.snapshots.store import columns, replace_cutoffs_in_batches


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "training_snapshots",
            kinds={"duckdb"},
            code_version="2",
            deps=["raw_transactions"],
            description="Labels per customer and cutoff T: churned (no purchase in "
            "[T, T + churn window)), future_spend (net amount in [T, T + LTV horizon)), "
            "each with a maturity flag; immature labels are NULL. Table training_snapshots.",
        ),
        dg.AssetSpec(
            "customer_features",
            kinds={"duckdb"},
            code_version="2",
            deps=["raw_transactions"],
            description="Features per customer and cutoff T from events strictly before T "
            "(recency, frequency, tenure, spend, windows, gaps, trends, refunds, BTYD summary). "
            "The same SQL serves training and scoring. Table customer_features.",
        ),
    ],
    partitions_def=CUTOFFS,
    backfill_policy=SINGLE_RUN,
    can_subset=True,
    pool="warehouse",
)
def snapshots(context: dg.AssetExecutionContext, settings: Settings, warehouse: DuckDBResource):
    cutoffs = sorted(date.fromisoformat(key) for key in context.partition_keys)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    with connect(warehouse) as conn:
        last_event = validate_cutoffs(conn, cutoffs)
        prepare_state(conn, cutoffs, label_horizons(settings))
        chunks = customer_chunks(conn, cutoffs, settings.snapshot_batch_rows)
        if "customer_features" in selected:
            fits = write_features(conn, cutoffs, chunks, settings)
            yield dg.MaterializeResult(
                asset_key="customer_features",
                metadata=_features_metadata(conn, cutoffs, fits, len(chunks)),
            )
        if "training_snapshots" in selected:
            write_labels(conn, cutoffs, chunks, settings, last_event)
            yield dg.MaterializeResult(
                asset_key="training_snapshots",
                metadata=_labels_metadata(conn, cutoffs, settings, last_event),
            )


def customer_chunks(conn: duckdb.DuckDBPyConnection, cutoffs: list[date],
                    rows: int) -> list[tuple[int, int]]:
    """Ranges of customer keys (both ends included) with about ``rows``
    (customer, cutoff) rows each over ``cutoffs``. A chunk's features and labels
    are computed for all the cutoffs at once, so each chunk reads only its own
    customers' state, and a run's staging stays the size of a chunk whatever
    the log's size."""
    return [tuple(row) for row in conn.execute(
        read_sql(__file__, "customer_chunks.sql"), {"cutoffs": cutoffs, "rows": rows}).fetchall()]


def write_features(conn, cutoffs: list[date], chunks: list[tuple[int, int]],
                   settings: Settings) -> list[dict]:
    """Features of every chunk of customers, with the BTYD fits of the cutoffs'
    whole populations (fitted first), replacing the cutoffs' rows in one
    transaction with the fits; the fits, per cutoff."""
    # one chunk holds each cutoff's whole population: it is fitted on as it is staged
    fits = fit_population(conn, cutoffs) if len(chunks) > 1 else None
    used = {}

    def stage(chunk):
        stage_features(conn, cutoffs, keys=chunk)
        for fit in add_btyd_features(conn, settings.churn_window_days,
                                     settings.ltv_horizon_days, fits):
            used[fit["cutoff"]] = fit

    def fitted() -> list[dict]:
        return [used[cutoff] for cutoff in sorted(used)]

    replace_cutoffs_in_batches(conn, "customer_features", "staged_features", cutoffs, chunks,
                               stage, CUTOFFS, with_commit=lambda: store_fits(conn, fitted()))
    return fitted()


def write_labels(conn, cutoffs: list[date], chunks: list[tuple[int, int]], settings: Settings,
                 last_event) -> None:
    replace_cutoffs_in_batches(
        conn, "training_snapshots", "staged_labels", cutoffs, chunks,
        lambda chunk: stage_labels(conn, cutoffs, settings, last_event, keys=chunk), CUTOFFS)


def validate_cutoffs(conn: duckdb.DuckDBPyConnection, cutoffs: list[date]):
    """Refuse cutoffs the data cannot support; return the newest event time.

    A cutoff may be at most the day after the last event (features then use
    the whole log); every cutoff needs at least one customer who bought before it.
    """
    if not table_exists(conn, "transactions"):
        raise dg.Failure("Table transactions does not exist: materialize raw_transactions first.")
    first_day, last_event = conn.execute(
        "SELECT min(order_ts) FILTER (WHERE amount > 0)::DATE, max(order_ts) FROM transactions"
    ).fetchone()
    if last_event is None or first_day is None:
        raise dg.Failure("Table transactions holds no purchases: check ML_ASSETS_TRANSACTIONS.")
    newest = last_event.date() + timedelta(days=1)
    too_late = [c.isoformat() for c in cutoffs if c > newest]
    if too_late:
        raise dg.Failure(
            f"Cutoff(s) {', '.join(too_late)} are after the data's last event ({last_event}); "
            f"the newest cutoff this log supports is {newest.replace(day=1)}. Load newer data, or "
            "set ML_ASSETS_PARTITIONS_END to a supported cutoff and materialize that range."
        )
    too_early = [c.isoformat() for c in cutoffs if c <= first_day]
    if too_early:
        raise dg.Failure(
            f"No customer had purchased before cutoff(s) {', '.join(too_early)} "
            f"(the first purchase is on {first_day}). Set ML_ASSETS_PARTITIONS_START to a "
            "later month and materialize that range."
        )
    return last_event


def label_horizons(settings: Settings) -> tuple[int, int]:
    """The days after a cutoff at which the labels look the state up: the ends
    of the churn window and of the LTV horizon."""
    return settings.churn_window_days, settings.ltv_horizon_days


def stage_labels(
    conn: duckdb.DuckDBPyConnection, cutoffs: list[date], settings: Settings, last_event,
    keys: tuple[int, int] | None = None,
) -> None:
    """Churn and spend labels with maturity flags into temp table staged_labels
    (for the customer keys in the range ``keys``, ends included, when given)."""
    stage_pairs(conn, cutoffs, keys)
    require_lookups(conn, cutoffs, (0, *label_horizons(settings)))
    lo, hi = keys or (None, None)
    params = {
        "lo": lo,
        "hi": hi,
        "churn_days": settings.churn_window_days,
        "ltv_days": settings.ltv_horizon_days,
        "last_event": last_event,
    }
    sql = read_sql(__file__, "labels.sql")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE staged_labels AS {sql}", params)


def reference_features(
    conn: duckdb.DuckDBPyConnection, cutoff: date, customers: list[str]
) -> pd.DataFrame:
    """The plain, independent feature computation used to cross-check features.sql."""
    return conn.execute(
        read_sql(__file__, "reference_features.sql"), {"cutoff": cutoff, "customers": customers}
    ).df()


def _features_metadata(conn: duckdb.DuckDBPyConnection, cutoffs, fits: list[dict],
                       chunks: int) -> dict:
    from ml_assets.lib.tables import markdown_table

    summary = conn.execute(read_sql(__file__, "features_summary.sql"),
                           {"cutoffs": cutoffs}).df()
    names = [name for name, _ in columns(conn, "staged_features")][2:]
    preview = conn.execute("SELECT * EXCLUDE (cutoff_date) FROM staged_features LIMIT 5").df()
    return {
        "dagster/row_count": int(summary["customers"].sum()),
        "cutoffs": len(summary),
        "customer_chunks": chunks,
        "features": len(names),
        "feature_names": ", ".join(names),
        "per_cutoff": dg.MetadataValue.md(markdown_table(summary.tail(24), floatfmt=".2f")),
        "preview": dg.MetadataValue.md(markdown_table(preview, floatfmt=".2f")),
        "bg_nbd_parameters": dg.MetadataValue.md(
            markdown_table(pd.DataFrame(fits).tail(24), floatfmt=".4f")
        ),
    }


def _labels_metadata(conn: duckdb.DuckDBPyConnection, cutoffs, settings: Settings,
                     last_event) -> dict:
    from ml_assets.lib.tables import markdown_table

    summary = conn.execute(read_sql(__file__, "labels_summary.sql"), {"cutoffs": cutoffs}).df()
    return {
        "dagster/row_count": int(summary["customers"].sum()),
        "cutoffs": len(summary),
        "churn_window_days": settings.churn_window_days,
        "ltv_horizon_days": settings.ltv_horizon_days,
        "last_event": str(last_event),
        "cutoffs_with_mature_churn_labels": int(summary["churn_mature"].sum()),
        "cutoffs_with_mature_ltv_labels": int(summary["ltv_mature"].sum()),
        "per_cutoff": dg.MetadataValue.md(markdown_table(summary.tail(24), floatfmt=".3f")),
    }

