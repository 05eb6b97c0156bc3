"""The models group: candidate churn and LTV models, registered as versions."""

import dagster as dg

from ml_assets.models import assets, tables

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets], group_name="models"), *tables.TABLES]
)
