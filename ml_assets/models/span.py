"""Whether the log is long enough for a task's label window, and if not, a
message that says how long it is, what the window needs and what to change."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb

from ml_assets.lib.warehouse import read_sql
from ml_assets.models.splits import closed_before
from ml_assets.settings import Settings, env_var

SETTING = {"churn": "churn_window_days", "ltv": "ltv_horizon_days"}


def trainable(cutoffs: list[date], last_event: date, horizon_days: int) -> bool:
    """A holdout with mature labels, and before it a validation cutoff whose own
    window closed before the holdout, with a training cutoff closed before that."""
    mature = [c for c in cutoffs if c + timedelta(days=horizon_days) <= last_event]
    if not mature:
        return False
    train = closed_before(mature, horizon_days, max(mature))
    return any(closed_before(train, horizon_days, valid) for valid in train)


def longest_horizon(cutoffs: list[date], last_event: date) -> int:
    """The longest label window (days) with which ``trainable`` holds; 0 if none."""
    span = (last_event - min(cutoffs)).days if cutoffs else 0
    return next((h for h in range(span, 0, -1) if trainable(cutoffs, last_event, h)), 0)


def require_span(
    conn: duckdb.DuckDBPyConnection, horizon_days: int, task: str, settings: Settings
) -> None:
    """Fail with the log's span, the window, the longest window the log
    supports and the setting to change when ``task`` cannot be trained."""
    first, last = conn.execute(read_sql(__file__, "log_span.sql")).fetchone()
    cutoffs = [row[0] for row in conn.execute(read_sql(__file__, "snapshot_cutoffs.sql")).fetchall()]
    if first is None or not cutoffs or trainable(cutoffs, last, horizon_days):
        return
    longest = longest_horizon(cutoffs, last)
    var = env_var(SETTING[task])
    advice = (
        f"set {var}={longest} or less" if longest
        else "materialize training_snapshots for more cutoffs (ML_ASSETS_PARTITIONS_START earlier)"
    )
    raise dg.Failure(
        f"The log is too short for the {task} label window: it spans {first} to {last} "
        f"({(last - first).days} days) and the snapshots cover cutoffs {cutoffs[0]}..{cutoffs[-1]}, "
        f"but a {horizon_days}-day window ({var}) needs a mature holdout cutoff plus a "
        f"validation and a training cutoff whose windows closed before it (about three windows). "
        f"The longest window these cutoffs support is {longest} days: {advice}."
    )
