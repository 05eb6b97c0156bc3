-- One evaluation's metrics, every model it scored.
SELECT role, model_name, model_version, cutoff_date, metric, value
FROM evaluation_metrics
WHERE evaluation_id = $evaluation_id
