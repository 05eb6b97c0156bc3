"""The ingest group: the transaction log loaded into the warehouse, and its checks."""

import dagster as dg

from ml_assets.ingest import assets, checks, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets], group_name="ingest"), *tables.TABLES],
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
