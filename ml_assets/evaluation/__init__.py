"""The evaluation group: candidate vs champion vs baselines on a temporal holdout."""

import dagster as dg

from ml_assets.evaluation import assets, checks, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets], group_name="evaluation"), *tables.TABLES],
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
