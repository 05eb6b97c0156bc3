-- Served shadow scores (champion rows and shadow rows) next to the outcomes of
-- the cutoffs whose labels matured. Backfilled rows were never served and are
-- left out, as in model_performance.
SELECT s.cutoff_date, s.customer_id, s.role, s.shadow_task,
       s.churn_model_name, s.churn_model_version, s.ltv_model_name, s.ltv_model_version,
       s.churn_probability, s.predicted_ltv, s.ltv_lower, s.ltv_upper,
       t.churn_label_mature, t.churned::DOUBLE AS churned,
       t.ltv_label_mature, t.future_spend
FROM shadow_scores s
JOIN training_snapshots t USING (cutoff_date, customer_id)
WHERE NOT coalesce(s.backfilled, false)
  AND (t.churn_label_mature OR t.ltv_label_mature)
ORDER BY s.cutoff_date, s.customer_id
