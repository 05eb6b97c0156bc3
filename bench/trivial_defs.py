"""One asset that does nothing: timing its CLI run measures Dagster's own
per-run cost (start-up, definitions load, run and event storage) without the
project's imports or work."""

import dagster as dg


@dg.asset
def noop() -> None:
    """Does nothing."""


defs = dg.Definitions(assets=[noop], executor=dg.in_process_executor)
