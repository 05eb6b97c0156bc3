"""The scoring group: champion models applied to the newest cutoff."""

import dagster as dg

from ml_assets.scoring import assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets], group_name="scoring"))
