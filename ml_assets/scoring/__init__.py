"""The scoring group: the champions (any family) applied per monthly cutoff, and
the versions in shadow scored beside them."""

import dagster as dg

from ml_assets.scoring import assets, shadow, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets, shadow], group_name="scoring"), *tables.TABLES]
)
