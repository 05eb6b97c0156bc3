"""Shadow versions: registered versions of a task scored beside its champion
until live evidence promotes them or a newer shadow retires them.

A candidate enters shadow when its promotion decision does not make it
champion (it lost, or was not yet eligible); it stays across later training
runs, so evidence accumulates per version, not per alias. At most
``max_versions`` per task are in shadow: the oldest stays are retired first.
Retention never archives a version in shadow. Every function here joins the
caller's transaction (wrap it in ``atomic(conn)``).
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import read_sql
from ml_assets.registry.registry import TASKS, ensure_tables

STATUSES = ("shadow", "promoted", "retired")


def shadow_versions(conn: duckdb.DuckDBPyConnection, task: str) -> pd.DataFrame:
    """The task's versions in shadow now (task, model_name, version, entered_at,
    entered_reason, holdout_cutoff, family), oldest first."""
    _known(task)
    ensure_tables(conn)
    return conn.execute(read_sql(__file__, "shadow_list.sql"), {"task": task}).df()


def enter_shadow(
    conn: duckdb.DuckDBPyConnection, task: str, model_name: str, version: int, *,
    reason: str, decision_id: str | None, max_versions: int,
) -> list[tuple[str, int]]:
    """Put ``model_name`` v``version`` in shadow (a no-op when it already is),
    then retire the oldest stays beyond ``max_versions``. Returns the retired
    (model_name, version)s; with ``max_versions`` 0 the version is retired at once."""
    _known(task)
    current = shadow_versions(conn, task)
    refs = list(zip(current["model_name"], current["version"].astype(int)))
    if (model_name, int(version)) not in refs:
        conn.execute(read_sql(__file__, "shadow_enter.sql"), {
            "task": task, "model_name": model_name, "version": int(version), "at": _now(),
            "reason": reason, "decision_id": decision_id})
        refs.append((model_name, int(version)))
    retired = refs[: max(0, len(refs) - max_versions)]
    for name, v in retired:
        leave_shadow(conn, task, name, v, status="retired",
                     reason=f"more than {max_versions} shadow versions: the oldest is retired")
    return retired


def leave_shadow(
    conn: duckdb.DuckDBPyConnection, task: str, model_name: str, version: int, *,
    status: str, reason: str,
) -> None:
    """End the version's stay in shadow as ``promoted`` or ``retired``."""
    if status not in STATUSES[1:]:
        raise ValueError(f"A shadow stay ends as 'promoted' or 'retired', not {status!r}.")
    conn.execute(read_sql(__file__, "shadow_leave.sql"), {
        "task": task, "model_name": model_name, "version": int(version), "status": status,
        "at": _now(), "reason": reason})


def _known(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}: the registry has {', '.join(TASKS)}.")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
