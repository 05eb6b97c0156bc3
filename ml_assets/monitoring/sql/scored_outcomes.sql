-- Every served score next to the outcome its cutoff's labels recorded (NULL
-- while the label is not mature). Backfilled scores were never served: a
-- champion trained on those labels would flatter itself, so they are left out.
SELECT s.cutoff_date, s.customer_id, s.churn_model_name, s.churn_model_version,
       s.ltv_model_name, s.ltv_model_version,
       s.churn_probability, s.predicted_ltv, s.ltv_lower, s.ltv_upper,
       coalesce(t.churn_label_mature, false) AS churn_label_mature,
       CASE WHEN t.churn_label_mature THEN t.churned::DOUBLE END AS churned,
       coalesce(t.ltv_label_mature, false) AS ltv_label_mature,
       CASE WHEN t.ltv_label_mature THEN t.future_spend END AS future_spend
FROM customer_scores s
LEFT JOIN training_snapshots t USING (cutoff_date, customer_id)
WHERE NOT coalesce(s.backfilled, false)
ORDER BY s.cutoff_date, s.customer_id
