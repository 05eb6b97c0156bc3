"""Aliases: named pointers (``champion``, ``challenger``) at model versions.

Scoring reads ``champion``; training sets ``challenger``; promotion and
rollback move ``champion``. Every move is appended to ``alias_history`` with
who, why and which run, in the same transaction as the move.

Rollback without a target walks the champion history like a stack: each
promotion pushes a version, returning to an earlier champion pops back to it.
So rolling back twice after promoting v1, v2, v3 gives v2, then v1; it never
toggles back to the version just rolled away from.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pandas as pd

from ml_assets.registry.registry import ModelNotFoundError, RegistryError, atomic, load_verified
from ml_assets.warehouse import read_sql

ALIASES = ("champion", "challenger")


def resolve_alias(conn: duckdb.DuckDBPyConnection, model_name: str, alias: str) -> int | None:
    """The version ``alias`` points at, or None when it is unset."""
    found = conn.execute(read_sql(__file__, "resolve_alias.sql"), [model_name, alias]).fetchone()
    return None if found is None else found[0]


def set_alias(
    conn: duckdb.DuckDBPyConnection,
    model_name: str,
    alias: str,
    version: int,
    *,
    reason: str,
    moved_by: str,
    run_id: str | None = None,
) -> None:
    """Point ``alias`` at ``version`` and record the move in ``alias_history``.

    Refuses a version that is unknown, archived or whose files do not verify.
    Does not commit: wrap it in ``atomic(conn)`` with whatever must happen with it.
    """
    if alias not in ALIASES:
        raise ValueError(f"Unknown alias {alias!r}: the registry uses {', '.join(ALIASES)}.")
    if not reason or not moved_by:
        raise ValueError("An alias move needs a reason and who made it (moved_by).")
    load_verified(conn, model_name, version=version)
    moved_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with atomic(conn):
        from_version = resolve_alias(conn, model_name, alias)
        conn.execute(
            read_sql(__file__, "upsert_alias.sql"),
            {"model_name": model_name, "alias": alias, "version": int(version), "moved_at": moved_at},
        )
        conn.execute(
            read_sql(__file__, "insert_history.sql"),
            {
                "model_name": model_name, "alias": alias, "from_version": from_version,
                "to_version": int(version), "moved_at": moved_at, "moved_by": moved_by,
                "run_id": run_id, "reason": reason,
            },
        )


def rollback(
    conn: duckdb.DuckDBPyConnection,
    model_name: str,
    *,
    to_version: int | None = None,
    reason: str,
    moved_by: str,
) -> dict:
    """Point ``champion`` back at ``to_version`` (default: the champion before
    the current one), atomically, and record it. Refuses an unknown, archived
    or unverifiable target. Returns ``{"from_version", "to_version"}``."""
    with atomic(conn):
        current = resolve_alias(conn, model_name, "champion")
        if current is None and to_version is None:
            raise ModelNotFoundError(
                f"{model_name} has no champion to roll back. Promote a candidate, or name the "
                "version to make champion with --to V.",
                model_name=model_name, alias="champion",
            )
        target = _previous_champion(conn, model_name) if to_version is None else int(to_version)
        if target == current:
            raise RegistryError(
                f"{model_name} v{target} is already the champion; nothing to roll back."
            )
        set_alias(
            conn, model_name, "champion", target,
            reason=f"rollback: {reason}", moved_by=moved_by,
        )
    return {"from_version": current, "to_version": target}


def _previous_champion(conn: duckdb.DuckDBPyConnection, model_name: str) -> int:
    """The champion before the current one, from ``alias_history`` (see the
    module docstring for how repeated rollbacks walk back)."""
    stack: list[int] = []
    moves = conn.execute(read_sql(__file__, "alias_moves.sql"), [model_name, "champion"]).fetchall()
    for (to_version,) in moves:
        if to_version in stack:
            del stack[stack.index(to_version) + 1:]
        else:
            stack.append(to_version)
    if len(stack) < 2:
        raise ModelNotFoundError(
            f"{model_name} has no earlier champion in alias_history to roll back to. Name the "
            f"version with --to V (see `python -m ml_assets.registry list --model {model_name}`).",
            model_name=model_name, alias="champion",
        )
    return stack[-2]


def list_aliases(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every alias of every model: model_name, alias, version, updated_at."""
    return conn.execute(read_sql(__file__, "list_aliases.sql")).df()


def history(conn: duckdb.DuckDBPyConnection, model_name: str | None = None) -> pd.DataFrame:
    """Alias moves of one model (all models when None), oldest first."""
    return conn.execute(read_sql(__file__, "history.sql"), {"model_name": model_name}).df()
