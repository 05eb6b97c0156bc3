"""Model versions: registration, verified loading, orphan sweeping, retention.

Every trained model is a folder of files (see ``artifacts``) plus one row in
``model_versions`` that records its sha256. A row is only ever committed after
its folder is complete, flushed to disk and renamed to its final, unique name,
so a process killed at any moment leaves at most a folder no row points to
(removed by ``sweep_orphans``), never a row pointing at a missing or different
folder. Loading goes through ``load_verified``, which recomputes the digest.

Retention policy (``apply_retention``): a version is kept while any alias
points at it, if it was ever champion (it appears in ``alias_history`` for
``champion``, so a rollback target always exists), or if it is among the
newest ``keep_candidates`` versions. Every other live version is archived: its
row stays with ``status = 'archived'`` for lineage, its folder is deleted and
``load_verified`` refuses it. Archiving commits before folders are deleted, so
an interruption leaves folders of archived rows, which ``sweep_orphans``
removes.

A model directory belongs to one warehouse: sweeping removes every version
folder that this warehouse's rows do not point at.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import duckdb
import pandas as pd

from ml_assets.lib.warehouse import atomic, column_names, in_transaction, read_sql
from ml_assets.registry import artifacts

_JSON_COLUMNS = ("training_cutoffs", "features", "hyperparameters", "metrics")


class RegistryError(Exception):
    """A registry operation was refused; the message says why and what to do."""


class ModelNotFoundError(RegistryError):
    """The requested version is unknown, archived, or the alias is unset."""

    def __init__(
        self, message: str, *, model_name: str, version: int | None = None, alias: str | None = None
    ):
        super().__init__(message)
        self.model_name, self.version, self.alias = model_name, version, alias


class ArtifactVerificationError(RegistryError):
    """A version's folder is missing or its files no longer match the recorded digest."""

    def __init__(
        self, message: str, *, model_name: str, version: int, path: str, expected: str,
        actual: str | None,
    ):
        super().__init__(message)
        self.model_name, self.version, self.path = model_name, version, path
        self.expected, self.actual = expected, actual


TASKS = ("churn", "ltv")
FAMILIES = ("lightgbm", "plain_lightgbm", "btyd", "rule")
_MIGRATED = ("model_versions", "model_aliases", "alias_history")


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``model_versions``, ``model_aliases`` and ``alias_history`` if missing;
    a warehouse of registry schema 1 (aliases per model) is migrated first."""
    if any(column_names(conn, t) and "task" not in column_names(conn, t)
           for t in ("model_versions", "model_aliases")):
        _migrate_v1(conn)
    conn.execute(read_sql(__file__, "create_tables.sql"))


def _migrate_v1(conn: duckdb.DuckDBPyConnection) -> None:
    """Schema 1 -> 2 in one transaction: every row kept, aliases become per task.
    Refused (and nothing changed) when schema 1 holds a model of no known task."""
    with atomic(conn):
        # schema 1 created its three tables together; a missing one is created empty first
        conn.execute(read_sql(__file__, "create_v1_tables.sql"))
        names = {row[0] for row in conn.execute(read_sql(__file__, "v1_model_names.sql")).fetchall()}
        unknown = names - {"churn_model", "ltv_model"}
        if unknown:
            raise RegistryError(
                f"This warehouse's registry (schema 1) holds models {sorted(unknown)} that schema "
                "2 cannot place in a task (churn or ltv). Back up the warehouse, delete those rows "
                "from model_versions, model_aliases and alias_history, and run again."
            )
        conn.execute(read_sql(__file__, "migrate_v1.sql"))
        conn.execute(read_sql(__file__, "create_tables.sql"))
        for table in _MIGRATED:
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {table}_v2")
            conn.execute(f"DROP TABLE {table}_v2")


def register_version(
    conn: duckdb.DuckDBPyConnection,
    model_dir: str | Path,
    model_name: str,
    write_files: Callable[[Path], None],
    *,
    task: str,
    family: str,
    training_cutoffs: list,
    holdout_cutoff: date | str | None,
    features: list[str],
    hyperparameters: dict,
    metrics: dict,
    data_fingerprint: str,
    run_id: str | None,
    code_version: str | None = None,
) -> dict:
    """Write, digest and register a new version of ``model_name``; returns its row.

    ``write_files(folder)`` writes the artifact into a fresh temporary folder.
    Then, in one transaction, the version becomes max + 1, the folder is
    renamed to its final unique name and the row is inserted. On any failure
    the folder is removed and no row remains. Commits its own transaction, so
    it refuses to run inside ``atomic``.
    """
    _refuse_open_transaction(conn, "register_version")
    if task not in TASKS or family not in FAMILIES:
        raise ValueError(
            f"task must be one of {TASKS} and family one of {FAMILIES}; got {task!r}, {family!r}."
        )
    ensure_tables(conn)
    home = artifacts.model_home(model_dir, model_name)
    cutoffs = [_iso_date(c, "training_cutoffs") for c in training_cutoffs]
    values = {
        "model_name": model_name,
        "task": task,
        "family": family,
        "training_cutoffs": _to_json(cutoffs, "training_cutoffs"),
        "holdout_cutoff": (
            None if holdout_cutoff is None
            else date.fromisoformat(_iso_date(holdout_cutoff, "holdout_cutoff"))
        ),
        "features": _to_json(list(features), "features"),
        "hyperparameters": _to_json(hyperparameters, "hyperparameters"),
        "metrics": _to_json(metrics, "metrics"),
        "data_fingerprint": data_fingerprint,
        "run_id": run_id,
        "code_version": code_version or default_code_version(),
    }
    tmp = artifacts.new_tmp_folder(home)
    final = None
    try:
        write_files(tmp)
        values["sha256"] = artifacts.artifact_digest(tmp)
        artifacts.sync_tree(tmp)
        with atomic(conn):
            version = conn.execute(read_sql(__file__, "next_version.sql"), [model_name]).fetchone()[0]
            final = artifacts.version_folder(home, version)
            _publish(tmp, final)
            _insert_version(
                conn,
                {**values, "version": version, "artifact_path": str(final), "created_at": _now()},
            )
    except BaseException:
        artifacts.remove_folder(tmp)
        if final is not None:
            artifacts.remove_folder(final)
        raise
    return get_version(conn, model_name, version)


def get_version(
    conn: duckdb.DuckDBPyConnection, model_name: str, version: int
) -> dict | None:
    """The row of one version, JSON columns decoded; None when not registered."""
    cursor = conn.execute(read_sql(__file__, "get_version.sql"), [model_name, int(version)])
    found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip([d[0] for d in cursor.description], found))
    for column in _JSON_COLUMNS:
        row[column] = None if row[column] is None else json.loads(row[column])
    return row


def list_versions(conn: duckdb.DuckDBPyConnection, model_name: str | None = None) -> pd.DataFrame:
    """Every version of ``model_name`` (all models when None), oldest first, as
    stored (JSON columns as text), plus ``aliases``: the aliases pointing at it."""
    return conn.execute(read_sql(__file__, "list_versions.sql"), {"model_name": model_name}).df()


def load_verified(
    conn: duckdb.DuckDBPyConnection,
    model_name: str,
    *,
    version: int | None = None,
    alias: str | None = None,
    model_dir: str | Path | None = None,
) -> tuple[dict, Path]:
    """The row and folder of a version (by number or alias) whose files match
    the recorded sha256. Raises ``ModelNotFoundError`` or
    ``ArtifactVerificationError`` otherwise; read the files only after this.

    The row's folder must be this version's folder inside ``<model_dir>/<model
    name>/`` (any model directory when ``model_dir`` is None): a row pointing
    anywhere else is refused before a byte is read."""
    if (version is None) == (alias is None):
        raise TypeError("load_verified needs exactly one of version= or alias=.")
    if alias is not None:
        version = _alias_version(conn, model_name, alias)
    row = get_version(conn, model_name, version)
    if row is None:
        raise ModelNotFoundError(
            f"{model_name} v{version} is not registered. See the registered versions with "
            f"`python -m ml_assets.registry list --model {model_name}`.",
            model_name=model_name, version=version, alias=alias,
        )
    if row["status"] != "active":
        raise ModelNotFoundError(
            f"{model_name} v{version} is {row['status']}: retention deleted its folder and kept the "
            "row only for lineage, so it cannot be loaded. Use a live version (`python -m "
            f"ml_assets.registry list --model {model_name}`) or retrain.",
            model_name=model_name, version=version, alias=alias,
        )
    return row, _verify_folder(row, model_dir)


def sweep_orphans(
    conn: duckdb.DuckDBPyConnection, model_dir: str | Path, model_name: str | None = None
) -> list[Path]:
    """Delete ``.tmp-*`` folders and version folders no live row points at
    (left by interrupted registrations or retention); returns what was removed.

    Run it while no registration is in progress on this model directory (a
    registration's folder has no row until it commits); DuckDB's one-writer
    file lock already keeps other processes out while ``conn`` is open.
    """
    ensure_tables(conn)
    root = Path(model_dir).resolve()
    if model_name is not None:
        homes = [artifacts.model_home(model_dir, model_name)]
    else:
        homes = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    removed = []
    for home in homes:
        if not home.is_dir():
            continue
        rows = conn.execute(read_sql(__file__, "version_folders.sql"), [home.name]).fetchall()
        live = {Path(path).name for (path,) in rows}
        for entry in sorted(home.iterdir()):
            orphan = artifacts.is_version_folder(entry) and entry.name not in live
            if orphan or artifacts.is_tmp_folder(entry):
                artifacts.remove_folder(entry)
                removed.append(entry)
    return removed


def apply_retention(
    conn: duckdb.DuckDBPyConnection, model_dir: str | Path, model_name: str, keep_candidates: int = 5
) -> list[int]:
    """Archive the versions the retention policy (module docstring) does not
    keep: mark their rows archived, then delete their folders. Returns the
    archived versions. Commits its own transaction, so it refuses to run inside
    ``atomic``."""
    if keep_candidates < 0:
        raise ValueError(f"keep_candidates must be 0 or more, got {keep_candidates}.")
    _refuse_open_transaction(conn, "apply_retention")
    ensure_tables(conn)
    home = artifacts.model_home(model_dir, model_name)
    with atomic(conn):
        doomed = conn.execute(
            read_sql(__file__, "retention_candidates.sql"),
            {"model_name": model_name, "keep": keep_candidates},
        ).fetchall()
        for version, path in doomed:
            if Path(path).parent != home:
                raise RegistryError(
                    f"{model_name} v{version} lives in {path}, outside {home}: pass the model_dir the "
                    "versions were registered with (ML_ASSETS_MODEL_DIR)."
                )
            conn.execute(read_sql(__file__, "archive_version.sql"), [model_name, version])
    for _, path in doomed:
        artifacts.remove_folder(Path(path))
    return [version for version, _ in doomed]


@lru_cache(maxsize=1)
def default_code_version() -> str:
    """``ml_assets <version>`` plus the git commit of the source tree when git
    can tell (``-dirty`` when tracked files changed); no git is no error."""
    try:
        text = f"ml_assets {metadata.version('ml_assets')}"
    except metadata.PackageNotFoundError:
        text = "ml_assets (not installed)"
    commit = _git("rev-parse", "HEAD")
    if commit:
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        text += f" git:{commit}{'-dirty' if dirty else ''}"
    return text


def _git(*args: str) -> str | None:
    """Output of a git command in the source tree, None when git cannot answer
    (not installed, not a repository, untrusted directory)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _publish(tmp: Path, final: Path) -> None:
    """Give a complete artifact folder its final name, durably."""
    tmp.rename(final)
    artifacts.sync_dir(final.parent)


def _insert_version(conn: duckdb.DuckDBPyConnection, values: dict) -> None:
    conn.execute(read_sql(__file__, "insert_version.sql"), values)


def _verify_folder(row: dict, model_dir: str | Path | None = None) -> Path:
    folder = Path(row["artifact_path"])
    name, version, expected = row["model_name"], row["version"], row["sha256"]
    todo = (
        "Restore the folder from a backup, point the alias at a version that verifies "
        f"(`python -m ml_assets.registry rollback --task {row.get('task')} --to MODEL:V "
        "--reason ...`), or retrain."
    )
    home = artifacts.model_home(model_dir, name) if model_dir is not None else None
    if not artifacts.is_confined(folder, name, version, home):
        where = f"inside {home}" if home is not None else f"in a '{name}' folder of a model directory"
        raise ArtifactVerificationError(
            f"The registry row of {name} v{version} points at {folder}, which is not this "
            f"version's folder {where}: refusing to read it. The row was edited or the model "
            f"directory moved; set ML_ASSETS_MODEL_DIR to the directory the versions were "
            f"registered in. {todo}",
            model_name=name, version=version, path=str(folder), expected=expected, actual=None,
        )
    if not folder.is_dir():
        raise ArtifactVerificationError(
            f"The artifact folder of {name} v{version} is missing: {folder} "
            f"(expected sha256 {expected}). {todo}",
            model_name=name, version=version, path=str(folder), expected=expected, actual=None,
        )
    try:
        actual = artifacts.artifact_digest(folder)
    except (OSError, ValueError) as error:
        raise ArtifactVerificationError(
            f"The artifact folder of {name} v{version} ({folder}) cannot be verified: {error} "
            f"(expected sha256 {expected}). {todo}",
            model_name=name, version=version, path=str(folder), expected=expected, actual=None,
        ) from error
    if actual != expected:
        raise ArtifactVerificationError(
            f"The files of {name} v{version} in {folder} do not match the registry: expected sha256 "
            f"{expected}, found {actual}. They changed after registration (edited, partly copied or "
            f"tampered with), so they will not be loaded. {todo}",
            model_name=name, version=version, path=str(folder), expected=expected, actual=actual,
        )
    return folder


def _alias_version(conn: duckdb.DuckDBPyConnection, model_name: str, alias: str) -> int:
    """The version of ``model_name`` a task's ``alias`` points at (aliases are per
    task: the alias must currently name this model)."""
    found = conn.execute(read_sql(__file__, "alias_of_model.sql"), [model_name, alias]).fetchone()
    if found is None:
        raise ModelNotFoundError(
            f"No version of {model_name} has the alias '{alias}' (aliases are per task; see "
            "`python -m ml_assets.registry aliases`).",
            model_name=model_name, alias=alias,
        )
    return found[0]


def _refuse_open_transaction(conn: duckdb.DuckDBPyConnection, what: str) -> None:
    if in_transaction(conn):
        raise RegistryError(
            f"{what} commits its own transaction (it changes files on disk, which a rollback "
            "could not undo): call it outside `atomic(conn)`."
        )


def _iso_date(value, field: str) -> str:
    if isinstance(value, datetime):
        raise TypeError(f"{field} must hold dates, not datetimes: got {value!r}.")
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{field} must hold ISO dates (YYYY-MM-DD), got {value!r}.") from None


def _to_json(value, field: str) -> str:
    try:
        plain = _plain(value)
        return json.dumps(plain, sort_keys=True, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{field} cannot be stored as JSON: {error}") from error


def _plain(value):
    """Non-finite floats become null so the columns stay valid JSON for DuckDB."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())  # numpy scalars and arrays
    return value


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON serializable")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
