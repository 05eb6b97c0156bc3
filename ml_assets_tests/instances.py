"""A Dagster home configured like the project's own dagster.yaml, for tests that
need a real, persistent instance (run queue, "warehouse" pool with limit 1)."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]


def project_instance_home(folder: Path) -> Path:
    """``folder/dagster_home`` holding the project's dagster.yaml with every
    storage path moved into ``folder`` (the project file's paths are relative
    to the working directory); everything else, the concurrency pools
    included, as the project has it."""
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config["storage"] = {"sqlite": {"base_dir": str(home / "storage")}}
    if "local_artifact_storage" in config:
        config["local_artifact_storage"]["config"]["base_dir"] = str(home)
    if "compute_logs" in config:
        config["compute_logs"]["config"]["base_dir"] = str(home / "compute_logs")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home
