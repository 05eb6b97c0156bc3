"""Aliases: one ``champion`` and one ``challenger`` per task (churn, ltv),
each pointing at a version of any model of that task: the learned model, the
plain LightGBM, BTYD or a rule.

Scoring reads ``champion``; training sets ``challenger``; promotion and
rollback move ``champion``. Every move is appended to ``alias_history`` with
who, why and which run, in the same transaction as the move.

Rollback without a target walks the task's champion history like a stack:
each promotion pushes a version, returning to an earlier champion pops back
to it. So rolling back twice after promoting A, B, C gives B, then A; it
never toggles back to the version just rolled away from.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import read_sql
from ml_assets.registry.registry import (
    TASKS,
    ModelNotFoundError,
    RegistryError,
    atomic,
    load_verified,
)

ALIASES = ("champion", "challenger")
Ref = tuple[str, int]  # (model_name, version)


def resolve_alias(conn: duckdb.DuckDBPyConnection, task: str, alias: str) -> Ref | None:
    """(model_name, version) the task's ``alias`` points at, or None when unset."""
    found = conn.execute(read_sql(__file__, "resolve_alias.sql"), [task, alias]).fetchone()
    return None if found is None else (found[0], int(found[1]))


def load_alias(
    conn: duckdb.DuckDBPyConnection, task: str, alias: str, model_dir: str | Path | None = None
) -> tuple[dict, Path]:
    """The verified row and folder of the version a task's alias points at
    (any family). Raises ``ModelNotFoundError`` when the alias is unset."""
    ref = resolve_alias(conn, task, alias)
    if ref is None:
        raise ModelNotFoundError(
            f"The {task} task has no {alias}. Materialize {task}_promotion (a champion always "
            "exists once any model passes the absolute limits), or point it at a registered "
            f"version with `python -m ml_assets.registry rollback --task {task} --to MODEL:V "
            "--reason ...`.",
            model_name=f"{task} task", alias=alias,
        )
    return load_verified(conn, ref[0], version=ref[1], model_dir=model_dir)


def set_alias(
    conn: duckdb.DuckDBPyConnection,
    task: str,
    alias: str,
    model_name: str,
    version: int,
    *,
    reason: str,
    moved_by: str,
    run_id: str | None = None,
) -> None:
    """Point the task's ``alias`` at ``model_name`` v``version`` and record the
    move in ``alias_history``.

    Refuses a version that is unknown, archived, of another task, or whose
    files do not verify. Does not commit: wrap it in ``atomic(conn)`` with
    whatever must happen with it.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}: the registry has {', '.join(TASKS)}.")
    if alias not in ALIASES:
        raise ValueError(f"Unknown alias {alias!r}: the registry uses {', '.join(ALIASES)}.")
    if not reason or not moved_by:
        raise ValueError("An alias move needs a reason and who made it (moved_by).")
    row, _ = load_verified(conn, model_name, version=version)
    if row["task"] != task:
        raise RegistryError(
            f"{model_name} v{version} is a {row['task']} model; it cannot be the {task} {alias}."
        )
    moved_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with atomic(conn):
        before = resolve_alias(conn, task, alias)
        conn.execute(
            read_sql(__file__, "upsert_alias.sql"),
            {"task": task, "alias": alias, "model_name": model_name, "version": int(version),
             "moved_at": moved_at},
        )
        conn.execute(
            read_sql(__file__, "insert_history.sql"),
            {
                "task": task, "alias": alias,
                "from_model": before[0] if before else None,
                "from_version": before[1] if before else None,
                "to_model": model_name, "to_version": int(version), "moved_at": moved_at,
                "moved_by": moved_by, "run_id": run_id, "reason": reason,
            },
        )


def rollback(
    conn: duckdb.DuckDBPyConnection,
    task: str,
    *,
    to: Ref | None = None,
    reason: str,
    moved_by: str,
) -> dict:
    """Point the task's ``champion`` back at ``to`` (default: the champion before
    the current one), atomically, and record it. Refuses an unknown, archived,
    other-task or unverifiable target. Returns ``{"from": ref, "to": ref}``."""
    with atomic(conn):
        current = resolve_alias(conn, task, "champion")
        if current is None and to is None:
            raise ModelNotFoundError(
                f"The {task} task has no champion to roll back. Promote a model, or name the "
                "version to make champion with --to MODEL:V.",
                model_name=f"{task} task", alias="champion",
            )
        target = _previous_champion(conn, task) if to is None else (to[0], int(to[1]))
        if target == current:
            raise RegistryError(
                f"{target[0]} v{target[1]} is already the {task} champion; nothing to roll back."
            )
        set_alias(
            conn, task, "champion", *target, reason=f"rollback: {reason}", moved_by=moved_by,
        )
    return {"from": current, "to": target}


def _previous_champion(conn: duckdb.DuckDBPyConnection, task: str) -> Ref:
    """The champion before the current one, from ``alias_history`` (see the
    module docstring for how repeated rollbacks walk back)."""
    stack: list[Ref] = []
    moves = conn.execute(read_sql(__file__, "alias_moves.sql"), [task, "champion"]).fetchall()
    for model_name, version in moves:
        ref = (model_name, int(version))
        if ref in stack:
            del stack[stack.index(ref) + 1:]
        else:
            stack.append(ref)
    if len(stack) < 2:
        raise ModelNotFoundError(
            f"The {task} task has no earlier champion in alias_history to roll back to. Name "
            "the version with --to MODEL:V (see `python -m ml_assets.registry list`).",
            model_name=f"{task} task", alias="champion",
        )
    return stack[-2]


def list_aliases(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every alias of every task: task, alias, model_name, version, updated_at."""
    return conn.execute(read_sql(__file__, "list_aliases.sql")).df()


def history(
    conn: duckdb.DuckDBPyConnection, task: str | None = None, model_name: str | None = None
) -> pd.DataFrame:
    """Alias moves of one task and/or model (all when None), oldest first."""
    return conn.execute(
        read_sql(__file__, "history.sql"), {"task": task, "model_name": model_name}
    ).df()
