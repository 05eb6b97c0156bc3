-- Health of a task's newest evaluation: rows, invalid predictions, and
-- non-finite values among the metrics promotion relies on.
WITH latest AS (
    SELECT evaluation_id FROM evaluation_metrics
    WHERE task = $task ORDER BY evaluated_at DESC LIMIT 1
),
preds AS (
    SELECT p.* FROM holdout_predictions p JOIN latest USING (evaluation_id)
)
SELECT
    (SELECT count(*) FROM preds WHERE role = 'candidate') AS candidate_rows,
    (SELECT count(*) FROM preds
      WHERE y_pred IS NULL OR isnan(y_pred) OR isinf(y_pred)
         OR ($task = 'churn' AND (y_pred < 0 OR y_pred > 1))
         OR ($task = 'ltv' AND role <> 'baseline' AND (y_pred < 0 OR y_lower > y_upper))) AS invalid_predictions,
    (SELECT count(*) FROM evaluation_metrics m JOIN latest USING (evaluation_id)
      WHERE m.role = 'candidate' AND list_contains($required, m.metric)
        AND (m.value IS NULL OR isnan(m.value) OR isinf(m.value))) AS bad_metrics,
    (SELECT count(DISTINCT metric) FROM evaluation_metrics m JOIN latest USING (evaluation_id)
      WHERE m.role = 'candidate' AND list_contains($required, m.metric)) AS required_present
