"""The command-line doors: ``dg`` sees the project's definitions, and a single
asset of the ingest pair can be materialized on its own from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ml_assets_tests.instances import PROJECT, project_instance_home

BIN = Path(sys.executable).parent


def _env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_ASSETS_")}
    env["DAGSTER_HOME"] = str(project_instance_home(folder))  # telemetry off, storage in folder
    return env


def test_dg_check_defs_passes(tmp_path):
    done = subprocess.run(
        [str(BIN / "dg"), "check", "defs"], cwd=PROJECT, env=_env(tmp_path),
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr
