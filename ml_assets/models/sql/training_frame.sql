-- Features joined to mature labels for the requested cutoffs, active customers only.
SELECT f.*, s.churned, s.future_spend
FROM customer_features f
JOIN training_snapshots s USING (cutoff_date, customer_id)
WHERE f.cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
  AND ($active_days::INTEGER = 0 OR f.recency_days <= $active_days::INTEGER)
  AND CASE WHEN $label = 'churn' THEN s.churn_label_mature ELSE s.ltv_label_mature END
ORDER BY f.cutoff_date, f.customer_id
