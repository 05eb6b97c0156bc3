"""Ingest and snapshots with the multiprocess executor, for the concurrency
tests: ``dagster asset materialize -m ml_assets_tests.multiprocess_defs ...``.

Each step runs in a process forked from a forkserver that has imported the
code location once, so a step starts in well under a second instead of
re-importing Dagster, DuckDB and pandas.
"""

import dagster as dg

from ml_assets import ingest, snapshots
from ml_assets.settings import Settings
from ml_assets_tests.conftest import resources_for

settings = Settings.from_env()

defs = dg.Definitions.merge(
    ingest.defs,
    snapshots.defs,
    dg.Definitions(
        resources=resources_for(settings),
        executor=dg.multiprocess_executor.configured(
            {"start_method": {"forkserver": {"preload_modules": [__name__]}}}
        ),
    ),
)
