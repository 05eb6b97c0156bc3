-- Health of one evaluation: rows, invalid predictions, and non-finite values
-- among the metrics promotion relies on.
WITH preds AS (
    SELECT * FROM holdout_predictions WHERE evaluation_id = $evaluation_id
)
SELECT
    (SELECT count(*) FROM preds WHERE role = 'candidate') AS candidate_rows,
    (SELECT count(*) FROM preds
      WHERE y_pred IS NULL OR isnan(y_pred) OR isinf(y_pred)
         OR ($task = 'churn' AND (y_pred < 0 OR y_pred > 1))
         OR ($task = 'ltv' AND (y_pred < 0 OR y_lower > y_upper))) AS invalid_predictions,
    (SELECT count(*) FROM evaluation_metrics
      WHERE evaluation_id = $evaluation_id AND role = 'candidate' AND list_contains($required, metric)
        AND (value IS NULL OR isnan(value) OR isinf(value))) AS bad_metrics,
    (SELECT count(DISTINCT metric) FROM evaluation_metrics
      WHERE evaluation_id = $evaluation_id AND role = 'candidate'
        AND list_contains($required, metric)) AS required_present
