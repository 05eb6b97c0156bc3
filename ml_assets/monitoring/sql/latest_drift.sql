-- The newest dataset-level drift summary (one small row).
SELECT *
FROM feature_drift_summary
ORDER BY computed_at DESC
LIMIT 1
