-- The newest evaluation of a task, with its models' metrics.
WITH latest AS (
    SELECT evaluation_id FROM evaluation_metrics
    WHERE task = $task ORDER BY evaluated_at DESC LIMIT 1
)
SELECT m.evaluation_id, m.role, m.model_name, m.model_version, m.cutoff_date, m.metric, m.value
FROM evaluation_metrics m JOIN latest USING (evaluation_id)
