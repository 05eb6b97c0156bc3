-- The baselines of $task's latest evaluation, best $metric first: what serves
-- when the champion cannot be loaded or verified.
WITH latest AS (
    SELECT evaluation_id FROM evaluation_metrics WHERE task = $task
    ORDER BY evaluated_at DESC, evaluation_id DESC LIMIT 1
)
SELECT m.evaluation_id, m.model_name, m.model_version, m.value
FROM evaluation_metrics m JOIN latest USING (evaluation_id)
WHERE m.task = $task AND m.role = 'baseline' AND m.metric = $metric AND isfinite(m.value)
ORDER BY m.value DESC, m.model_name
