"""The snapshots group: point-in-time labels and features per monthly cutoff."""

import dagster as dg

from ml_assets.snapshots import assets, checks, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets], group_name="snapshots"), *tables.TABLES],
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
