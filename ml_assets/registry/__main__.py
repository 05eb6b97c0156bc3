"""Command line for the model registry: ``python -m ml_assets.registry --help``.

Reads the warehouse and model directory from ``ML_ASSETS_WAREHOUSE`` and
``ML_ASSETS_MODEL_DIR`` (see ``ml_assets.settings``).

    list [--model M]                              versions, task, family, status, aliases
    aliases                                       where every task's alias points
    history [--task T] [--model M]                every alias move
    verify --model M --version V                  recompute and compare sha256
    verify --task T --alias A                     the same for what an alias points at
    rollback --task T [--to MODEL:V] --reason TEXT [--by NAME]
    sweep [--model M]                             remove unregistered folders
    retain --model M [--keep N]                   apply the retention policy
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

import duckdb
import pandas as pd

from ml_assets import registry
from ml_assets.settings import Settings, env_var

_LIST_COLUMNS = [
    "task", "model_name", "version", "family", "status", "aliases", "created_at", "holdout_cutoff", "sha256", "run_id",
]


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code (1 when refused)."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if not Path(settings.warehouse).exists():
        print(
            f"No warehouse at {settings.warehouse}: set {env_var('warehouse')} to the DuckDB file "
            "the pipeline writes, or materialize the pipeline first.",
            file=sys.stderr,
        )
        return 1
    try:
        conn = duckdb.connect(settings.warehouse)
    except duckdb.IOException as error:
        print(
            f"Cannot open the warehouse {settings.warehouse}: {error}\nAnother process (a running "
            "materialization) may hold its lock; retry when it finishes.",
            file=sys.stderr,
        )
        return 1
    try:
        registry.ensure_tables(conn)
        return args.run(conn, settings, args)
    except (registry.RegistryError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        conn.close()


def _list(conn, settings, args) -> int:
    versions = registry.list_versions(conn, args.model)
    if versions.empty:
        print("No versions registered" + (f" for {args.model}." if args.model else "."))
        return 0
    shown = versions[_LIST_COLUMNS].assign(sha256=versions["sha256"].str[:12])
    print(shown.to_string(index=False))
    return 0


def _aliases(conn, settings, args) -> int:
    return _print_frame(registry.list_aliases(conn), "No aliases set.")


def _history(conn, settings, args) -> int:
    return _print_frame(registry.history(conn, args.task, args.model), "No alias moves recorded.")


def _verify(conn, settings, args) -> int:
    if args.alias:
        if not args.task:
            raise ValueError("--alias needs --task (aliases are per task).")
        row, folder = registry.load_alias(conn, args.task, args.alias, settings.model_dir)
    else:
        if not (args.model and args.version):
            raise ValueError("Give --model M --version V, or --task T --alias A.")
        row, folder = registry.load_verified(
            conn, args.model, version=args.version, model_dir=settings.model_dir
        )
    print(f"ok: {row['model_name']} v{row['version']} sha256 {row['sha256']} at {folder}")
    return 0


def _rollback(conn, settings, args) -> int:
    moved = registry.rollback(
        conn, args.task, to=_ref(args.to), reason=args.reason, moved_by=args.by
    )
    before = "unset" if moved["from"] is None else "{} v{}".format(*moved["from"])
    after = "{} v{}".format(*moved["to"])
    print(f"{args.task} champion: {before} -> {after} (by {args.by}: {args.reason})")
    return 0


def _ref(text: str | None):
    """``MODEL:V`` (or ``MODEL:vV``) as (model_name, version); None stays None."""
    if text is None:
        return None
    name, _, version = text.rpartition(":")
    try:
        if not name:  # a bare version (`--to 3`, the schema 1 form) names no model
            raise ValueError(text)
        return name, int(version.lstrip("v"))
    except ValueError:
        raise ValueError(
            f"--to {text!r}: give the model and version as MODEL:V, e.g. churn_model:3 or "
            "bg_nbd_churn:1 (see `python -m ml_assets.registry list`)."
        ) from None


def _sweep(conn, settings, args) -> int:
    removed = registry.sweep_orphans(conn, settings.model_dir, args.model)
    print("\n".join(f"removed {path}" for path in removed) or "Nothing to remove.")
    return 0


def _retain(conn, settings, args) -> int:
    archived = registry.apply_retention(conn, settings.model_dir, args.model, args.keep)
    print(
        f"{args.model}: archived " + ", ".join(f"v{v}" for v in archived)
        if archived
        else f"{args.model}: nothing to archive."
    )
    return 0


def _print_frame(frame: pd.DataFrame, empty: str) -> int:
    print(empty if frame.empty else frame.to_string(index=False))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml_assets.registry",
        description="Inspect and operate the model registry in the warehouse.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="Registered versions with status and aliases.")
    listing.add_argument("--model", help="Only this model (default: all).")
    listing.set_defaults(run=_list)

    commands.add_parser("aliases", help="Where every alias points.").set_defaults(run=_aliases)

    moves = commands.add_parser("history", help="Every alias move, oldest first.")
    moves.add_argument("--task", choices=registry.TASKS, help="Only this task (default: all).")
    moves.add_argument("--model", help="Only moves to or from this model (default: all).")
    moves.set_defaults(run=_history)

    verify = commands.add_parser("verify", help="Check a version's files against its recorded sha256.")
    verify.add_argument("--model")
    verify.add_argument("--version", type=int)
    verify.add_argument("--task", choices=registry.TASKS)
    verify.add_argument("--alias", choices=registry.ALIASES)
    verify.set_defaults(run=_verify)

    back = commands.add_parser("rollback", help="Point a task's champion back at an earlier version.")
    back.add_argument("--task", required=True, choices=registry.TASKS)
    back.add_argument(
        "--to", help="Target as MODEL:V, any model of the task (default: the champion before "
        "the current one)."
    )
    back.add_argument("--reason", required=True, help="Why; recorded in alias_history.")
    back.add_argument(
        "--by", default=_user(), help="Who; recorded in alias_history (default: %(default)s)."
    )
    back.set_defaults(run=_rollback)

    sweep = commands.add_parser("sweep", help="Delete folders no registered version points at.")
    sweep.add_argument("--model", help="Only this model (default: all).")
    sweep.set_defaults(run=_sweep)

    retain = commands.add_parser("retain", help="Archive versions the retention policy does not keep.")
    retain.add_argument("--model", required=True)
    retain.add_argument(
        "--keep", type=int, default=5, help="Newest versions to keep (default: %(default)s)."
    )
    retain.set_defaults(run=_retain)
    return parser


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


if __name__ == "__main__":
    sys.exit(main())
