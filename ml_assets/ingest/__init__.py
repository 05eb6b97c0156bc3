"""The ingest group."""

import dagster as dg

from ml_assets.ingest import assets

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets], group_name="ingest"),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
)
