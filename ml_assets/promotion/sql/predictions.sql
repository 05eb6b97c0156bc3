SELECT customer_id, y_true, y_pred
FROM holdout_predictions
WHERE evaluation_id = $evaluation_id AND role = $role AND model_name = $model_name
  AND model_version IS NOT DISTINCT FROM $model_version
ORDER BY customer_id
