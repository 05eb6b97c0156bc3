"""Shared test helpers: settings that point into a temporary folder, and
in-process materialization against them."""

from pathlib import Path

import dagster as dg
import pytest

from ml_assets.lib.handoff import HandoffIOManager
from ml_assets.lib.warehouse import warehouse_resource
from ml_assets.settings import Settings


def settings_in(folder: Path, **overrides) -> Settings:
    """Settings whose warehouse and model folder live in ``folder``."""
    values = {"warehouse": str(folder / "warehouse.duckdb"), "model_dir": str(folder / "models")}
    return Settings(**{**values, **overrides})


def executable(definitions) -> list:
    """The definitions' assets that a run can materialize (not the external specs
    of side tables) and their checks, for ``dagster.materialize``."""
    return [a for a in definitions.assets if isinstance(a, dg.AssetsDefinition)] + list(
        definitions.asset_checks
    )


def resources_for(settings: Settings) -> dict:
    """The resources the definitions bind, pointed at ``settings``."""
    return {"settings": settings, "warehouse": warehouse_resource(settings.warehouse),
            "handoff": HandoffIOManager()}


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


def run_assets(assets, settings: Settings, partition_key: str | None = None, **kwargs):
    """``dagster.materialize`` on an ephemeral instance with the project's resources;
    ``kwargs`` go to materialize (e.g. ``raise_on_error=False``, ``selection``)."""
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            assets,
            instance=instance,
            partition_key=partition_key,
            resources=resources_for(settings),
            **kwargs,
        )
