"""The scoring group: the champions (any family) applied per monthly cutoff."""

import dagster as dg

from ml_assets.scoring import assets, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets], group_name="scoring"), *tables.TABLES]
)
