"""The code location: every group's definitions plus the shared resources."""

import dagster as dg

from ml_assets import (
    evaluation,
    ingest,
    models,
    monitoring,
    promotion,
    scoring,
    snapshots,
)
from ml_assets.lib.handoff import HandoffIOManager
from ml_assets.lib.warehouse import warehouse_resource
from ml_assets.settings import Settings

settings = Settings.from_env()

defs = dg.Definitions.merge(
    ingest.defs,
    snapshots.defs,
    models.defs,
    evaluation.defs,
    promotion.defs,
    scoring.defs,
    monitoring.defs,
    dg.Definitions(
        resources={
            "settings": settings,
            "warehouse": warehouse_resource(settings.warehouse, settings.duckdb_memory_limit),
            "handoff": HandoffIOManager(),
        },
        # Steps run in the run's own process: the work happens inside DuckDB and
        # LightGBM (both multi-threaded), and one process per step would cost
        # seconds of start-up each and contend for the warehouse file lock.
        executor=dg.in_process_executor,
    ),
)
