"""Tables the snapshots write beside their two, shown in the asset graph."""

import dagster as dg

TABLES = [
    dg.AssetSpec(
        "btyd_fits", deps=["customer_features"], group_name="snapshots", kinds={"duckdb"},
        description="The BG/NBD and Gamma-Gamma parameters fitted at each cutoff on the "
        "customers' history before it; a BTYD champion's scores record the fit of their cutoff. "
        "Table btyd_fits.",
    ),
]
