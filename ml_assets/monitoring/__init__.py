"""The monitoring group: feature drift, realized and estimated performance,
champion vs shadow on matured cutoffs, and the sensors and schedules that
retrain and rescore.

Every sensor and schedule that starts runs on its own starts STOPPED (the
one that scores after a triggered retrain follows those and runs by default). This project is a template that
people copy and point at their own data: a trigger that runs by default would
start retraining and rewriting the warehouse the first time someone opens
``dagster dev``, before they have checked their settings. Turn each on
deliberately, in the UI (Automation) or with ``dagster sensor start`` /
``dagster schedule start``; a deployment can then keep them on.
"""

import dagster as dg

from ml_assets.monitoring import assets, shadow_comparison, tables
from ml_assets.monitoring.jobs import refresh_job, retrain_job, scoring_job
from ml_assets.monitoring.label_sensor import label_maturity_sensor
from ml_assets.monitoring.schedules import (
    monthly_retrain_schedule,
    weekly_scoring_schedule,
)
from ml_assets.monitoring.sensors import (
    drift_retrain_sensor,
    new_data_sensor,
    performance_sensor,
    score_after_retrain_sensor,
)

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets, shadow_comparison], group_name="monitoring"), *tables.TABLES],
    jobs=[retrain_job, scoring_job, refresh_job],
    sensors=[drift_retrain_sensor, new_data_sensor, performance_sensor, label_maturity_sensor,
             score_after_retrain_sensor],
    schedules=[monthly_retrain_schedule, weekly_scoring_schedule],
)
