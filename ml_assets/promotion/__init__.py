"""The promotion group: statistically gated champion/challenger decisions."""

import dagster as dg

from ml_assets.promotion import assets, shadow, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets, shadow], group_name="promotion"), *tables.TABLES]
)
