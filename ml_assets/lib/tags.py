"""Run tags the project reads and writes."""

# why a run happened (a schedule, a sensor's finding, "manual"); promotion
# records it as its decision's trigger
TRIGGER_TAG = "ml_assets/trigger"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
