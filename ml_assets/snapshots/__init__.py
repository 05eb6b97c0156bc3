"""The snapshots group."""

import dagster as dg

from ml_assets.snapshots import assets

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets], group_name="snapshots"),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
)
