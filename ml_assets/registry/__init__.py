"""The model registry: versioned, sha256-verified artifact folders plus DuckDB
tables (``model_versions``, ``model_aliases``, ``alias_history``, ``shadow_versions``): any model
of a task (learned, plain LightGBM, BTYD, rule) can hold its ``champion``.

Training registers versions, promotion and rollback move the ``champion``
alias inside one transaction, scoring loads what ``champion`` points at after
verifying its digest. A library, not a Dagster group; the CLI is
``python -m ml_assets.registry``.
"""

from ml_assets.registry.aliases import (
    ALIASES,
    Ref,
    history,
    list_aliases,
    load_alias,
    resolve_alias,
    rollback,
    set_alias,
)
from ml_assets.registry.artifacts import artifact_digest
from ml_assets.registry.shadow import enter_shadow, leave_shadow, shadow_versions
from ml_assets.registry.registry import (
    FAMILIES,
    TASKS,
    ArtifactVerificationError,
    ModelNotFoundError,
    RegistryError,
    apply_retention,
    atomic,
    default_code_version,
    ensure_tables,
    get_version,
    in_transaction,
    list_versions,
    load_verified,
    register_version,
    sweep_orphans,
)

__all__ = [
    "ALIASES",
    "FAMILIES",
    "TASKS",
    "Ref",
    "ArtifactVerificationError",
    "ModelNotFoundError",
    "RegistryError",
    "apply_retention",
    "artifact_digest",
    "atomic",
    "default_code_version",
    "enter_shadow",
    "ensure_tables",
    "get_version",
    "history",
    "in_transaction",
    "leave_shadow",
    "list_aliases",
    "list_versions",
    "load_alias",
    "load_verified",
    "register_version",
    "resolve_alias",
    "rollback",
    "set_alias",
    "shadow_versions",
    "sweep_orphans",
]
